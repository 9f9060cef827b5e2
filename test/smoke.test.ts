// The smoke cases that Deno and Chromium also run (test/deno, test/browser) compare against
// test/smoke/expected.json. Here, under Node, every expected value is checked against an
// independent implementation, so the three runtimes agree with the outside world, not just each other.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import * as lib from '../src/index.node.ts';
import { chunkBoundariesRef } from '../src/ref/cdc.ts';
// @ts-expect-error plain JS module shared with Deno and the browser
import { runSmoke, runSmokeAsync, gzipSmokeInputs, pseudoRandom } from './smoke/cases.js';
import { gunzipSync } from 'node:zlib';
import expected from './smoke/expected.json' with { type: 'json' };

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251);
const want = expected as Record<string, string>;

describe('runtime smoke vectors', () => {
  it('Node computes exactly expected.json', async () => {
    expect({ ...runSmoke(lib), ...(await runSmokeAsync(lib)) }).toEqual(want);
  });

  it('the gzip vectors are valid gzip of their inputs (zlib gives the inputs back)', async () => {
    let checked = 0;
    for (const [name, data] of Object.entries(gzipSmokeInputs() as Record<string, Uint8Array>)) {
      for (const level of [1, 6, 9]) {
        const gz = await lib.gzip(data, { level });
        expect(createHash('sha256').update(gz).digest('hex')).toBe(want[`gzip/${name}/${level}`]);
        expect(Buffer.compare(gunzipSync(gz), Buffer.from(data))).toBe(0);
        checked++;
      }
    }
    expect(checked).toBe(12);
  });

  it('expected.json agrees with node:crypto and @noble/hashes', () => {
    let checked = 0;
    for (const [k, v] of Object.entries(want)) {
      const [kind, arg] = k.split('/');
      if (kind === 'blake3' || kind === 'blake3-split') {
        expect(v, k).toBe(hex(nobleBlake3(pattern(Number(arg)))));
        checked++;
      } else if (kind === 'sha256-wasm') {
        expect(v, k).toBe(createHash('sha256').update(pattern(Number(arg))).digest('hex'));
        checked++;
      }
    }
    expect(want['blake3-xof/131']).toBe(hex(nobleBlake3(pattern(4097), { dkLen: 131 })));
    const rnd: Uint8Array = pseudoRandom(3 << 20);
    expect(want['cdc/3MiB-default']).toBe(chunkBoundariesRef(rnd).join(','));
    expect(want['cdc/3MiB-small']).toBe(chunkBoundariesRef(rnd, { minSize: 1024, avgSize: 4096, maxSize: 16384 }).join(','));
    expect(want['content/blake3']).toBe(hex(nobleBlake3(rnd)));
    expect(want['content/sha256']).toBe(createHash('sha256').update(rnd).digest('hex'));
    let start = 0;
    const chunks = chunkBoundariesRef(rnd).map((end: number) => {
      const s = `${start}+${end - start}:${hex(nobleBlake3(rnd.subarray(start, end)))}`;
      start = end;
      return s;
    });
    expect(want['content/chunks']).toBe(chunks.join(','));
    expect(checked).toBe(24);
  });
});
