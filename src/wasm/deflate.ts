/**
 * Deterministic raw deflate and CRC-32 over the WASM kernels (assembly/deflate.ts, crc32.ts).
 *
 * `deflateChunk(window, dictLength, level, last)` compresses window[dictLength..] with
 * window[..dictLength] (at most 32 KiB) as history. Outputs of consecutive chunks concatenate
 * into one raw deflate stream (every chunk but the last ends with a sync flush). The bytes depend
 * only on the input, the chunk boundaries and the level: not on the runtime or the thread count.
 */
import { LayerkitError } from '../errors.ts';
import { kernels } from './loader.ts';

type ChunkFn = (win: number, dictLen: number, total: number, level: number, last: number, out: number) => number;
type BoundFn = (len: number) => number;
type CrcFn = (crc: number, ptr: number, len: number) => number;

/** History a chunk may reach back into (deflate's window). */
export const DEFLATE_WINDOW = 32768;

let winPtr = 0;
let winCap = 0;
let outPtr = 0;
let outCap = 0;

function ensure(winLen: number, outLen: number): void {
  const k = kernels();
  if (winLen > winCap) {
    if (winPtr) k.free(winPtr);
    winPtr = k.alloc(winLen);
    winCap = winLen;
  }
  if (outLen > outCap) {
    if (outPtr) k.free(outPtr);
    outPtr = k.alloc(outLen);
    outCap = outLen;
  }
}

export function deflateChunk(window: Uint8Array, dictLength: number, level: number, last: boolean): Uint8Array {
  const n = runChunk(window, dictLength, level, last);
  return kernels().u8().slice(outPtr, outPtr + n);
}

/** Worst-case compressed size of `length` input bytes in one chunk. */
export function deflateBound(length: number): number {
  return kernels().fn<BoundFn>('deflate_bound')(length);
}

/**
 * Like deflateChunk, writing into `out` (at least deflateBound(window.length - dictLength) bytes;
 * e.g. a view of a SharedArrayBuffer) instead of allocating: returns the bytes written.
 */
export function deflateChunkInto(window: Uint8Array, dictLength: number, level: number, last: boolean, out: Uint8Array): number {
  const n = runChunk(window, dictLength, level, last);
  if (n > out.length) throw new LayerkitError('ERR_OUT_OF_RANGE', `deflate output of ${n} bytes does not fit ${out.length}`, { needed: n });
  out.set(kernels().u8().subarray(outPtr, outPtr + n));
  return n;
}

function runChunk(window: Uint8Array, dictLength: number, level: number, last: boolean): number {
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new LayerkitError('ERR_OUT_OF_RANGE', `deflate level must be an integer in 0..9, got ${level}`, { level });
  }
  if (!Number.isInteger(dictLength) || dictLength < 0 || dictLength > DEFLATE_WINDOW || dictLength > window.length) {
    throw new LayerkitError('ERR_OUT_OF_RANGE', `deflate history must be 0..${DEFLATE_WINDOW} bytes of the window, got ${dictLength}`, { dictLength });
  }
  const k = kernels();
  const bound = k.fn<BoundFn>('deflate_bound')(window.length - dictLength);
  ensure(window.length, bound);
  k.u8().set(window, winPtr);
  const n = k.fn<ChunkFn>('deflate_chunk')(winPtr, dictLength, window.length, level, last ? 1 : 0, outPtr);
  if (n < 0) throw new LayerkitError('ERR_OUT_OF_RANGE', 'deflate_chunk refused its arguments', { dictLength, level });
  return n;
}

/** Continue a CRC-32 (IEEE, as in gzip; start from 0). */
export function crc32(crc: number, data: Uint8Array): number {
  const k = kernels();
  const f = k.fn<CrcFn>('crc32_update');
  const step = 1 << 20;
  for (let off = 0; off < data.length; off += step) {
    const piece = data.subarray(off, Math.min(data.length, off + step));
    ensure(piece.length, 0);
    k.u8().set(piece, winPtr);
    crc = f(crc >>> 0, winPtr, piece.length) >>> 0;
  }
  return crc >>> 0;
}
