/**
 * Stack survivors on the WASM kernel (assembly/stack.ts): one streaming pass over the records
 * sorted by path in tree order (stackKey, compareSorted), holding only the current path's chain
 * of ancestors. StackKernel feeds it batches (keys UTF-8 encoded straight into kernel memory)
 * and hands back a fate per record and the directory events (see StackPass). Its reference is
 * SortedStackRef (src/ref/stack-sorted.ts); survivorsRef (src/ref/stack.ts) states the rules over a
 * whole stack; tests check all three agree. survivors() runs a whole stack held in memory (the
 * union view's lower tree, tests); flatten sorts externally (external-sort.ts) and streams.
 */
import { LayerkitError } from '../errors.ts';
import { kernels, type Kernels } from '../wasm/loader.ts';
import type { SortedRecord, StackKind, StackPass, StackRecord } from '../ref/stack.ts';

export type { SortedRecord, StackKind, StackPass, StackRecord };

const REC = 20;
const KIND: Record<StackKind, number> = { file: 0, dir: 1, whiteout: 2, opaque: 3 };
const BATCH = 4096;
const encoder = new TextEncoder();

/** A cleaned path's sort key: '\0' for '/', so that string order is tree order (a directory, then all below it). */
export function stackKey(path: string): string {
  return path.replaceAll('/', '\0');
}

export function pathOfKey(key: string): string {
  return key.replaceAll('\0', '/');
}

/** The kernel's order: by key, then the latest record first. */
export function compareSorted(a: { key: string; seq: number }, b: { key: string; seq: number }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : b.seq - a.seq;
}

/** One pass on the kernel; paths up to pathCap UTF-8 bytes. dispose() frees its kernel memory. */
export class StackKernel implements StackPass {
  readonly #k: Kernels;
  readonly #cap: number;
  readonly #levels: number;
  #state: number;
  #recs: number;
  #out: number;
  #events: number;
  #paths = 0;
  #pathsCap = 0;
  readonly #batch: (state: number, recs: number, count: number, paths: number, out: number, events: number) => number;
  readonly #end: (state: number, events: number) => number;

  constructor(pathCap = 4096) {
    const k = (this.#k = kernels());
    this.#cap = pathCap;
    this.#levels = Math.floor(pathCap / 2) + 2;
    const size = k.fn<(cap: number) => number>('stack_state_size')(pathCap);
    this.#state = k.alloc(size);
    this.#recs = k.alloc(BATCH * REC);
    this.#out = k.alloc(BATCH);
    this.#events = k.alloc((BATCH + this.#levels) * 8);
    k.fn<(state: number, cap: number) => void>('stack_begin')(this.#state, pathCap);
    this.#batch = k.fn('stack_batch');
    this.#end = k.fn('stack_end');
  }

  batch(records: readonly SortedRecord[]): { fates: Uint8Array; events: Uint32Array } {
    const fates = new Uint8Array(records.length);
    const events: Uint32Array[] = [];
    for (let at = 0; at < records.length; at += BATCH) {
      const part = records.slice(at, at + BATCH);
      let bytes = 0;
      for (const r of part) bytes += r.key.length * 3;
      if (bytes > this.#pathsCap) {
        if (this.#paths) this.#k.free(this.#paths);
        this.#pathsCap = Math.max(bytes, 64 * 1024);
        this.#paths = this.#k.alloc(this.#pathsCap);
      }
      const mem = this.#k.u8();
      const dv = this.#k.dv();
      let p = 0;
      for (let i = 0; i < part.length; i++) {
        const r = part[i]!;
        const { written } = encoder.encodeInto(r.key, mem.subarray(this.#paths + p, this.#paths + this.#pathsCap));
        const o = this.#recs + i * REC;
        dv.setUint32(o, p, true);
        dv.setUint32(o + 4, written, true);
        dv.setUint32(o + 8, r.layer, true);
        dv.setUint32(o + 12, KIND[r.kind], true);
        dv.setUint32(o + 16, r.seq, true);
        p += written;
      }
      const n = this.#batch(this.#state, this.#recs, part.length, this.#paths, this.#out, this.#events);
      if (n === -1) throw new LayerkitError('ERR_LIMIT_EXCEEDED', `a path is longer than ${this.#cap} bytes`, { limit: this.#cap });
      if (n < 0) throw new LayerkitError('ERR_INVALID_ARG', 'stack records out of order');
      fates.set(this.#k.u8().subarray(this.#out, this.#out + part.length), at);
      events.push(this.#eventsOf(n));
    }
    return { fates, events: events.length === 1 ? events[0]! : concat(events) };
  }

  end(): Uint32Array {
    return this.#eventsOf(this.#end(this.#state, this.#events));
  }

  dispose(): void {
    for (const p of [this.#state, this.#recs, this.#out, this.#events, this.#paths]) if (p) this.#k.free(p);
    this.#state = this.#recs = this.#out = this.#events = this.#paths = 0;
  }

  #eventsOf(n: number): Uint32Array {
    const out = new Uint32Array(n * 2);
    const dv = this.#k.dv();
    for (let i = 0; i < n * 2; i++) out[i] = dv.getUint32(this.#events + i * 4, true);
    return out;
  }
}

function concat(parts: readonly Uint32Array[]): Uint32Array {
  const out = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Which records of a stack held in memory survive (1), die (0) or survive as a whiteout (2), by
 * one streaming pass (the kernel unless `pass` is given).
 */
export function survivors(records: readonly StackRecord[], pass?: StackPass): Uint8Array {
  const sorted = records.map((r, seq): SortedRecord => ({ key: stackKey(r.path), seq, layer: r.layer, kind: r.kind })).sort(compareSorted);
  let cap = 4096;
  for (const r of sorted) cap = Math.max(cap, r.key.length * 3);
  const p = pass ?? new StackKernel(cap);
  const out = new Uint8Array(records.length);
  try {
    const { fates } = p.batch(sorted);
    p.end();
    for (let i = 0; i < sorted.length; i++) out[sorted[i]!.seq] = fates[i]!;
  } finally {
    p.dispose();
  }
  return out;
}
