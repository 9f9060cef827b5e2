import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { chunkBoundaries, createChunker, DEFAULT_CDC, type CdcOptions } from '../src/wasm/cdc.ts';
import { cdcMask, chunkBoundariesRef, gearTable, RefChunker, splitmix64, GEAR_SEED } from '../src/ref/cdc.ts';
import { kernels } from '../src/wasm/loader.ts';

/** xorshift32 bytes, as described in test/vectors/cdc.json. */
function xorshiftBytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    for (let k = 0; k < 4 && i + k < n; k++) out[i + k] = (x >>> (8 * k)) & 255;
  }
  return out;
}

function pushInPieces(data: Uint8Array, splits: number[], opts?: CdcOptions): number[] {
  const c = createChunker(opts);
  const out: number[] = [];
  let prev = 0;
  for (const s of [...splits].sort((a, b) => a - b)) {
    out.push(...c.push(data.subarray(prev, s)));
    prev = s;
  }
  out.push(...c.push(data.subarray(prev)));
  out.push(...c.finish());
  return out;
}

function lengths(cuts: number[]): number[] {
  return cuts.map((c, i) => c - (i === 0 ? 0 : cuts[i - 1]));
}

function expectCode(f: () => unknown, code: string): void {
  expect(f).toThrow(expect.objectContaining({ code }));
}

const SMALL = { minSize: 64, avgSize: 256, maxSize: 1024 };
const MID = { minSize: 1024, avgSize: 4096, maxSize: 16384 };

interface VectorCase {
  name: string;
  input: { kind: 'xorshift32' | 'zeros'; seed?: number; length: number };
  params: Required<CdcOptions>;
  boundaries: number[];
}

describe('gear table and masks', () => {
  it('splitmix64 matches the published sequence (seed 0)', () => {
    const g = splitmix64(0n);
    expect([g.next().value, g.next().value, g.next().value]).toEqual([
      0xE220A8397B1DCDAFn, 0x6E789E6AA1B965F4n, 0x06C45D188009454Fn,
    ]);
  });

  it('the table is splitmix64 of "layerkit", 256 distinct values with balanced bits', () => {
    expect(GEAR_SEED).toBe(BigInt('0x' + Buffer.from('layerkit').toString('hex')));
    const t = gearTable();
    expect(t[0]).toBe(0x17E1D68A9DD3A97Bn); // also the first entry of assembly/cdc.ts
    expect(t[255]).toBe(gearTable()[255]);
    expect(new Set(t).size).toBe(256);
    for (let bit = 0n; bit < 64n; bit++) {
      let ones = 0;
      for (const g of t) ones += Number((g >> bit) & 1n);
      expect(ones).toBeGreaterThan(96);
      expect(ones).toBeLessThan(160);
    }
  });

  it('masks have the asked number of bits, all within bits 13..60', () => {
    for (let bits = 6; bits <= 28; bits++) {
      const m = cdcMask(bits);
      expect(m.toString(2).replace(/0/g, '').length).toBe(bits);
      expect(m >> 61n).toBe(0n);
      expect(m & ((1n << 13n) - 1n)).toBe(0n);
    }
  });
});

describe('frozen vectors', () => {
  const doc = JSON.parse(readFileSync(new URL('./vectors/cdc.json', import.meta.url), 'utf8')) as { cases: VectorCase[] };
  for (const c of doc.cases) {
    it(c.name, () => {
      const data = c.input.kind === 'zeros' ? new Uint8Array(c.input.length) : xorshiftBytes(c.input.seed!, c.input.length);
      expect(chunkBoundaries(data, c.params)).toEqual(c.boundaries);
      expect(chunkBoundariesRef(data, c.params)).toEqual(c.boundaries);
    });
  }
  it('covers the default parameters', () => {
    expect(doc.cases.some((c) => c.params.avgSize === DEFAULT_CDC.avgSize && c.params.minSize === DEFAULT_CDC.minSize
      && c.params.maxSize === DEFAULT_CDC.maxSize && c.input.length >= 8 << 20)).toBe(true);
  });
});

describe('streaming == one-shot == reference', () => {
  it('random data, random split points, random parameters', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 0xFFFFFFFF }),
      fc.integer({ min: 0, max: 300_000 }),
      fc.constantFrom(SMALL, MID, { minSize: 100, avgSize: 1024, maxSize: 1500 }, { minSize: 2000, avgSize: 8192, maxSize: 65536 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
      (seed, n, opts, fracs) => {
        const data = xorshiftBytes(seed, n);
        const ref = chunkBoundariesRef(data, opts);
        expect(chunkBoundaries(data, opts)).toEqual(ref);
        expect(pushInPieces(data, fracs.map((f) => Math.floor(f * n)), opts)).toEqual(ref);
      },
    ), { numRuns: 40, endOnFailure: true });
  });

  it('default parameters on MBs of data, split anywhere', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 0xFFFFFFFF }),
      fc.array(fc.integer({ min: 0, max: 3 << 20 }), { maxLength: 8 }),
      (seed, splits) => {
        const data = xorshiftBytes(seed, 3 << 20);
        const ref = chunkBoundariesRef(data);
        expect(ref.length).toBeGreaterThan(20);
        expect(chunkBoundaries(data)).toEqual(ref);
        expect(pushInPieces(data, splits)).toEqual(ref);
      },
    ), { numRuns: 5, endOnFailure: true });
  });

  it('the streaming reference agrees with itself across splits', () => {
    const data = xorshiftBytes(77, 200_000);
    const r = new RefChunker(SMALL);
    const out: number[] = [];
    for (let i = 0; i < data.length; i += 999) out.push(...r.push(data.subarray(i, i + 999)));
    out.push(...r.finish());
    expect(out).toEqual(chunkBoundariesRef(data, SMALL));
  });

  it('tiny pieces of 1..7 bytes across many boundaries', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 0xFFFFFFFF }), (seed) => {
      const data = xorshiftBytes(seed, 40_000);
      const c = createChunker(SMALL);
      const out: number[] = [];
      let x = seed;
      for (let i = 0; i < data.length;) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const step = 1 + ((x >>> 16) % 7);
        out.push(...c.push(data.subarray(i, i + step)));
        i += step;
      }
      out.push(...c.finish());
      const ref = chunkBoundariesRef(data, SMALL);
      expect(ref.length).toBeGreaterThan(50);
      expect(out).toEqual(ref);
    }), { numRuns: 10, endOnFailure: true });
  });

  it('pushAt reads bytes already in kernel memory', () => {
    const data = xorshiftBytes(5, 1 << 20);
    const k = kernels();
    const p = k.alloc(data.length);
    try {
      k.view(p, data.length).set(data);
      const c = createChunker(MID);
      const out = [...c.pushAt(p, 300_001), ...c.pushAt(p + 300_001, data.length - 300_001), ...c.finish()];
      expect(out).toEqual(chunkBoundariesRef(data, MID));
    } finally {
      k.free(p);
    }
  });

  it('two chunkers interleaved keep separate state', () => {
    const a = xorshiftBytes(1, 100_000);
    const b = xorshiftBytes(2, 100_000);
    const ca = createChunker(SMALL);
    const cb = createChunker(MID);
    const oa: number[] = [];
    const ob: number[] = [];
    for (let i = 0; i < 100_000; i += 7_000) {
      oa.push(...ca.push(a.subarray(i, i + 7_000)));
      ob.push(...cb.push(b.subarray(i, i + 7_000)));
    }
    oa.push(...ca.finish());
    ob.push(...cb.finish());
    expect(oa).toEqual(chunkBoundariesRef(a, SMALL));
    expect(ob).toEqual(chunkBoundariesRef(b, MID));
  });
});

describe('more cuts than the kernel has slots', () => {
  it('the wrapper resumes after a full cuts buffer (4 MiB slice, ~14k cuts)', () => {
    const data = xorshiftBytes(9, 4 << 20);
    const k = kernels();
    const p = k.alloc(data.length);
    try {
      k.view(p, data.length).set(data);
      const c = createChunker(SMALL);
      const out = [...c.pushAt(p, data.length), ...c.finish()];
      expect(out.length).toBeGreaterThan(4096 * 2);
      expect(out).toEqual(chunkBoundariesRef(data, SMALL));
    } finally {
      k.free(p);
    }
  });

  it('the kernel stops right after cutsCap cuts and resumes exactly (caps 1..5)', () => {
    const data = xorshiftBytes(11, 50_000);
    const ref = chunkBoundariesRef(data, SMALL);
    const k = kernels();
    const init = k.fn<(ctx: number, a: number, b: number, c: number) => void>('cdc_init');
    const scan = k.fn<(ctx: number, p: number, n: number, out: number, cap: number) => number>('cdc_scan');
    const ctx = k.alloc(k.fn<() => number>('cdc_ctx_size')());
    const cuts = k.alloc(64);
    const p = k.alloc(data.length);
    try {
      k.view(p, data.length).set(data);
      for (let cap = 1; cap <= 5; cap++) {
        init(ctx, SMALL.minSize, SMALL.avgSize, SMALL.maxSize);
        const got: number[] = [];
        let off = 0;
        let calls = 0;
        for (;;) {
          const n = scan(ctx, p + off, data.length - off, cuts, cap);
          calls++;
          expect(n).toBeLessThanOrEqual(cap);
          const v = new Uint32Array(k.memory.buffer, cuts, n);
          for (const x of v) got.push(off + x);
          if (n < cap) break;
          off += v[n - 1];
        }
        expect(calls).toBeGreaterThan(ref.length / cap - 1);
        expect([...got, data.length]).toEqual(ref);
      }
      expect(scan(ctx, p, data.length, cuts, 0)).toBe(0);
    } finally {
      k.free(p);
      k.free(cuts);
      k.free(ctx);
    }
  });
});

describe('chunk sizes', () => {
  it('every chunk but the last is within [min, max]; the last within [1, max]', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 0xFFFFFFFF }),
      fc.constantFrom(SMALL, MID, { minSize: 1000, avgSize: 4096, maxSize: 5000 }),
      (seed, opts) => {
        const cuts = chunkBoundaries(xorshiftBytes(seed, 400_000), opts);
        const ls = lengths(cuts);
        for (const l of ls.slice(0, -1)) {
          expect(l).toBeGreaterThan(opts.minSize);
          expect(l).toBeLessThanOrEqual(opts.maxSize);
        }
        expect(ls[ls.length - 1]).toBeGreaterThan(0);
        expect(ls[ls.length - 1]).toBeLessThanOrEqual(opts.maxSize);
        expect(cuts[cuts.length - 1]).toBe(400_000);
      },
    ), { numRuns: 20, endOnFailure: true });
  });

  it('low-entropy input is cut at max', () => {
    const cuts = chunkBoundaries(new Uint8Array(1_000_000), MID);
    expect(lengths(cuts).slice(0, -1).every((l) => l === MID.maxSize)).toBe(true);
  });

  it('average chunk size is near avg on random data', () => {
    const data = xorshiftBytes(3, 16 << 20);
    for (const opts of [DEFAULT_CDC, { minSize: 2048, avgSize: 8192, maxSize: 32768 }, MID]) {
      const cuts = chunkBoundaries(data, opts);
      const mean = data.length / cuts.length;
      expect(mean).toBeGreaterThan(opts.avgSize * 0.75);
      expect(mean).toBeLessThan(opts.avgSize * 1.5);
    }
  });

  it('empty input has no chunks; a short input is one chunk', () => {
    expect(chunkBoundaries(new Uint8Array(0))).toEqual([]);
    expect(chunkBoundaries(new Uint8Array(10))).toEqual([10]);
    const c = createChunker();
    expect(c.push(new Uint8Array(0))).toEqual([]);
    expect(c.finish()).toEqual([]);
  });

  it('a chunk ending exactly at the end of input gives no extra final cut', () => {
    const c = createChunker(MID);
    expect(c.push(new Uint8Array(MID.maxSize))).toEqual([MID.maxSize]);
    expect(c.finish()).toEqual([]);
  });
});

describe('shift resistance', () => {
  for (const opts of [DEFAULT_CDC, { minSize: 2048, avgSize: 8192, maxSize: 32768 }]) {
    it(`inserting bytes near the start keeps later boundaries (avg ${opts.avgSize})`, () => {
      fc.assert(fc.property(
        fc.integer({ min: 1, max: 0xFFFFFFFF }),
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 1, max: 500 }),
        (seed, at, count) => {
          const base = xorshiftBytes(seed, 4 << 20);
          const ins = xorshiftBytes(seed ^ 0x5555, count);
          const edited = new Uint8Array(base.length + count);
          edited.set(base.subarray(0, at));
          edited.set(ins, at);
          edited.set(base.subarray(at), at + count);
          const a = chunkBoundaries(base, opts);
          const b = new Set(chunkBoundaries(edited, opts));
          // Boundaries two max-sizes past the edit must reappear, shifted by `count`.
          const later = a.filter((x) => x > at + 2 * opts.maxSize);
          const kept = later.filter((x) => b.has(x + count)).length;
          expect(later.length).toBeGreaterThan(5);
          expect(kept / later.length).toBeGreaterThan(0.95);
        },
      ), { numRuns: 4, endOnFailure: true });
    });
  }
});

describe('errors', () => {
  it('bad parameters', () => {
    const range: CdcOptions[] = [
      { avgSize: 1000 }, // not a power of two
      { avgSize: 128 },
      { avgSize: 2 ** 27 },
      { minSize: 32 },
      { minSize: 65536 }, // == avg
      { minSize: 100_000 },
      { maxSize: 65536 }, // == avg
      { maxSize: 1024 },
      { maxSize: 2 ** 28 + 1 },
      { avgSize: 256, minSize: 63 },
      { minSize: -1 },
    ];
    for (const o of range) {
      expectCode(() => createChunker(o), 'ERR_OUT_OF_RANGE');
      expectCode(() => chunkBoundaries(new Uint8Array(1), o), 'ERR_OUT_OF_RANGE');
      expectCode(() => chunkBoundariesRef(new Uint8Array(1), o), 'ERR_OUT_OF_RANGE');
    }
    for (const o of [{ avgSize: 4096.5 }, { minSize: '1024' }, { maxSize: NaN }, { avgSize: Infinity }]) {
      expectCode(() => createChunker(o as unknown as CdcOptions), 'ERR_INVALID_ARG');
    }
    expectCode(() => createChunker(null as unknown as CdcOptions), 'ERR_INVALID_ARG');
    expectCode(() => createChunker(7 as unknown as CdcOptions), 'ERR_INVALID_ARG');
  });

  it('defaults: avg alone implies min = avg/4, max = avg*4', () => {
    expect(createChunker({ avgSize: 1024 }).params).toEqual({ minSize: 256, avgSize: 1024, maxSize: 4096 });
    expect(createChunker().params).toEqual(DEFAULT_CDC);
    expect(createChunker({ avgSize: 64 << 20 }).params.maxSize).toBe(256 << 20);
  });

  it('bad input', () => {
    const c = createChunker();
    for (const bad of ['abc', 12, null, undefined, [1, 2]]) {
      expectCode(() => c.push(bad as unknown as Uint8Array), 'ERR_INVALID_ARG');
      expectCode(() => chunkBoundaries(bad as unknown as Uint8Array), 'ERR_INVALID_ARG');
    }
    const ab = new ArrayBuffer(8);
    const view = new Uint8Array(ab);
    structuredClone(ab, { transfer: [ab] });
    expectCode(() => c.push(view), 'ERR_DETACHED_BUFFER');
    expectCode(() => c.pushAt(-1, 10), 'ERR_OUT_OF_RANGE');
    expectCode(() => c.pushAt(0, kernels().memory.buffer.byteLength + 1), 'ERR_OUT_OF_RANGE');
    expectCode(() => c.pushAt(1.5, 1), 'ERR_INVALID_ARG');
    // other views are taken as their bytes
    const bytes = xorshiftBytes(4, 100_000);
    expect(chunkBoundaries(new Uint32Array(bytes.buffer), SMALL)).toEqual(chunkBoundariesRef(bytes, SMALL));
    expect(chunkBoundaries(bytes.buffer, SMALL)).toEqual(chunkBoundariesRef(bytes, SMALL));
    c.dispose();
  });

  it('use after finish or dispose', () => {
    const c = createChunker();
    c.push(new Uint8Array(10));
    expect(c.finish()).toEqual([10]);
    expectCode(() => c.push(new Uint8Array(1)), 'ERR_USED_AFTER_FINISH');
    expectCode(() => c.pushAt(0, 0), 'ERR_USED_AFTER_FINISH');
    expectCode(() => c.finish(), 'ERR_USED_AFTER_FINISH');
    c.dispose(); // idempotent
    const d = createChunker();
    d.dispose();
    d.dispose();
    expectCode(() => d.push(new Uint8Array(1)), 'ERR_USED_AFTER_FINISH');
    expectCode(() => d.finish(), 'ERR_USED_AFTER_FINISH');
    const r = new RefChunker();
    r.finish();
    expectCode(() => r.push(new Uint8Array(1)), 'ERR_USED_AFTER_FINISH');
  });
});

describe('large offsets', () => {
  it('offsets past 4 GiB stay exact (zeros: a cut every max bytes)', () => {
    const opts = { minSize: 1 << 20, avgSize: 4 << 20, maxSize: 16 << 20 };
    const region = 64 << 20;
    const k = kernels();
    const p = k.alloc(region);
    try {
      k.view(p, region).fill(0);
      const c = createChunker(opts);
      const out: number[] = [];
      const rounds = 65; // 4.06 GiB
      for (let i = 0; i < rounds; i++) out.push(...c.pushAt(p, region));
      out.push(...c.pushAt(p, 5));
      out.push(...c.finish());
      const total = rounds * region + 5;
      expect(total).toBeGreaterThan(2 ** 32);
      expect(out.length).toBe(rounds * 4 + 1);
      out.slice(0, -1).forEach((x, i) => expect(x).toBe((i + 1) * opts.maxSize));
      expect(out[out.length - 1]).toBe(total);
    } finally {
      k.free(p);
    }
  });
});
