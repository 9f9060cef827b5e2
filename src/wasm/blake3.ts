/**
 * BLAKE3 over the WASM kernel (assembly/blake3.ts): one-shot `blake3()` and streaming
 * `createBlake3()`, in the hash, keyed_hash (`key`) and derive_key (`context`) modes, with output
 * of any length (XOF).
 *
 * Caller data is copied into the shared scratch window in pieces and hashed there; `updateAt`
 * hashes bytes that are already in kernel memory (e.g. a file read straight into it). One-shot
 * calls reuse one preallocated context, so hashing a small buffer costs a copy in, three kernel
 * calls and a copy out.
 */
import { kernels, type Kernels } from './loader.ts';
import { asBytes, checkInt } from './input.ts';
import { LayerkitError } from '../errors.ts';

export interface Blake3Options {
  /** Output length in bytes: 0 .. 2^30 (default 32). */
  outputLength?: number;
  /** A 32-byte key: keyed_hash mode (a MAC). */
  key?: Uint8Array | ArrayBufferView | ArrayBuffer;
  /** A context string (UTF-8) or its bytes: derive_key mode; the data is the key material. */
  context?: string | Uint8Array | ArrayBufferView | ArrayBuffer;
}

export interface Blake3Hasher {
  /** Hash more bytes (copied into kernel memory in pieces). */
  update(data: Uint8Array | ArrayBufferView | ArrayBuffer): this;
  /** Hash `len` bytes already in kernel memory at `ptr` (see kernels().alloc / view). */
  updateAt(ptr: number, len: number): this;
  /**
   * Bytes [seek, seek + outputLength) of the output stream, without finishing the hasher
   * (more updates may follow).
   */
  xof(outputLength: number, seek?: number): Uint8Array;
  /** The digest (default length from the options, else 32); frees the hasher. */
  digest(outputLength?: number): Uint8Array;
  /** digest() as lowercase hex. */
  digestHex(outputLength?: number): string;
  /** Release the hasher without a digest (idempotent). */
  dispose(): void;
}

export const BLAKE3_OUT_LEN = 32;
export const BLAKE3_KEY_LEN = 32;
/** Largest output length accepted. */
export const BLAKE3_MAX_OUTPUT = 1 << 30;

/** Bytes copied into the scratch window per kernel call. */
const PIECE = 512 << 10;
/** Outputs up to this size are written straight to the static output area. */
const SMALL_OUT = 1024;

type U32 = number;
interface Fns {
  k: Kernels;
  ctxSize: U32;
  init(ctx: U32): void;
  initKeyed(ctx: U32, key: U32): void;
  initDerive(ctx: U32, context: U32, len: U32): void;
  update(ctx: U32, ptr: U32, len: U32): void;
  finalize(ctx: U32, out: U32, len: U32): void;
  finalizeSeek(ctx: U32, seek: bigint, out: U32, len: U32): void;
  /** The one-shot context, followed by SMALL_OUT bytes of output area and a 32-byte key slot. */
  oneShot: U32;
  out: U32;
  keySlot: U32;
}

let fns: Fns | undefined;
let memView: Uint8Array = new Uint8Array(0);

/**
 * A view of all kernel memory. memory.grow detaches the old buffer, and a view of a detached
 * buffer has byteLength 0: checking that is cheaper than Kernels.u8()'s memory.buffer getter.
 */
function mem(f: Fns): Uint8Array {
  if (memView.byteLength === 0) memView = f.k.u8();
  return memView;
}

function load(): Fns {
  const k = kernels();
  if (fns && fns.k === k) return fns; // (a new instance after resetKernelsForTesting: start over)
  memView = new Uint8Array(0);
  const ctxSize = k.fn<() => number>('blake3_ctx_size')();
  const oneShot = k.alloc(ctxSize + SMALL_OUT + BLAKE3_KEY_LEN);
  fns = {
    k,
    ctxSize,
    init: k.fn('blake3_init'),
    initKeyed: k.fn('blake3_init_keyed'),
    initDerive: k.fn('blake3_init_derive_key'),
    update: k.fn('blake3_update'),
    finalize: k.fn('blake3_finalize'),
    finalizeSeek: k.fn('blake3_finalize_seek'),
    oneShot,
    out: oneShot + ctxSize,
    keySlot: oneShot + ctxSize + SMALL_OUT,
  };
  return fns;
}

function badKey(len: number): LayerkitError {
  return new LayerkitError('ERR_INVALID_ARG', `blake3: key must be ${BLAKE3_KEY_LEN} bytes, got ${len}`,
    { argument: 'key', length: len });
}

const utf8 = new TextEncoder();

/** Validated mode inputs (done before any kernel state is touched). */
interface Mode {
  key?: Uint8Array;
  context?: Uint8Array;
}

function parseMode(opts: Blake3Options | undefined): Mode {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null) {
    throw new LayerkitError('ERR_INVALID_ARG', 'blake3: options must be an object', { argument: 'options' });
  }
  const { key, context } = opts;
  if (key !== undefined && context !== undefined) {
    throw new LayerkitError('ERR_INVALID_ARG', 'blake3: give either key (keyed_hash) or context (derive_key), not both', { argument: 'key' });
  }
  if (key !== undefined) {
    const k = asBytes(key, 'key');
    if (k.byteLength !== BLAKE3_KEY_LEN) throw badKey(k.byteLength);
    return { key: k };
  }
  if (context !== undefined) {
    return { context: typeof context === 'string' ? utf8.encode(context) : asBytes(context, 'context') };
  }
  return {};
}

function outLen(v: unknown): number {
  return checkInt(v, 'outputLength', 0, BLAKE3_MAX_OUTPUT);
}

/** Initialise `ctx` for the mode (the context string goes through the scratch window). */
function initCtx(f: Fns, ctx: number, mode: Mode): void {
  if (mode.key) {
    mem(f).set(mode.key, f.keySlot);
    f.initKeyed(ctx, f.keySlot);
  } else if (mode.context) {
    const c = mode.context;
    const ptr = f.k.scratch(Math.max(c.byteLength, 64));
    mem(f).set(c, ptr);
    f.initDerive(ctx, ptr, c.byteLength);
  } else {
    f.init(ctx);
  }
}

function feed(f: Fns, ctx: number, data: Uint8Array): void {
  const n = data.byteLength;
  if (n === 0) return;
  const ptr = f.k.scratch(Math.min(n, PIECE));
  const m = mem(f); // scratch() may have grown memory: take the view after it
  if (n <= PIECE) {
    m.set(data, ptr);
    f.update(ctx, ptr, n);
    return;
  }
  for (let off = 0; off < n; off += PIECE) {
    const end = Math.min(n, off + PIECE);
    m.set(data.subarray(off, end), ptr);
    f.update(ctx, ptr, end - off);
  }
}

/** Output bytes [seek, seek + len) of ctx's root into a new array. */
function readOut(f: Fns, ctx: number, len: number, seek: number): Uint8Array {
  if (len <= SMALL_OUT && seek === 0) {
    f.finalize(ctx, f.out, len);
    // new Uint8Array(n <= 64) lives on the JS heap; slice() of the big memory buffer would create
    // an off-heap backing store (several times slower, and GC pressure).
    const out = new Uint8Array(len);
    const m = mem(f);
    if (len <= 64) for (let i = 0, p = f.out; i < len; i++) out[i] = m[p + i];
    else out.set(m.subarray(f.out, f.out + len));
    return out;
  }
  const out = new Uint8Array(len);
  const step = Math.min(len, PIECE);
  const ptr = len <= SMALL_OUT ? f.out : f.k.scratch(step);
  for (let off = 0; off < len; off += step) {
    const n = Math.min(step, len - off);
    f.finalizeSeek(ctx, BigInt(seek + off), ptr, n);
    out.set(mem(f).subarray(ptr, ptr + n), off);
  }
  return out;
}

/** One-shot BLAKE3 of `data`: hash, keyed_hash (opts.key) or derive_key (opts.context). */
export function blake3(data: Uint8Array | ArrayBufferView | ArrayBuffer, opts?: Blake3Options): Uint8Array {
  const bytes = asBytes(data);
  const f = load();
  if (opts === undefined) {
    f.init(f.oneShot);
    feed(f, f.oneShot, bytes);
    return readOut(f, f.oneShot, BLAKE3_OUT_LEN, 0);
  }
  const mode = parseMode(opts);
  const len = opts.outputLength === undefined ? BLAKE3_OUT_LEN : outLen(opts.outputLength);
  initCtx(f, f.oneShot, mode);
  feed(f, f.oneShot, bytes);
  return readOut(f, f.oneShot, len, 0);
}

const registry = new FinalizationRegistry<number>((ctx) => {
  if (fns) fns.k.free(ctx);
});

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

class WasmBlake3 implements Blake3Hasher {
  #f: Fns;
  #ctx: number;
  #len: number;

  constructor(mode: Mode, len: number) {
    this.#f = load();
    this.#len = len;
    this.#ctx = this.#f.k.alloc(this.#f.ctxSize);
    initCtx(this.#f, this.#ctx, mode);
    registry.register(this, this.#ctx, this);
  }

  #live(): number {
    if (this.#ctx === 0) {
      throw new LayerkitError('ERR_USED_AFTER_FINISH', 'blake3: hasher used after digest() or dispose()', {});
    }
    return this.#ctx;
  }

  update(data: Uint8Array | ArrayBufferView | ArrayBuffer): this {
    const ctx = this.#live();
    feed(this.#f, ctx, asBytes(data));
    return this;
  }

  updateAt(ptr: number, len: number): this {
    const ctx = this.#live();
    const size = this.#f.k.memory.buffer.byteLength;
    checkInt(ptr, 'ptr', 0, size);
    checkInt(len, 'len', 0, size - ptr);
    if (len > 0) this.#f.update(ctx, ptr, len);
    return this;
  }

  xof(outputLength: number, seek = 0): Uint8Array {
    const ctx = this.#live();
    outLen(outputLength);
    checkInt(seek, 'seek', 0, Number.MAX_SAFE_INTEGER - BLAKE3_MAX_OUTPUT);
    return readOut(this.#f, ctx, outputLength, seek);
  }

  digest(outputLength?: number): Uint8Array {
    const ctx = this.#live();
    const len = outputLength === undefined ? this.#len : outLen(outputLength);
    const out = readOut(this.#f, ctx, len, 0);
    this.dispose();
    return out;
  }

  digestHex(outputLength?: number): string {
    return toHex(this.digest(outputLength));
  }

  dispose(): void {
    if (this.#ctx === 0) return;
    registry.unregister(this);
    this.#f.k.free(this.#ctx);
    this.#ctx = 0;
  }
}

/** A streaming BLAKE3 hasher (its context lives in kernel memory until digest()/dispose()). */
export function createBlake3(opts?: Blake3Options): Blake3Hasher {
  const mode = parseMode(opts);
  const len = opts?.outputLength === undefined ? BLAKE3_OUT_LEN : outLen(opts.outputLength);
  return new WasmBlake3(mode, len);
}
