/** The stack kernel (assembly/stack.ts) against its TS reference, and the reference against the rules. */
import { describe, expect, test } from 'vitest';
import { survivors } from '../../src/oci/stack.ts';
import { survivorsRef, type StackRecord, type StackKind } from '../../src/ref/stack.ts';
import { prng } from './prng.ts';

const R = (layer: number, kind: StackKind, path: string): StackRecord => ({ layer, kind, path });

describe('stack survivors: rules (reference and kernel)', () => {
  const cases: [string, StackRecord[], number[]][] = [
    ['a later entry replaces the same path', [R(0, 'file', 'a'), R(1, 'file', 'a')], [0, 1]],
    ['a later file kills the subtree', [R(0, 'dir', 'd'), R(0, 'file', 'd/x'), R(1, 'file', 'd')], [0, 0, 1]],
    ['a later dir merges (no subtree kill)', [R(0, 'dir', 'd'), R(0, 'file', 'd/x'), R(1, 'dir', 'd')], [0, 1, 1]],
    ['a whiteout kills lower layers only', [R(0, 'file', 'd/x'), R(1, 'whiteout', 'd'), R(1, 'file', 'd/y')], [0, 1, 1]],
    ['.wh..baz kills only .baz', [R(0, 'file', '.baz'), R(0, 'file', 'baz'), R(1, 'whiteout', '.baz')], [0, 1, 1]],
    ['prefix is not an ancestor', [R(0, 'file', 'ab/x'), R(1, 'whiteout', 'a')], [1, 1]],
    ['opaque kills lower children, keeps same layer', [R(0, 'file', 'd/x'), R(0, 'dir', 'd'), R(1, 'file', 'd/y'), R(1, 'opaque', 'd')], [0, 1, 1, 1]],
    ['root opaque', [R(0, 'file', 'a'), R(1, 'opaque', ''), R(1, 'file', 'b')], [0, 1, 1]],
    ['duplicate whiteouts and opaques keep the last', [R(0, 'whiteout', 'a'), R(1, 'whiteout', 'a'), R(0, 'opaque', 'd'), R(2, 'opaque', 'd')], [0, 1, 0, 1]],
    ['whiteout kept when re-created later', [R(0, 'file', 'a'), R(1, 'whiteout', 'a'), R(2, 'dir', 'a')], [0, 1, 1]],
    ['opaque dies with its directory', [R(0, 'opaque', 'd'), R(1, 'file', 'd')], [0, 1]],
  ];
  for (const [name, recs, want] of cases) {
    test(name, () => {
      expect([...survivorsRef(recs)]).toEqual(want);
      expect([...survivors(recs)]).toEqual(want);
    });
  }
});

describe('stack kernel == reference on random stacks', () => {
  test('2000 seeded stacks', () => {
    const names = ['a', 'b', 'ab', 'a.b', 'é', 'd'];
    for (let seed = 1; seed <= 2000; seed++) {
      const g = prng(seed);
      const layers = 1 + g.int(6);
      const recs: StackRecord[] = [];
      for (let l = 0; l < layers; l++) {
        const n = g.int(12);
        for (let i = 0; i < n; i++) {
          const depth = 1 + g.int(3);
          const path = Array.from({ length: depth }, () => g.pick(names)).join('/');
          const kind = g.pick(['file', 'file', 'dir', 'dir', 'whiteout', 'opaque'] as const);
          recs.push({ layer: l, kind, path: kind === 'opaque' && g.chance(0.2) ? '' : path });
        }
      }
      const a = survivorsRef(recs);
      const b = survivors(recs);
      if (Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0) {
        throw new Error(`seed ${seed}: ref ${[...a]} kernel ${[...b]} for ${JSON.stringify(recs)}`);
      }
    }
  });
  test('a large stack (200k records) runs and agrees', () => {
    const g = prng(7);
    const recs: StackRecord[] = [];
    for (let i = 0; i < 200_000; i++) {
      recs.push({ layer: Math.floor(i / 20_000), kind: g.pick(['file', 'dir', 'whiteout', 'opaque'] as const), path: `d${g.int(50)}/e${g.int(50)}/f${g.int(20)}` });
    }
    expect(Buffer.from(survivors(recs)).equals(Buffer.from(survivorsRef(recs)))).toBe(true);
  });
});
