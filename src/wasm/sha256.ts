/**
 * SHA-256 over the WASM kernel (assembly/sha256.ts).
 *
 * - `sha256(data)` one-shot: a context and output slot allocated once per kernels instance, so a
 *   call is: copy into the shared scratch window, three kernel calls, copy 32 bytes out.
 * - `createSha256()` streaming: each hasher owns a context block in kernel memory (so several can
 *   run interleaved), released by digest()/dispose() or, if abandoned, by a FinalizationRegistry.
 * - `updateAt(ptr, len)` hashes bytes already in kernel memory (no copy).
 */
import { LayerkitError } from '../errors.ts';
import { asBytes, checkInt } from './input.ts';
import { kernels, type Kernels } from './loader.ts';

type Bytes = Uint8Array | ArrayBufferView | ArrayBuffer;

/** Caller data is copied into kernel memory in pieces of at most this many bytes. */
const PIECE = 1 << 20;
/** Smallest scratch window asked for, so small inputs do not grow it step by step. */
const MIN_WINDOW = 64 << 10;

interface Bound {
  k: Kernels;
  init: (ctx: number) => void;
  update: (ctx: number, ptr: number, len: number) => void;
  final: (ctx: number, out: number) => void;
  ctxSize: number;
  /** The one-shot context and the shared 32-byte output slot (never freed). */
  ctx: number;
  out: number;
}

let bound: Bound | undefined;

function bind(): Bound {
  const k = kernels();
  if (bound !== undefined && bound.k === k) return bound;
  const ctxSize = k.fn<() => number>('sha256_ctx_size')();
  const ctx = k.alloc(ctxSize);
  bound = {
    k,
    init: k.fn('sha256_init'),
    update: k.fn('sha256_update'),
    final: k.fn('sha256_final'),
    ctxSize,
    ctx,
    out: k.alloc(32),
  };
  // Run the compression loop a little so V8 starts optimizing it now, in the background, rather
  // than after the first large input has gone through the baseline tier.
  // The context must be initialised first: freshly allocated memory may hold anything.
  const warm = k.scratch(MIN_WINDOW);
  bound.init(ctx);
  for (let i = 0; i < 4; i++) bound.update(ctx, warm, 4096);
  bound.init(ctx);
  return bound;
}

/** Copy `bytes` into the scratch window piece by piece and absorb them into `ctx`. */
function absorb(b: Bound, ctx: number, bytes: Uint8Array): void {
  const len = bytes.length;
  if (len === 0) return;
  const win = Math.min(Math.max(len, MIN_WINDOW), PIECE);
  const ptr = b.k.scratch(win);
  const mem = b.k.u8(); // after scratch(): it may have grown memory
  for (let off = 0; off < len; off += win) {
    const n = Math.min(win, len - off);
    mem.set(n === len ? bytes : bytes.subarray(off, off + n), ptr);
    b.update(ctx, ptr, n);
  }
}

function finish(b: Bound, ctx: number): Uint8Array {
  b.final(ctx, b.out);
  return b.k.u8().slice(b.out, b.out + 32);
}

/** SHA-256 of `data` (32 bytes). */
export function sha256(data: Bytes): Uint8Array {
  const bytes = asBytes(data);
  const b = bind();
  b.init(b.ctx);
  absorb(b, b.ctx, bytes);
  return finish(b, b.ctx);
}

/** SHA-256 of `data` as 64 lowercase hex digits. */
export function sha256Hex(data: Bytes): string {
  return toHex(sha256(data));
}

/** A streaming SHA-256 hasher. */
export interface Sha256Hasher {
  /** Absorb more bytes. */
  update(data: Bytes): this;
  /** Absorb `len` bytes already in kernel memory at `ptr` (see kernels().alloc / view). */
  updateAt(ptr: number, len: number): this;
  /** The 32-byte digest. The hasher is finished afterwards (its context is released). */
  digest(): Uint8Array;
  /** The digest as 64 lowercase hex digits. */
  digestHex(): string;
  /** Release the context without a digest. Further use throws ERR_USED_AFTER_FINISH. */
  dispose(): void;
}

const registry = new FinalizationRegistry<{ k: Kernels; ctx: number }>(({ k, ctx }) => k.free(ctx));

class Sha256Wasm implements Sha256Hasher {
  #b: Bound;
  #ctx: number;
  #state: 'open' | 'digested' | 'disposed' = 'open';

  constructor() {
    this.#b = bind();
    this.#ctx = this.#b.k.alloc(this.#b.ctxSize);
    this.#b.init(this.#ctx);
    registry.register(this, { k: this.#b.k, ctx: this.#ctx }, this);
  }

  update(data: Bytes): this {
    this.#check('update');
    absorb(this.#b, this.#ctx, asBytes(data));
    return this;
  }

  updateAt(ptr: number, len: number): this {
    this.#check('updateAt');
    const size = this.#b.k.memory.buffer.byteLength;
    checkInt(ptr, 'ptr', 0, size);
    checkInt(len, 'len', 0, size - ptr);
    // In pieces: V8 runs a call to the end in the tier it started in, so one huge first call
    // would run entirely in the baseline compiler (~15x slower).
    for (let off = 0; off < len; off += PIECE) this.#b.update(this.#ctx, ptr + off, Math.min(PIECE, len - off));
    return this;
  }

  digest(): Uint8Array {
    this.#check('digest');
    const out = finish(this.#b, this.#ctx);
    this.#release('digested');
    return out;
  }

  digestHex(): string {
    return toHex(this.digest());
  }

  dispose(): void {
    if (this.#state === 'open') this.#release('disposed');
  }

  #release(state: 'digested' | 'disposed'): void {
    this.#state = state;
    registry.unregister(this);
    this.#b.k.free(this.#ctx);
    this.#ctx = 0;
  }

  #check(op: string): void {
    if (this.#state !== 'open') {
      throw new LayerkitError('ERR_USED_AFTER_FINISH',
        `sha256 hasher: ${op}() after ${this.#state === 'digested' ? 'digest()' : 'dispose()'}: create a new hasher`,
        { op, state: this.#state });
    }
  }
}

/** A new streaming SHA-256 hasher over the WASM kernel. */
export function createSha256(): Sha256Hasher {
  return new Sha256Wasm();
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}
