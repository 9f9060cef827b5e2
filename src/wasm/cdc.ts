/**
 * Content-defined chunking over the WASM kernel (assembly/cdc.ts): FastCDC with normalized
 * chunking and a 64-bit gear hash. Chunk ends do not depend on how the input is split into
 * push() calls. Offsets are absolute byte positions (JS numbers: inputs past 4 GiB are fine).
 *
 *   const c = createChunker();            // DEFAULT_CDC: min 16 KiB, avg 64 KiB, max 256 KiB
 *   for (const piece of pieces) ends.push(...c.push(piece));
 *   ends.push(...c.finish());             // the last chunk ends at the total length
 */
import { LayerkitError } from '../errors.ts';
import { cdcParams, DEFAULT_CDC, type CdcOptions, type CdcParams } from '../ref/cdc.ts';
import { asBytes, checkInt } from './input.ts';
import { kernels } from './loader.ts';

export { DEFAULT_CDC, type CdcOptions, type CdcParams };

type CtxSizeFn = () => number;
type InitFn = (ctx: number, minSize: number, avgSize: number, maxSize: number) => void;
type ScanFn = (ctx: number, ptr: number, len: number, cutsOut: number, cutsCap: number) => number;

/** Cut slots per kernel call. */
const CUTS_CAP = 4096;
/** Caller bytes are copied into kernel memory this much at a time. */
const PIECE = 1 << 20;
/** Longest span handed to one kernel call. */
const SLICE = 4 << 20;

export interface Chunker {
  readonly params: CdcParams;
  /** Ends of the chunks that `data` completes (absolute offsets, ascending). */
  push(data: ArrayBufferView | ArrayBufferLike): number[];
  /** Like push, for `len` bytes already in kernel memory at `ptr` (e.g. read straight into it). */
  pushAt(ptr: number, len: number): number[];
  /** The end of the last chunk ([total length]) if bytes are pending, else []. Frees the chunker. */
  finish(): number[];
  /** Free the chunker without a result (idempotent). */
  dispose(): void;
}

const registry = new FinalizationRegistry<number>((ptr) => {
  try { kernels().free(ptr); } catch { /* the instance is gone */ }
});

class WasmChunker implements Chunker {
  readonly params: CdcParams;
  #ctx = 0;
  #cuts = 0;
  #total = 0;
  #lastCut = 0;
  #scan: ScanFn;

  constructor(opts: CdcOptions | undefined) {
    this.params = cdcParams(opts);
    const k = kernels();
    this.#scan = k.fn<ScanFn>('cdc_scan');
    const ctxSize = (k.fn<CtxSizeFn>('cdc_ctx_size')() + 15) & ~15;
    this.#ctx = k.alloc(ctxSize + CUTS_CAP * 4);
    this.#cuts = this.#ctx + ctxSize;
    k.fn<InitFn>('cdc_init')(this.#ctx, this.params.minSize, this.params.avgSize, this.params.maxSize);
    registry.register(this, this.#ctx, this);
  }

  #live(): void {
    if (this.#ctx === 0) throw new LayerkitError('ERR_USED_AFTER_FINISH', 'chunker used after finish() or dispose()');
  }

  /** Scan [ptr, ptr+len) of kernel memory, appending absolute ends to `out`. */
  #scanAt(ptr: number, len: number, out: number[]): void {
    const k = kernels();
    let done = 0;
    while (done < len) {
      // Bounded slices: a call into a function still running its baseline (Liftoff) code stays
      // there until it returns, so a first 1 GiB call would never see the optimized code.
      const span = Math.min(len - done, SLICE);
      const n = this.#scan(this.#ctx, ptr + done, span, this.#cuts, CUTS_CAP);
      if (n === 0) {
        done += span;
        continue;
      }
      const cuts = new Uint32Array(k.memory.buffer, this.#cuts, n);
      for (let i = 0; i < n; i++) out.push(this.#total + done + cuts[i]);
      // Fewer cuts than slots: the whole slice was scanned; else resume after the last cut.
      done += n < CUTS_CAP ? span : cuts[n - 1];
    }
    this.#total += len;
    if (out.length > 0) this.#lastCut = out[out.length - 1];
  }

  push(data: ArrayBufferView | ArrayBufferLike): number[] {
    this.#live();
    const bytes = asBytes(data);
    const out: number[] = [];
    const k = kernels();
    for (let off = 0; off < bytes.length; off += PIECE) {
      const piece = bytes.subarray(off, Math.min(off + PIECE, bytes.length));
      const win = k.scratch(PIECE);
      k.view(win, piece.length).set(piece);
      this.#scanAt(win, piece.length, out);
    }
    return out;
  }

  pushAt(ptr: number, len: number): number[] {
    this.#live();
    const memSize = kernels().memory.buffer.byteLength;
    checkInt(ptr, 'ptr', 0, memSize);
    checkInt(len, 'len', 0, memSize - ptr);
    const out: number[] = [];
    this.#scanAt(ptr, len, out);
    return out;
  }

  finish(): number[] {
    this.#live();
    const out = this.#total > this.#lastCut ? [this.#total] : [];
    this.dispose();
    return out;
  }

  dispose(): void {
    if (this.#ctx === 0) return;
    registry.unregister(this);
    kernels().free(this.#ctx);
    this.#ctx = 0;
  }
}

/** A streaming chunker (see the module header). Bad options: ERR_INVALID_ARG / ERR_OUT_OF_RANGE. */
export function createChunker(opts?: CdcOptions): Chunker {
  return new WasmChunker(opts);
}

/** All chunk ends of `data`, the last being data.length (none for empty data). */
export function chunkBoundaries(data: ArrayBufferView | ArrayBufferLike, opts?: CdcOptions): number[] {
  const c = createChunker(opts);
  try {
    const out = c.push(data);
    for (const x of c.finish()) out.push(x);
    return out;
  } finally {
    c.dispose();
  }
}
