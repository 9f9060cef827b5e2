import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { utf8Length } from '../src/utf8.ts';

describe('utf8Length', () => {
  it('is the length TextEncoder writes, lone surrogates included', () => {
    const enc = new TextEncoder();
    for (const s of ['', 'a', 'é', '€', '😀', '\ud800', '\udc00x', '\ud800\ud800\udc00', 'a\udbff']) expect(utf8Length(s)).toBe(enc.encode(s).length);
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => utf8Length(s) === enc.encode(s).length), { numRuns: 2000 });
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 0xffff })), (codes) => {
      const s = String.fromCharCode(...codes);
      return utf8Length(s) === enc.encode(s).length;
    }), { numRuns: 2000 });
  });
});
