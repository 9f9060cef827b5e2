// The WASM merge (assembly/diff.ts via mergeChangesKernel) gives exactly the answers of the TS
// reference (mergeChanges) on random tree pairs.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mutate, prng, randomTree, sorted } from '../fixtures/random-trees.ts';
import { mergeChanges } from '../../src/tree/changes.ts';
import { mergeChangesKernel } from '../../src/tree/merge-kernel.ts';

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
