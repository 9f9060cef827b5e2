/** The stack kernel (assembly/stack.ts) against its TS reference, and the reference against the rules. */
import { describe, expect, test } from 'vitest';
import { compareSorted, stackKey, StackKernel, survivors, type SortedRecord, type StackPass } from '../../src/oci/stack.ts';
import { SortedStackRef } from '../../src/ref/stack-sorted.ts';
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

/** A seeded random stack (paths of 1-3 components from a few names, some opaque at the root). */
function randomStack(seed: number): StackRecord[] {
  const names = ['a', 'b', 'ab', 'a.b', 'é', 'd', '!'];
  const g = prng(seed);
  const layers = 1 + g.int(6);
  const recs: StackRecord[] = [];
  for (let l = 0; l < layers; l++) {
    const n = g.int(14);
    for (let i = 0; i < n; i++) {
      const depth = 1 + g.int(3);
      const path = Array.from({ length: depth }, () => g.pick(names)).join('/');
      const kind = g.pick(['file', 'file', 'dir', 'dir', 'dir', 'whiteout', 'opaque'] as const);
      recs.push({ layer: l, kind, path: (kind === 'opaque' || kind === 'dir') && g.chance(0.1) ? '' : path });
    }
  }
  return recs;
}

/** Run a pass over the sorted stack in batches of `size`: fates by seq and all events. */
function runPass(pass: StackPass, recs: readonly StackRecord[], size: number): { fates: number[]; events: number[] } {
  const sorted = recs.map((r, seq): SortedRecord => ({ key: stackKey(r.path), seq, layer: r.layer, kind: r.kind })).sort(compareSorted);
  const fates: number[] = new Array(recs.length).fill(-1);
  const events: number[] = [];
  try {
    for (let at = 0; at < sorted.length; at += size) {
      const part = sorted.slice(at, at + size);
      const r = pass.batch(part);
      part.forEach((x, i) => (fates[x.seq] = r.fates[i]!));
      events.push(...r.events);
    }
    events.push(...pass.end());
  } finally {
    pass.dispose();
  }
  return { fates, events };
}

/** What the events must be, from the rules: each surviving directory, at its first surviving record below (the root at itself). */
function expectedEvents(recs: readonly StackRecord[], fates: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  recs.forEach((d, dir) => {
    if (d.kind !== 'dir' || fates[dir] !== 1) return;
    let at = dir;
    recs.forEach((x, s) => {
      if (fates[s] === 0) return;
      const below = d.path === '' ? false : (x.path.startsWith(`${d.path}/`) || (x.kind === 'opaque' && x.path === d.path));
      if (below) at = Math.min(at, s);
    });
    out.set(dir, at);
  });
  return out;
}

describe('streaming pass: kernel == its reference == the rules', () => {
  test('1500 seeded stacks, random batch sizes: same fates as survivorsRef, same events, events as the rules say', () => {
    let hoisted = 0;
    for (let seed = 1; seed <= 1500; seed++) {
      const recs = randomStack(seed);
      const want = [...survivorsRef(recs)];
      const size = 1 + (seed % 7);
      const k = runPass(new StackKernel(), recs, size);
      const r = runPass(new SortedStackRef(), recs, 1 + (seed % 5));
      expect(k.fates, `seed ${seed} kernel`).toEqual(want);
      expect(r.fates, `seed ${seed} reference`).toEqual(want);
      const pairs = (ev: number[]) => new Map(Array.from({ length: ev.length / 2 }, (_, i) => [ev[2 * i]!, ev[2 * i + 1]!]));
      expect(k.events.length % 2).toBe(0);
      expect(pairs(k.events), `seed ${seed} events`).toEqual(pairs(r.events));
      expect(pairs(k.events), `seed ${seed} events by the rules`).toEqual(expectedEvents(recs, want));
      for (const [dir, at] of pairs(k.events)) if (at < dir) hoisted++;
    }
    expect(hoisted).toBeGreaterThan(300);
  });

  test('records out of order and paths over the capacity are refused', () => {
    const k = new StackKernel(8);
    try {
      expect(() => k.batch([{ key: 'a', seq: 1, layer: 0, kind: 'file' }, { key: 'a', seq: 2, layer: 0, kind: 'file' }])).toThrow(/out of order/);
    } finally {
      k.dispose();
    }
    const k2 = new StackKernel(8);
    try {
      expect(() => k2.batch([{ key: 'abcdefghij', seq: 0, layer: 0, kind: 'file' }])).toThrow(expect.objectContaining({ code: 'ERR_LIMIT_EXCEEDED' }));
    } finally {
      k2.dispose();
    }
  });

  test('deep paths: the ancestor chain is as deep as the path', () => {
    const recs: StackRecord[] = [];
    const deep = Array.from({ length: 1000 }, () => 'x').join('/');
    recs.push({ layer: 0, kind: 'dir', path: '' }, { layer: 0, kind: 'file', path: deep }, { layer: 1, kind: 'dir', path: 'x/x' });
    const want = [...survivorsRef(recs)];
    expect(runPass(new StackKernel(2000), recs, 2).fates).toEqual(want);
    expect(runPass(new StackKernel(2000), recs, 2).events).toEqual([2, 1, 0, 0]); // x/x at the file below it, the root at itself
  });
});
