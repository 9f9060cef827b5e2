import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { comparePaths } from '../../src/tree/entry.ts';

/** The definition: UTF-8 bytes, '/' lowest. */
function byBytes(a: string, b: string): number {
  const enc = new TextEncoder();
  const x = enc.encode(a);
  const y = enc.encode(b);
  const rank = (c: number) => (c === 47 ? -1 : c);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return rank(x[i]!) - rank(y[i]!);
  return x.length - y.length;
}

describe('comparePaths', () => {
  it('puts children right after their parent', () => {
    expect(['a-b', 'a/b', 'a', 'a.b', 'a/b/c', 'ab'].sort(comparePaths)).toEqual(['a', 'a/b', 'a/b/c', 'a-b', 'a.b', 'ab']);
  });
  it('is UTF-8 byte order, also for characters past U+FFFF', () => {
    expect(Math.sign(comparePaths('\uffff', '\u{1f600}'))).toBe(-1);
    expect(Math.sign(comparePaths('\ue000', '\u{10000}'))).toBe(-1);
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
      expect(Math.sign(comparePaths(a, b))).toBe(Math.sign(byBytes(a, b)));
    }), { numRuns: 2000 });
  });
});
