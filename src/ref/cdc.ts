/**
 * Content-defined chunking, the readable reference (no WASM). Same table, same masks and the same
 * answers as the kernel in assembly/cdc.ts; the tests hold the two together.
 *
 * The algorithm (FastCDC with normalized chunking, one byte at a time):
 *
 *   Inside a chunk, byte j (0-based) is not hashed while j < min. From j = min on:
 *     fp = (fp << 1) + GEAR[byte]              (mod 2^64; fp starts at 0 in every chunk)
 *     the chunk ends after byte j if (fp & mask) == 0, where mask = MASK_S (log2(avg) + 2 bits)
 *     while j < avg and MASK_L (log2(avg) - 2 bits) from j = avg on;
 *   a chunk that reaches max bytes ends there. So every chunk but the last has a length in
 *   [min + 1, max].
 *
 * GEAR[i] is the i-th output (i = 0..255) of splitmix64 seeded with 0x6C617965726B6974 ("layerkit"
 * in ASCII). A mask of n bits sets the bits 60 - floor(i * 48 / n), i = 0..n-1: spread over bits
 * 13..60, so a cut depends on up to the last 61 bytes (bits 61..63 stay clear: the kernel checks
 * hashes shifted left by up to 3 places).
 *
 * Offsets are exclusive chunk ends, counted from the start of the input.
 */
import { LayerkitError } from '../errors.ts';
import { asBytes, checkInt } from '../wasm/input.ts';

export interface CdcOptions {
  /** Smallest chunk (bytes); >= 64 and < avgSize. */
  minSize?: number;
  /** Target average chunk size: a power of two in [256, 64 MiB]. */
  avgSize?: number;
  /** Largest chunk (bytes); > avgSize and <= 256 MiB. */
  maxSize?: number;
}

export interface CdcParams {
  minSize: number;
  avgSize: number;
  maxSize: number;
}

export const DEFAULT_CDC: Readonly<CdcParams> = Object.freeze({ minSize: 16384, avgSize: 65536, maxSize: 262144 });

export const CDC_LIMITS = Object.freeze({
  minMin: 64,
  avgMin: 256,
  avgMax: 64 * 1024 * 1024,
  maxMax: 256 * 1024 * 1024,
});

/** Normalization level: MASK_S has 2 bits more than log2(avg), MASK_L 2 bits fewer. */
export const CDC_NORMALIZATION = 2;

/** The splitmix64 seed of the gear table: "layerkit" in ASCII. */
export const GEAR_SEED = 0x6C617965726B6974n;

const M64 = (1n << 64n) - 1n;

/** splitmix64 (Steele, Lea, Flood 2014; the seeding generator of xoshiro). */
export function* splitmix64(seed: bigint): Generator<bigint> {
  let state = seed & M64;
  for (;;) {
    state = (state + 0x9E3779B97F4A7C15n) & M64;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & M64;
    z = ((z ^ (z >> 27n)) * 0x94D049BB133111EBn) & M64;
    yield z ^ (z >> 31n);
  }
}

/** The 256 gear values. */
export function gearTable(): BigUint64Array {
  const out = new BigUint64Array(256);
  const gen = splitmix64(GEAR_SEED);
  for (let i = 0; i < 256; i++) out[i] = gen.next().value;
  return out;
}

/** The mask with `bits` one bits spread over bits 13..60 (see the header). */
export function cdcMask(bits: number): bigint {
  let m = 0n;
  for (let i = 0; i < bits; i++) m |= 1n << BigInt(60 - Math.floor((i * 48) / bits));
  return m;
}

/** Validate chunking options (ERR_INVALID_ARG / ERR_OUT_OF_RANGE) and fill in the defaults. */
export function cdcParams(opts: CdcOptions = {}): CdcParams {
  if (opts === null || typeof opts !== 'object') {
    throw new LayerkitError('ERR_INVALID_ARG', `chunker options must be an object, got ${opts === null ? 'null' : typeof opts}`, { argument: 'options' });
  }
  const avgSize = checkInt(opts.avgSize ?? DEFAULT_CDC.avgSize, 'avgSize', CDC_LIMITS.avgMin, CDC_LIMITS.avgMax);
  if ((avgSize & (avgSize - 1)) !== 0) {
    throw new LayerkitError('ERR_OUT_OF_RANGE', `avgSize must be a power of two, got ${avgSize}`, { argument: 'avgSize', value: avgSize });
  }
  // Defaults for a custom avg keep the default ratios (min = avg / 4, max = avg * 4).
  const minSize = checkInt(opts.minSize ?? (opts.avgSize === undefined ? DEFAULT_CDC.minSize : avgSize / 4),
    'minSize', CDC_LIMITS.minMin, avgSize - 1);
  const maxSize = checkInt(opts.maxSize ?? (opts.avgSize === undefined ? DEFAULT_CDC.maxSize : Math.min(avgSize * 4, CDC_LIMITS.maxMax)),
    'maxSize', avgSize + 1, CDC_LIMITS.maxMax);
  return { minSize, avgSize, maxSize };
}

// The 64-bit hash as two 32-bit halves (BigInt arithmetic per byte would be far too slow).
const GEAR = gearTable();
const GEAR_HI = Uint32Array.from(GEAR, (g) => Number(g >> 32n));
const GEAR_LO = Uint32Array.from(GEAR, (g) => Number(g & 0xFFFFFFFFn));

/** A streaming chunker: feed bytes, get the ends of the chunks they complete. */
export class RefChunker {
  readonly params: CdcParams;
  #maskSHi: number;
  #maskSLo: number;
  #maskLHi: number;
  #maskLLo: number;
  #fpHi = 0;
  #fpLo = 0;
  /** Bytes in the current (open) chunk. */
  #chunkLen = 0;
  /** Bytes pushed so far. */
  #total = 0;
  #done = false;

  constructor(opts: CdcOptions = {}) {
    this.params = cdcParams(opts);
    const bits = Math.log2(this.params.avgSize);
    const s = cdcMask(bits + CDC_NORMALIZATION);
    const l = cdcMask(bits - CDC_NORMALIZATION);
    this.#maskSHi = Number(s >> 32n);
    this.#maskSLo = Number(s & 0xFFFFFFFFn);
    this.#maskLHi = Number(l >> 32n);
    this.#maskLLo = Number(l & 0xFFFFFFFFn);
  }

  push(data: ArrayBufferView | ArrayBufferLike): number[] {
    if (this.#done) throw new LayerkitError('ERR_USED_AFTER_FINISH', 'chunker used after finish()');
    const bytes = asBytes(data);
    const { minSize, avgSize, maxSize } = this.params;
    const cuts: number[] = [];
    let fpHi = this.#fpHi;
    let fpLo = this.#fpLo;
    let len = this.#chunkLen;
    for (let i = 0; i < bytes.length; i++) {
      const j = len; // index of this byte inside its chunk
      len++;
      let cut = false;
      if (j >= minSize) {
        // fp = (fp << 1) + GEAR[b]  (mod 2^64)
        const b = bytes[i];
        const shHi = ((fpHi << 1) | (fpLo >>> 31)) >>> 0;
        const shLo = (fpLo << 1) >>> 0;
        const lo = shLo + GEAR_LO[b];
        fpLo = lo >>> 0;
        fpHi = (shHi + GEAR_HI[b] + (lo > 0xFFFFFFFF ? 1 : 0)) >>> 0;
        const mHi = j < avgSize ? this.#maskSHi : this.#maskLHi;
        const mLo = j < avgSize ? this.#maskSLo : this.#maskLLo;
        cut = (fpHi & mHi) === 0 && (fpLo & mLo) === 0;
      }
      if (cut || len === maxSize) {
        cuts.push(this.#total + i + 1);
        fpHi = 0;
        fpLo = 0;
        len = 0;
      }
    }
    this.#fpHi = fpHi;
    this.#fpLo = fpLo;
    this.#chunkLen = len;
    this.#total += bytes.length;
    return cuts;
  }

  /** The end of the last chunk, if bytes are pending. */
  finish(): number[] {
    if (this.#done) throw new LayerkitError('ERR_USED_AFTER_FINISH', 'chunker used after finish()');
    this.#done = true;
    return this.#chunkLen > 0 ? [this.#total] : [];
  }
}

/** All chunk ends of `data` (the last one is data.length, unless data is empty). */
export function chunkBoundariesRef(data: ArrayBufferView | ArrayBufferLike, opts: CdcOptions = {}): number[] {
  const c = new RefChunker(opts);
  const cuts = c.push(data);
  for (const x of c.finish()) cuts.push(x);
  return cuts;
}
