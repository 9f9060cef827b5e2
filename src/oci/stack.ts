/**
 * Stack survivors on the WASM kernel (assembly/stack.ts): packs the records into kernel memory
 * (fixed-size records + one UTF-8 path blob + a zeroed hash table), one call, one u8 per record
 * back. survivorsRef (src/ref/stack.ts) is the reference; tests check they agree.
 */
import { kernels } from '../wasm/loader.ts';
import type { StackKind, StackRecord } from '../ref/stack.ts';

export type { StackKind, StackRecord };

const REC = 16;
const SLOT = 24;
const KIND: Record<StackKind, number> = { file: 0, dir: 1, whiteout: 2, opaque: 3 };
const encoder = new TextEncoder();

export function survivors(records: readonly StackRecord[]): Uint8Array {
  const k = kernels();
  const n = records.length;
  const encoded = records.map((r) => encoder.encode(r.path));
  let pathBytes = 0;
  for (const e of encoded) pathBytes += e.length;
  let cap = 16;
  while (cap < 2 * n + 2) cap *= 2;
  const recs = k.alloc(Math.max(1, n * REC));
  const paths = k.alloc(Math.max(8, pathBytes + 8));
  const table = k.alloc(cap * SLOT);
  const out = k.alloc(Math.max(1, n));
  try {
    const mem = k.u8();
    const dv = k.dv();
    mem.fill(0, table, table + cap * SLOT);
    let po = 0;
    for (let i = 0; i < n; i++) {
      const r = recs + i * REC;
      mem.set(encoded[i]!, paths + po);
      dv.setUint32(r, po, true);
      dv.setUint32(r + 4, encoded[i]!.length, true);
      dv.setUint32(r + 8, records[i]!.layer, true);
      dv.setUint32(r + 12, KIND[records[i]!.kind], true);
      po += encoded[i]!.length;
    }
    const fn = k.fn<(recs: number, count: number, paths: number, table: number, cap: number, out: number) => number>('stack_survivors');
    fn(recs, n, paths, table, cap, out);
    return k.u8().slice(out, out + n);
  } finally {
    k.free(out);
    k.free(table);
    k.free(paths);
    k.free(recs);
  }
}
