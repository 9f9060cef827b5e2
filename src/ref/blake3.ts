/**
 * Readable BLAKE3 reference in plain TypeScript (no WASM): a port of the BLAKE3 paper's
 * reference implementation (reference_impl.rs). It favours clarity over speed (~35 MB/s) and is
 * the tests' oracle for the WASM kernel. Same API shape as src/wasm/blake3.ts.
 */
import { asBytes, checkInt } from '../wasm/input.ts';
import { LayerkitError } from '../errors.ts';

const OUT_LEN = 32;
const KEY_LEN = 32;
const BLOCK_LEN = 64;
const CHUNK_LEN = 1024;

const CHUNK_START = 1 << 0;
const CHUNK_END = 1 << 1;
const PARENT = 1 << 2;
const ROOT = 1 << 3;
const KEYED_HASH = 1 << 4;
const DERIVE_KEY_CONTEXT = 1 << 5;
const DERIVE_KEY_MATERIAL = 1 << 6;

const IV = new Uint32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
const MSG_PERMUTATION = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];

const MAX_OUTPUT = 1 << 30;

function rotr(x: number, n: number): number {
  return ((x >>> n) | (x << (32 - n))) >>> 0;
}

/** The mixing function G over state words a, b, c, d with message words mx, my. */
function g(s: Uint32Array, a: number, b: number, c: number, d: number, mx: number, my: number): void {
  s[a] = s[a] + s[b] + mx;
  s[d] = rotr(s[d] ^ s[a], 16);
  s[c] = s[c] + s[d];
  s[b] = rotr(s[b] ^ s[c], 12);
  s[a] = s[a] + s[b] + my;
  s[d] = rotr(s[d] ^ s[a], 8);
  s[c] = s[c] + s[d];
  s[b] = rotr(s[b] ^ s[c], 7);
}

function round(s: Uint32Array, m: Uint32Array): void {
  // Columns, then diagonals.
  g(s, 0, 4, 8, 12, m[0], m[1]);
  g(s, 1, 5, 9, 13, m[2], m[3]);
  g(s, 2, 6, 10, 14, m[4], m[5]);
  g(s, 3, 7, 11, 15, m[6], m[7]);
  g(s, 0, 5, 10, 15, m[8], m[9]);
  g(s, 1, 6, 11, 12, m[10], m[11]);
  g(s, 2, 7, 8, 13, m[12], m[13]);
  g(s, 3, 4, 9, 14, m[14], m[15]);
}

function permute(m: Uint32Array): Uint32Array {
  const out = new Uint32Array(16);
  for (let i = 0; i < 16; i++) out[i] = m[MSG_PERMUTATION[i]];
  return out;
}

/** The compression function: returns the 16-word state (the first 8 words are the new CV). */
function compress(cv: Uint32Array, block: Uint32Array, counter: number, blockLen: number, flags: number): Uint32Array {
  const s = new Uint32Array([
    cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7],
    IV[0], IV[1], IV[2], IV[3],
    counter >>> 0, Math.floor(counter / 0x100000000) >>> 0, blockLen, flags,
  ]);
  let m = block;
  for (let r = 0; r < 7; r++) {
    round(s, m);
    if (r < 6) m = permute(m);
  }
  for (let i = 0; i < 8; i++) {
    s[i] ^= s[i + 8];
    s[i + 8] ^= cv[i];
  }
  return s;
}

function wordsFromLE(bytes: Uint8Array, offset: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const o = offset + 4 * i;
    out[i] = ((bytes[o] ?? 0) | ((bytes[o + 1] ?? 0) << 8) | ((bytes[o + 2] ?? 0) << 16) | ((bytes[o + 3] ?? 0) << 24)) >>> 0;
  }
  return out;
}

/** What a node needs to produce either its CV or, as the root, any number of output bytes. */
class Output {
  constructor(
    readonly inputCv: Uint32Array,
    readonly block: Uint32Array,
    readonly counter: number,
    readonly blockLen: number,
    readonly flags: number,
  ) {}

  chainingValue(): Uint32Array {
    return compress(this.inputCv, this.block, this.counter, this.blockLen, this.flags).slice(0, 8);
  }

  /** Root output bytes starting at byte `seek` of the output stream. */
  rootBytes(out: Uint8Array, seek: number): void {
    let blockIndex = Math.floor(seek / BLOCK_LEN);
    let skip = seek % BLOCK_LEN;
    let pos = 0;
    while (pos < out.length) {
      const words = compress(this.inputCv, this.block, blockIndex, this.blockLen, this.flags | ROOT);
      for (let i = skip; i < BLOCK_LEN && pos < out.length; i++) {
        out[pos++] = (words[i >> 2] >>> (8 * (i & 3))) & 0xff;
      }
      skip = 0;
      blockIndex++;
    }
  }
}

class ChunkState {
  cv: Uint32Array;
  block = new Uint8Array(BLOCK_LEN);
  blockLen = 0;
  blocksCompressed = 0;

  constructor(key: Uint32Array, readonly chunkCounter: number, readonly flags: number) {
    this.cv = key.slice();
  }

  len(): number {
    return BLOCK_LEN * this.blocksCompressed + this.blockLen;
  }

  startFlag(): number {
    return this.blocksCompressed === 0 ? CHUNK_START : 0;
  }

  update(input: Uint8Array): void {
    let pos = 0;
    while (pos < input.length) {
      // A full block buffer is compressed only once more input arrives: the last block of a
      // chunk must be compressed with CHUNK_END.
      if (this.blockLen === BLOCK_LEN) {
        const words = wordsFromLE(this.block, 0, 16);
        this.cv = compress(this.cv, words, this.chunkCounter, BLOCK_LEN, this.flags | this.startFlag()).slice(0, 8);
        this.blocksCompressed++;
        this.block.fill(0);
        this.blockLen = 0;
      }
      const take = Math.min(BLOCK_LEN - this.blockLen, input.length - pos);
      this.block.set(input.subarray(pos, pos + take), this.blockLen);
      this.blockLen += take;
      pos += take;
    }
  }

  output(): Output {
    return new Output(this.cv, wordsFromLE(this.block, 0, 16), this.chunkCounter, this.blockLen,
      this.flags | this.startFlag() | CHUNK_END);
  }
}

function parentOutput(left: Uint32Array, right: Uint32Array, key: Uint32Array, flags: number): Output {
  const block = new Uint32Array(16);
  block.set(left, 0);
  block.set(right, 8);
  return new Output(key, block, 0, BLOCK_LEN, flags | PARENT);
}

/** The incremental hasher of the reference implementation (CV stack merged on each new chunk). */
class RefHasher {
  #chunk: ChunkState;
  #stack: Uint32Array[] = [];

  constructor(readonly key: Uint32Array, readonly flags: number) {
    this.#chunk = new ChunkState(key, 0, flags);
  }

  #addChunkCv(cv: Uint32Array, totalChunks: number): void {
    // Merge completed subtrees: one merge per trailing zero bit of the new total.
    let right = cv;
    let total = totalChunks;
    while (total % 2 === 0) {
      right = parentOutput(this.#stack.pop()!, right, this.key, this.flags).chainingValue();
      total /= 2;
    }
    this.#stack.push(right);
  }

  update(input: Uint8Array): void {
    let pos = 0;
    while (pos < input.length) {
      // A full chunk is finalized only once more input arrives (it might be the root).
      if (this.#chunk.len() === CHUNK_LEN) {
        const cv = this.#chunk.output().chainingValue();
        const total = this.#chunk.chunkCounter + 1;
        this.#addChunkCv(cv, total);
        this.#chunk = new ChunkState(this.key, total, this.flags);
      }
      const take = Math.min(CHUNK_LEN - this.#chunk.len(), input.length - pos);
      this.#chunk.update(input.subarray(pos, pos + take));
      pos += take;
    }
  }

  finalize(out: Uint8Array, seek = 0): void {
    let output = this.#chunk.output();
    for (let i = this.#stack.length - 1; i >= 0; i--) {
      output = parentOutput(this.#stack[i], output.chainingValue(), this.key, this.flags);
    }
    output.rootBytes(out, seek);
  }
}

export interface Blake3RefOptions {
  /** Output length in bytes (default 32, at most 2^30). */
  outputLength?: number;
  /** 32-byte key: keyed_hash mode. */
  key?: Uint8Array | ArrayBufferView | ArrayBuffer;
  /** Context string (or its bytes): derive_key mode; the data is the key material. */
  context?: string | Uint8Array | ArrayBufferView | ArrayBuffer;
}

function makeRefHasher(opts: Blake3RefOptions): RefHasher {
  if (opts.key !== undefined && opts.context !== undefined) {
    throw new LayerkitError('ERR_INVALID_ARG', 'blake3: give either key or context, not both', { argument: 'key' });
  }
  if (opts.key !== undefined) {
    const key = asBytes(opts.key, 'key');
    if (key.byteLength !== KEY_LEN) {
      throw new LayerkitError('ERR_INVALID_ARG', `blake3: key must be ${KEY_LEN} bytes, got ${key.byteLength}`, { argument: 'key', length: key.byteLength });
    }
    return new RefHasher(wordsFromLE(key, 0, 8), KEYED_HASH);
  }
  if (opts.context !== undefined) {
    const ctx = typeof opts.context === 'string' ? new TextEncoder().encode(opts.context) : asBytes(opts.context, 'context');
    const ctxHasher = new RefHasher(IV, DERIVE_KEY_CONTEXT);
    ctxHasher.update(ctx);
    const contextKey = new Uint8Array(KEY_LEN);
    ctxHasher.finalize(contextKey);
    return new RefHasher(wordsFromLE(contextKey, 0, 8), DERIVE_KEY_MATERIAL);
  }
  return new RefHasher(IV, 0);
}

export interface Blake3RefHasher {
  update(data: Uint8Array | ArrayBufferView | ArrayBuffer): Blake3RefHasher;
  /** Output bytes [seek, seek + outputLength) of the XOF stream; the hasher stays usable. */
  digest(outputLength?: number, seek?: number): Uint8Array;
}

export function createBlake3Ref(opts: Blake3RefOptions = {}): Blake3RefHasher {
  const h = makeRefHasher(opts);
  const defaultLen = opts.outputLength ?? OUT_LEN;
  checkInt(defaultLen, 'outputLength', 0, MAX_OUTPUT);
  return {
    update(data) {
      h.update(asBytes(data));
      return this;
    },
    digest(outputLength = defaultLen, seek = 0) {
      checkInt(outputLength, 'outputLength', 0, MAX_OUTPUT);
      checkInt(seek, 'seek', 0, Number.MAX_SAFE_INTEGER);
      const out = new Uint8Array(outputLength);
      h.finalize(out, seek);
      return out;
    },
  };
}

/** One-shot BLAKE3 (hash, keyed_hash with `key`, derive_key with `context`). */
export function blake3Ref(data: Uint8Array | ArrayBufferView | ArrayBuffer, opts: Blake3RefOptions = {}): Uint8Array {
  return createBlake3Ref(opts).update(data).digest();
}
