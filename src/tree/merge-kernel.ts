/**
 * The change-detection merge on the WASM kernel (assembly/diff.ts): packs both sorted entry lists
 * into flat tables in kernel memory (paths as UTF-8 blobs, fixed-size records with the metadata
 * sameEntry compares, and content hashes), runs one merge call, and turns the output records back
 * into changes. mergeChanges (changes.ts) is the reference; tests check they agree.
 */
import type { Entry } from './entry.ts';
import type { TreeChange } from './changes.ts';
import { kernels } from '../wasm/loader.ts';
import { blake3 } from '../wasm/blake3.ts';
import { utf8Length } from '../utf8.ts';

const REC = 104;
const META = 16;
const HASH = 72;
const F_DIR = 1;
const F_FILE = 2;
const F_HASH = 4;
/** changes.ts timeUndecided: a whole-second mtime, or a racy entry. */
const F_TIME_UNDECIDED = 8;
const TYPE_CODE: Record<string, number> = { file: 1, dir: 2, symlink: 3, char: 4, block: 5, fifo: 6, socket: 7 };
const NS = 1_000_000_000n;
const encoder = new TextEncoder();


/** 16 bytes standing for link target + xattrs (BLAKE3, so equal digests mean equal values). */
function varDigest(e: Entry, isDir: boolean): Uint8Array | undefined {
  const names = e.xattrs ? Object.keys(e.xattrs).sort() : [];
  const link = isDir ? '' : (e.linkname ?? '');
  if (names.length === 0 && link === '') return undefined;
  const parts: Uint8Array[] = [encoder.encode(link), new Uint8Array([0])];
  for (const k of names) {
    const v = e.xattrs![k]!;
    parts.push(encoder.encode(k), new Uint8Array([0, v.length & 255, (v.length >>> 8) & 255, (v.length >>> 16) & 255]), v);
  }
  let len = 0;
  for (const p of parts) len += p.length;
  const buf = new Uint8Array(len);
  let o = 0;
  for (const p of parts) buf.set(p, o), (o += p.length);
  return blake3(buf, { outputLength: 16 });
}

interface Packed {
  recs: number;
  paths: number;
  count: number;
}

function pack(entries: readonly Entry[]): Packed {
  const k = kernels();
  let pathBytes = 0;
  for (const e of entries) pathBytes += utf8Length(e.path);
  const recs = k.alloc(Math.max(1, entries.length * REC));
  const paths = k.alloc(Math.max(1, pathBytes));
  // Digests go through the kernels too (may grow memory): compute them before taking views.
  const digests = entries.map((e) => varDigest(e, e.type === 'dir'));
  const mem = k.u8();
  const dv = k.dv();
  mem.fill(0, recs, recs + entries.length * REC);
  let po = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const r = recs + i * REC;
    const { written } = encoder.encodeInto(e.path, mem.subarray(paths + po, paths + pathBytes));
    const isDir = e.type === 'dir';
    const isFile = e.type === 'file';
    let flags = isDir ? F_DIR : isFile ? F_FILE : 0;
    if (isFile && e.blake3) flags |= F_HASH;
    if (e.mtimeNs % NS === 0n || e.racy) flags |= F_TIME_UNDECIDED;
    dv.setUint32(r, po, true);
    dv.setUint32(r + 4, written, true);
    dv.setUint32(r + 8, flags, true);
    const m = r + META;
    dv.setUint32(m, TYPE_CODE[e.type] ?? 0, true);
    dv.setUint32(m + 4, e.mode, true);
    dv.setUint32(m + 8, e.uid, true);
    dv.setUint32(m + 12, e.gid, true);
    if (!isDir) {
      dv.setBigUint64(m + 16, BigInt.asUintN(64, e.mtimeNs), true);
      if (isFile) dv.setFloat64(m + 24, e.size, true);
      dv.setUint32(m + 32, e.devmajor ?? 0, true);
      dv.setUint32(m + 36, e.devminor ?? 0, true);
    }
    const d = digests[i];
    if (d) mem.set(d, m + 40);
    if (flags & F_HASH) mem.set(e.blake3!, r + HASH);
    po += written;
  }
  return { recs, paths, count: entries.length };
}

/** mergeChanges on the kernel: same inputs (sorted, no root, no sockets), same answers. */
export function mergeChangesKernel(old: readonly Entry[], cur: readonly Entry[]): TreeChange[] {
  const k = kernels();
  const a = pack(old);
  const b = pack(cur);
  const out = k.alloc(Math.max(1, (old.length + cur.length) * 12));
  try {
    const merge = k.fn<(or: number, on: number, op: number, nr: number, nn: number, np: number, out: number) => number>('diff_merge');
    const n = merge(a.recs, a.count, a.paths, b.recs, b.count, b.paths, out) >>> 0;
    const dv = k.dv();
    const changes: TreeChange[] = new Array(n);
    for (let x = 0; x < n; x++) {
      const p = out + x * 12;
      const kind = dv.getUint32(p, true);
      const oi = dv.getUint32(p + 4, true);
      const ni = dv.getUint32(p + 8, true);
      const base = kind & 0xff;
      const c: TreeChange = base === 1
        ? { kind: 'add', path: cur[ni]!.path, new: cur[ni] }
        : base === 2
          ? { kind: 'modify', path: cur[ni]!.path, old: old[oi], new: cur[ni] }
          : { kind: 'delete', path: old[oi]!.path, old: old[oi] };
      if (kind & 0x100) c.subtree = true;
      changes[x] = c;
    }
    return changes;
  } finally {
    k.free(out);
    k.free(a.recs);
    k.free(a.paths);
    k.free(b.recs);
    k.free(b.paths);
  }
}
