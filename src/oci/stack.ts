/**
 * Stack survivors on the WASM kernel (assembly/stack.ts). Records are collected packed, in the
 * kernel's own layout (StackTable: 16-byte records + one UTF-8 path blob, growing typed arrays),
 * so that a stack of N entries costs ~16 bytes + its path per entry instead of a JS object and a
 * string each; survivorsOf copies the two arrays into kernel memory, zeroes a hash table, makes
 * one call and gets one u8 per record back. survivorsRef (src/ref/stack.ts) is the reference;
 * tests check they agree (StackTable.records() gives the reference its input).
 */
import { kernels } from '../wasm/loader.ts';
import type { StackKind, StackRecord } from '../ref/stack.ts';
import { utf8Length } from '../utf8.ts';

export type { StackKind, StackRecord };

const REC = 16;
const SLOT = 24;
const KINDS: readonly StackKind[] = ['file', 'dir', 'whiteout', 'opaque'];
const KIND: Record<StackKind, number> = { file: 0, dir: 1, whiteout: 2, opaque: 3 };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Stack records packed as the kernel reads them (see assembly/stack.ts for the layout). */
export class StackTable {
  #recs = new Uint32Array(4 * 1024);
  #paths = new Uint8Array(64 * 1024);
  #pathBytes = 0;
  #n = 0;

  get length(): number {
    return this.#n;
  }

  /** Append a record; returns its index. */
  add(path: string, layer: number, kind: StackKind): number {
    const len = utf8Length(path);
    if (this.#pathBytes + len > this.#paths.length) {
      const p = new Uint8Array(Math.max(this.#paths.length * 2, this.#pathBytes + len));
      p.set(this.#paths.subarray(0, this.#pathBytes));
      this.#paths = p;
    }
    if ((this.#n + 1) * 4 > this.#recs.length) {
      const r = new Uint32Array(this.#recs.length * 2);
      r.set(this.#recs);
      this.#recs = r;
    }
    encoder.encodeInto(path, this.#paths.subarray(this.#pathBytes, this.#pathBytes + len));
    const r = this.#n * 4;
    this.#recs[r] = this.#pathBytes;
    this.#recs[r + 1] = len;
    this.#recs[r + 2] = layer;
    this.#recs[r + 3] = KIND[kind];
    this.#pathBytes += len;
    return this.#n++;
  }

  /** UTF-8 length of record i's path (cheap: no decoding). */
  pathLength(i: number): number {
    return this.#recs[i * 4 + 1]!;
  }

  path(i: number): string {
    const o = this.#recs[i * 4]!;
    return decoder.decode(this.#paths.subarray(o, o + this.#recs[i * 4 + 1]!));
  }

  kind(i: number): StackKind {
    return KINDS[this.#recs[i * 4 + 3]!]!;
  }

  record(i: number): StackRecord {
    return { path: this.path(i), layer: this.#recs[i * 4 + 2]!, kind: this.kind(i) };
  }

  /** Every record as an object (for the TS reference and tests). */
  records(): StackRecord[] {
    return Array.from({ length: this.#n }, (_, i) => this.record(i));
  }

  /** The packed arrays (views of the used part). */
  packed(): { recs: Uint32Array; paths: Uint8Array } {
    return { recs: this.#recs.subarray(0, this.#n * 4), paths: this.#paths.subarray(0, this.#pathBytes) };
  }

  static of(records: readonly StackRecord[]): StackTable {
    const t = new StackTable();
    for (const r of records) t.add(r.path, r.layer, r.kind);
    return t;
  }
}

/** Which records of `table` survive the stack (1), die (0) or survive as a whiteout (2): the kernel. */
export function survivorsOf(table: StackTable): Uint8Array {
  const k = kernels();
  const n = table.length;
  const { recs: packedRecs, paths: packedPaths } = table.packed();
  let cap = 16;
  while (cap < 2 * n + 2) cap *= 2;
  const recs = k.alloc(Math.max(1, n * REC));
  const paths = k.alloc(Math.max(8, packedPaths.length + 8));
  const tab = k.alloc(cap * SLOT);
  const out = k.alloc(Math.max(1, n));
  try {
    const mem = k.u8();
    mem.fill(0, tab, tab + cap * SLOT);
    mem.set(packedPaths, paths);
    // Little-endian u32 records: the kernel's layout is the table's (WASM memory is little-endian).
    const words = new Uint8Array(packedRecs.buffer, packedRecs.byteOffset, packedRecs.byteLength);
    if (isLittleEndian) {
      mem.set(words, recs);
    } else {
      const dv = k.dv();
      for (let i = 0; i < packedRecs.length; i++) dv.setUint32(recs + i * 4, packedRecs[i]!, true);
    }
    const fn = k.fn<(recs: number, count: number, paths: number, table: number, cap: number, out: number) => number>('stack_survivors');
    fn(recs, n, paths, tab, cap, out);
    return k.u8().slice(out, out + n);
  } finally {
    k.free(out);
    k.free(tab);
    k.free(paths);
    k.free(recs);
  }
}

/** survivorsOf for records given as objects. */
export function survivors(records: readonly StackRecord[]): Uint8Array {
  return survivorsOf(StackTable.of(records));
}

const isLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

