// The WASM merge (assembly/diff.ts via mergeChangesKernel) gives exactly the answers of the TS
// reference (mergeChanges) on random tree pairs.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { comparePaths, type Entry, type EntryType } from '../../src/tree/entry.ts';
import { mergeChanges } from '../../src/tree/changes.ts';
import { mergeChangesKernel } from '../../src/tree/merge-kernel.ts';

const NAMES = ['a', 'b', 'a-b', 'a.b', 'é', '\u{1f600}', '\uffff', 'zz', 'lib', 'x'];
const TYPES: EntryType[] = ['file', 'dir', 'symlink', 'fifo'];

/** A tree as a map path -> entry; parents always directories. */
function randomTree(rnd: () => number, n: number): Map<string, Entry> {
  const tree = new Map<string, Entry>();
  const dirs = [''];
  for (let k = 0; k < n; k++) {
    const parent = dirs[Math.floor(rnd() * dirs.length)]!;
    const name = NAMES[Math.floor(rnd() * NAMES.length)]!;
    const path = parent === '' ? name : `${parent}/${name}`;
    if (tree.has(path)) continue;
    const type = TYPES[Math.floor(rnd() * TYPES.length)]!;
    tree.set(path, entry(path, type, rnd));
    if (type === 'dir') dirs.push(path);
  }
  return tree;
}

function entry(path: string, type: EntryType, rnd: () => number): Entry {
  const e: Entry = {
    path, type, mode: rnd() < 0.9 ? 0o644 : 0o755, uid: rnd() < 0.9 ? 0 : 1000, gid: 0,
    size: type === 'file' ? Math.floor(rnd() * 3) : 0,
    mtimeNs: BigInt(1_700_000_000 + Math.floor(rnd() * 2)) * 1_000_000_000n + (rnd() < 0.5 ? 0n : 5n),
  };
  if (type === 'symlink') e.linkname = rnd() < 0.5 ? 'a' : 'b';
  if (type === 'file' && rnd() < 0.6) e.blake3 = new Uint8Array(32).fill(Math.floor(rnd() * 2));
  if (rnd() < 0.1) e.xattrs = { 'user.x': new Uint8Array([Math.floor(rnd() * 2)]) };
  return e;
}

/** A mutated copy: deletions (of whole subtrees), additions, metadata and type changes. */
function mutate(tree: Map<string, Entry>, rnd: () => number): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const dropped: string[] = [];
  for (const [p, e] of [...tree].sort((x, y) => comparePaths(x[0], y[0]))) {
    if (dropped.some((d) => p.startsWith(d + '/'))) continue;
    const r = rnd();
    if (r < 0.1) { dropped.push(p); continue; }
    if (r < 0.15) { out.set(p, entry(p, TYPES[Math.floor(rnd() * TYPES.length)]!, rnd)); if (out.get(p)!.type !== 'dir') dropped.push(p); continue; }
    if (r < 0.3) { out.set(p, { ...entry(p, e.type, rnd), path: p }); continue; }
    out.set(p, e);
  }
  for (const [p, e] of randomTree(rnd, 10)) if (!out.has(p) && !dropped.some((d) => p === d || p.startsWith(d + '/'))) {
    const parent = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
    if (parent === '' || out.get(parent)?.type === 'dir') out.set(p, e);
  }
  return out;
}

const sorted = (t: Map<string, Entry>) => [...t.values()].sort((a, b) => comparePaths(a.path, b.path));

function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

describe('merge kernel == TS reference', () => {
  it('agrees on random tree pairs', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 0, max: 60 }), (seed, n) => {
      const rnd = prng(seed);
      const a = randomTree(rnd, n);
      const b = mutate(a, rnd);
      const want = mergeChanges(sorted(a), sorted(b));
      expect(mergeChangesKernel(sorted(a), sorted(b))).toEqual(want);
    }), { numRuns: 500 });
  });

  it('finds the changes on a tree of 20k entries the same way', () => {
    const rnd = prng(42);
    const a = randomTree(rnd, 20000);
    const b = mutate(a, rnd);
    const want = mergeChanges(sorted(a), sorted(b));
    expect(want.length).toBeGreaterThan(100);
    expect(mergeChangesKernel(sorted(a), sorted(b))).toEqual(want);
  });

  it('handles empty sides', () => {
    const rnd = prng(7);
    const a = sorted(randomTree(rnd, 30));
    expect(mergeChangesKernel([], a)).toEqual(mergeChanges([], a));
    expect(mergeChangesKernel(a, [])).toEqual(mergeChanges(a, []));
    expect(mergeChangesKernel([], [])).toEqual([]);
  });
});
