/**
 * The deflate kernel (assembly/deflate.ts) against its readable reference (src/ref/deflate.ts):
 * byte-identical output for every input shape, history length, level and `last` flag, and every
 * output inflates (node:zlib, with the history as the dictionary) back to the input.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import zlib from 'node:zlib';
import { deflateChunk } from '../../src/wasm/deflate.ts';
import { buildLengths, deflateChunkRef, type DeflateRefStats } from '../../src/ref/deflate.ts';

/** A seeded PRNG (xorshift32) so every run tests the same inputs. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

function random(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

/** Text-like: words with a skewed distribution, so repeats at all distances. */
function texty(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const words = Array.from({ length: 400 }, (_, i) => `${i.toString(36)}${'etaoinshr'.slice(0, 1 + (i % 7))}`);
  let s = '';
  while (s.length < n) s += words[Math.floor(r() ** 3 * words.length)] + (r() < 0.08 ? '\n' : r() < 0.1 ? ', ' : ' ');
  return new TextEncoder().encode(s.slice(0, n));
}

function periodic(n: number, period: number, seed: number): Uint8Array {
  const unit = random(period, seed);
  return Uint8Array.from({ length: n }, (_, i) => unit[i % period]!);
}

/** Runs of one byte with random lengths (short and long matches, distance 1). */
function runs(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; ) {
    const len = 1 + Math.floor(r() ** 4 * 600);
    out.fill(Math.floor(r() * 4), i, Math.min(n, i + len));
    i += len;
  }
  return out;
}

/** Incompressible and compressible regions alternating: stored, fixed and dynamic blocks. */
function mixed(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; ) {
    const len = Math.min(n - i, 1 + Math.floor(r() * 40000));
    const kind = Math.floor(r() * 4);
    const piece = kind === 0 ? random(len, seed + i) : kind === 1 ? texty(len, seed + i) : kind === 2 ? runs(len, seed + i) : periodic(len, 1 + Math.floor(r() * 300), seed + i);
    out.set(piece, i);
    i += len;
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

function hex(b: Uint8Array, at: number): string {
  return Buffer.from(b.subarray(Math.max(0, at - 4), at + 8)).toString('hex');
}

/** Kernel and reference agree on window[history..] and the output inflates back. */
function check(window: Uint8Array, history: number, level: number, last: boolean, name: string, stats?: DeflateRefStats): Uint8Array {
  const k = deflateChunk(window, history, level, last);
  const r = deflateChunkRef(window, history, level, last, stats);
  if (!Buffer.from(k).equals(Buffer.from(r))) {
    let at = 0;
    while (at < k.length && k[at] === r[at]) at++;
    expect.fail(`${name}, history ${history}, level ${level}, last ${last}: kernel ${k.length} bytes, ref ${r.length}, first difference at ${at} (kernel ${hex(k, at)}, ref ${hex(r, at)})`);
  }
  const inflated = zlib.inflateRawSync(k, {
    dictionary: history > 0 ? window.subarray(0, history) : undefined,
    finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
  });
  expect(Buffer.compare(inflated, window.subarray(history)), `${name}: inflates back`).toBe(0);
  if (!last) expect([...k.subarray(-4)], `${name}: ends with a sync flush`).toEqual([0, 0, 0xff, 0xff]);
  return k;
}

const LEVELS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

describe('deflate kernel = reference (src/ref/deflate.ts)', () => {
  it('tiny inputs: empty, 1..8 bytes, at every level, last or not', () => {
    const inputs = [new Uint8Array(0), ...Array.from({ length: 8 }, (_, n) => random(n + 1, n + 1)), Uint8Array.of(0, 0, 0), Uint8Array.of(7, 7, 7, 7, 7, 7)];
    for (const data of inputs) for (const level of LEVELS) for (const last of [true, false]) check(data, 0, level, last, `${data.length} bytes`);
  });

  it('periodic patterns with periods 1..300', () => {
    for (let period = 1; period <= 300; period++) {
      const data = periodic(1000 + period * 7, period, period);
      check(data, 0, LEVELS[period % 10]!, period % 3 !== 0, `period ${period}`);
    }
    for (const period of [1, 2, 3, 4, 5, 7, 64, 255, 256, 257, 258, 259, 300]) {
      for (const level of LEVELS) check(periodic(5000, period, period + 1000), 0, level, true, `period ${period}`);
    }
  });

  it('runs, text, random and mixed inputs at every level', () => {
    const inputs: [string, Uint8Array][] = [
      ['zeros', new Uint8Array(70_000)],
      ['runs', runs(60_000, 1)],
      ['text', texty(50_000, 2)],
      ['random', random(20_000, 3)],
      ['mixed', mixed(150_000, 4)],
    ];
    for (const [name, data] of inputs) for (const level of LEVELS) check(data, 0, level, level % 2 === 0, name);
  });

  it('inputs that cross the 16384-symbol block boundary (random: literal blocks; text: many blocks)', () => {
    // random bytes are all literals: a block ends every 16383 symbols, each one stored
    check(random(16383 * 3 + 5, 6), 0, 6, true, 'random 3 blocks');
    for (const level of [1, 4, 6, 9]) {
      check(texty(300_000, 7), 0, level, true, 'text 300 kB');
      check(mixed(200_000, 8), 0, level, false, 'mixed 200 kB');
    }
    // around the boundary: lengths near 16383 literals
    for (const n of [16381, 16382, 16383, 16384, 16385, 32766, 32767]) {
      for (const level of [1, 5, 9]) check(random(n, n), 0, level, true, `random ${n}`);
    }
  });

  it('histories of 0..32768 bytes, matches reaching into them', () => {
    const r = rng(9);
    for (const history of [0, 1, 2, 3, 4, 257, 4095, 4096, 4097, 20000, 32767, 32768]) {
      const base = texty(history + 40_000, history + 1);
      // the chunk repeats pieces of the history, so matches reach back into it
      const chunk = base.slice(history);
      for (let i = 0; i + 300 < chunk.length && history > 300; i += 997) {
        const from = Math.floor(r() * (history - 300));
        chunk.set(base.subarray(from, from + 300), i);
      }
      const window = concat([base.subarray(0, history), chunk]);
      for (const level of LEVELS) check(window, history, level, level % 3 === 0, `history ${history}`);
    }
    // history with a short chunk, and with an empty one
    for (const level of LEVELS) {
      check(periodic(32768 + 10, 100, 1), 32768, level, false, 'history, 10-byte chunk');
      check(texty(32768, 2), 32768, level, false, 'history, empty chunk');
      check(texty(32770, 2), 32768, level, true, 'history, 2-byte chunk');
    }
  });

  it('random small inputs over small alphabets (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 9 }),
        fc.boolean(),
        fc.nat(),
        (bytes, alphabet, level, last, h) => {
          const data = bytes.map((b) => b % alphabet);
          const history = data.length === 0 ? 0 : h % Math.min(data.length + 1, 32769);
          check(data, history, level, last, 'property');
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });

  it('chunked streams (32 KiB history, sync flushes) equal the kernel and inflate as one stream', () => {
    const data = concat([texty(400_000, 10), random(50_000, 11), mixed(300_000, 12), runs(100_000, 13)]);
    for (const [chunkSize, level] of [[131072, 6], [50_000, 1], [70_001, 9], [200_000, 0], [131072, 4]] as const) {
      const parts: Uint8Array[] = [];
      for (let off = 0; off === 0 || off < data.length; off += chunkSize) {
        const history = Math.min(off, 32768);
        const end = Math.min(data.length, off + chunkSize);
        parts.push(check(data.subarray(off - history, end), history, level, end === data.length, `chunk at ${off}`));
      }
      const stream = concat(parts);
      expect(Buffer.compare(zlib.inflateRawSync(stream), data), `chunks of ${chunkSize} at level ${level}`).toBe(0);
    }
  });
});

describe('the agreement inputs reach every path of the encoder', () => {
  const stats = (data: Uint8Array, level = 6): DeflateRefStats => {
    const st: DeflateRefStats = { stored: 0, fixed: 0, dynamic: 0, lengthLimited: 0 };
    check(data, 0, level, true, 'coverage', st);
    return st;
  };
  it('random data: stored blocks (a block ends after 16383 symbols)', () => {
    expect(stats(random(16383 * 3 + 5, 6))).toEqual({ stored: 3, fixed: 0, dynamic: 0, lengthLimited: 0 });
  });
  it('short text and runs: fixed blocks', () => {
    expect(stats(new TextEncoder().encode('hello, hello, hello world'))).toMatchObject({ stored: 0, fixed: 1, dynamic: 0 });
    expect(stats(new Uint8Array(300))).toMatchObject({ stored: 0, fixed: 1, dynamic: 0 });
  });
  it('ties go to stored (over fixed and over dynamic)', () => {
    // n distinct bytes >= 144, no matches: fixed = 3 + 9n + 7 bits, stored = 42 + 8n: equal at n = 32
    const bytes = (n: number, step: number) => Uint8Array.from({ length: n }, (_, i) => 144 + i * step);
    expect(stats(bytes(31, 2))).toMatchObject({ stored: 0, fixed: 1, dynamic: 0 });
    expect(stats(bytes(32, 2))).toMatchObject({ stored: 1, fixed: 0, dynamic: 0 });
    expect(stats(bytes(33, 2))).toMatchObject({ stored: 1, fixed: 0, dynamic: 0 });
    // consecutive bytes make a cheap dynamic header: 31 bytes go dynamic, 33 tie at 306 bits
    expect(stats(bytes(31, 1))).toMatchObject({ stored: 0, fixed: 0, dynamic: 1 });
    expect(stats(bytes(33, 1))).toMatchObject({ stored: 1, fixed: 0, dynamic: 0 });
    // found by search: fixed and dynamic both 235 bits (stored 242)
    expect(stats(Buffer.from('c2c8c1c8bdbec1c5c0c6c9ccc2bdbec5c7bdc0bdc9c9c5bfcc', 'hex'))).toMatchObject({ stored: 0, fixed: 1, dynamic: 0 });
  });
  it('long text: dynamic blocks; mixed data: stored and dynamic blocks in one chunk', () => {
    expect(stats(texty(50_000, 2))).toMatchObject({ stored: 0, fixed: 0, dynamic: 1 });
    const m = stats(mixed(400_000, 4), 1);
    expect(m.stored).toBeGreaterThan(0);
    expect(m.dynamic).toBeGreaterThan(0);
  });
  it('a few literals then long repeats (period 172): a tree over its length limit is rebuilt with halved frequencies', () => {
    for (const level of [1, 6, 9]) expect(stats(periodic(1000 + 172 * 7, 172, 172), level).lengthLimited, `level ${level}`).toBeGreaterThan(0);
  });
});

describe('buildLengths (reference)', () => {
  it('limits code lengths and keeps the code complete', () => {
    const fib = [1, 1];
    while (fib.length < 30) fib.push(fib.at(-1)! + fib.at(-2)!);
    for (const [freq, maxBits] of [[fib, 15], [fib.slice(0, 19), 7], [[5, 0, 0, 3], 15], [[0, 0, 9], 15], [new Array(30).fill(0), 15]] as const) {
      const lens = buildLengths(freq, maxBits);
      expect(Math.max(...lens)).toBeLessThanOrEqual(maxBits);
      const kraft = lens.reduce((a, l) => a + (l > 0 ? 2 ** -l : 0), 0);
      expect(kraft).toBe(1);
      for (let i = 0; i < freq.length; i++) if (freq[i]! > 0) expect(lens[i]).toBeGreaterThan(0);
    }
  });
});
