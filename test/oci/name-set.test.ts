/**
 * NameSet (src/oci/name-set.ts): apply's record of the names a layer wrote, as 64-bit hashes. It
 * must answer like a Set of the strings across its merges into the sorted array, at 8 bytes a name.
 */
import { describe, expect, it } from 'vitest';
import { NameSet } from '../../src/oci/name-set.ts';
import { prng } from '../apply/prng.ts';

describe('NameSet', () => {
  it('answers as a Set of the strings does, across merges (370k names, 5 merges, names added again across merges), at ~8 bytes a name', () => {
    const r = prng(7);
    const rand = () => r.next();
    const set = new NameSet();
    const ref = new Set<string>();
    const name = () => {
      const depth = 1 + Math.floor(rand() * 5);
      const parts: string[] = [];
      for (let d = 0; d < depth; d++) parts.push(Math.floor(rand() * 1e6).toString(36) + (rand() < 0.1 ? 'é🙂' : ''));
      return `/t/${parts.join('/')}`;
    };
    for (let i = 0; i < 300_000; i++) {
      const n = name();
      set.add(n);
      ref.add(n);
      if (i % 50_000 === 0) set.add(n); // twice: counted once
    }
    const early = [...ref].slice(0, 1000);
    for (const n of early) set.add(n); // again after merges: the next merge keeps each once
    for (let i = 0; i < 70_000; i++) {
      const n = name();
      set.add(n);
      ref.add(n);
    }
    expect(set.size).toBe(ref.size);
    for (const n of ref) if (!set.has(n)) throw new Error(`lost ${n}`);
    let falsePositives = 0;
    for (let i = 0; i < 100_000; i++) {
      const n = `${name()}/not-added-${i}`;
      if (!ref.has(n) && set.has(n)) falsePositives++;
    }
    expect(falsePositives).toBe(0);
    // the sorted array (8 bytes a name) and a 1 MiB table
    expect(set.bytes).toBeLessThanOrEqual(ref.size * 8 + (1 << 20));
  });

  it('names differing in one UTF-16 unit, in length only, or empty are told apart', () => {
    const set = new NameSet();
    const names = ['', 'a', 'a\0', 'ab', 'ba', '/t/x', '/t/x/', '/t/\u00e9', '/t/e\u0301', '/t/\ud83d', '/t/\ud83d\ude42'];
    for (const n of names.slice(0, 6)) set.add(n);
    for (const n of names.slice(0, 6)) expect(set.has(n)).toBe(true);
    for (const n of names.slice(6)) expect(set.has(n)).toBe(false);
  });
});
