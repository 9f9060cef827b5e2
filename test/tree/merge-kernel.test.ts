// The WASM merge (assembly/diff.ts via mergeChangesKernel) gives exactly the answers of the TS
// reference (mergeChanges) on random tree pairs.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mutate, prng, randomTree, sorted } from '../fixtures/random-trees.ts';
import { mergeChanges } from '../../src/tree/changes.ts';
import { mergeChangesKernel } from '../../src/tree/merge-kernel.ts';
import type { Entry } from '../../src/tree/entry.ts';

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

  it('agrees when files are racy on either side (an mtime that cannot vouch for the content)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 0, max: 60 }), (seed, n) => {
      const rnd = prng(seed);
      const a = randomTree(rnd, n);
      const b = mutate(a, rnd);
      // racy copies, independently per side (unchanged entries are shared objects otherwise)
      const mark = (list: Entry[]) => list.map((e) => (e.type === 'file' && rnd() < 0.3 ? { ...e, racy: true as const } : e));
      const [oa, ob] = [mark(sorted(a)), mark(sorted(b))];
      const want = mergeChanges(oa, ob);
      expect(mergeChangesKernel(oa, ob)).toEqual(want);
    }), { numRuns: 300 });
    // and racy alone turns an unchanged pair without hashes into a modify, on either side
    const f: Entry = { path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, mtimeNs: 1_700_000_000_123_456_789n };
    for (const [o, n] of [[{ ...f, racy: true as const }, f], [f, { ...f, racy: true as const }]]) {
      expect(mergeChangesKernel([o], [n]).map((c) => c.kind)).toEqual(['modify']);
      expect(mergeChanges([o], [n]).map((c) => c.kind)).toEqual(['modify']);
    }
    expect(mergeChangesKernel([f], [f])).toEqual([]);
    const h = new Uint8Array(32).fill(7);
    expect(mergeChangesKernel([{ ...f, racy: true, blake3: h }], [{ ...f, blake3: h }])).toEqual([]);
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
