import { describe, it, expect } from 'vitest';
import zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gzipStream, GZIP_CHUNK, inlineDeflatePool, type DeflatePool } from '../../src/oci/gzip.ts';
import { crc32, deflateChunk } from '../../src/wasm/deflate.ts';
import { crc32Ref } from '../../src/ref/crc32.ts';

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

/** Text-like data with repeats at all distances (compressible, like a tar of a rootfs). */
function texty(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const words = Array.from({ length: 300 }, (_, i) => `w${i.toString(36)}${'xyz'.slice(0, i % 4)}`);
  let s = '';
  while (s.length < n) s += words[Math.floor(r() ** 2 * words.length)] + (r() < 0.1 ? '\n' : ' ');
  return new TextEncoder().encode(s.slice(0, n));
}

function random(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

async function gzip(data: Uint8Array, level?: number, split = [data.length], pool?: DeflatePool): Promise<Buffer> {
  async function* pieces() {
    let off = 0;
    for (const n of split) {
      yield data.subarray(off, off + n);
      off += n;
    }
    yield data.subarray(off);
  }
  const out: Uint8Array[] = [];
  for await (const c of gzipStream(pieces(), level, pool)) out.push(c);
  return Buffer.concat(out);
}

const CASES: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['one byte', Uint8Array.of(42)],
  ['one chunk exactly', texty(GZIP_CHUNK, 1)],
  ['one chunk + 1', texty(GZIP_CHUNK + 1, 2)],
  ['three chunks of text', texty(3 * GZIP_CHUNK + 777, 3)],
  ['random (incompressible)', random(GZIP_CHUNK + 5000, 4)],
  ['zeros (long matches)', new Uint8Array(300_000)],
  ['period-3 pattern', Uint8Array.from({ length: 200_000 }, (_, i) => 'abc'.charCodeAt(i % 3))],
];

describe('gzipStream (deflate kernel)', () => {
  for (const [name, data] of CASES) {
    it(`${name}: zlib and gzip(1) decompress it back, at every level`, async () => {
      for (const level of [0, 1, 3, 4, 6, 9]) {
        const gz = await gzip(data, level);
        expect(Buffer.compare(zlib.gunzipSync(gz), Buffer.from(data)), `level ${level}`).toBe(0);
        const r = spawnSync('gzip', ['-dc'], { input: gz, maxBuffer: 1 << 28 });
        expect(r.status, r.stderr?.toString()).toBe(0);
        expect(Buffer.compare(r.stdout, Buffer.from(data)), `gzip -dc, level ${level}`).toBe(0);
      }
    });
  }

  it('the header is fixed (MTIME 0, OS 255) and the trailer holds CRC-32 and size', async () => {
    const data = texty(5000, 9);
    const gz = await gzip(data);
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    expect(gz.readUInt32LE(gz.length - 8)).toBe(zlib.crc32(data));
    expect(gz.readUInt32LE(gz.length - 4)).toBe(5000);
    expect((await gzip(data, 9))[8]).toBe(2);
    expect((await gzip(data, 1))[8]).toBe(4);
  });

  it('the bytes do not depend on how the input is split into reads', async () => {
    const data = texty(3 * GZIP_CHUNK + 12345, 5);
    const whole = await gzip(data);
    const r = rng(77);
    for (let t = 0; t < 5; t++) {
      const split: number[] = [];
      let left = data.length;
      while (left > 0) {
        const n = Math.min(left, Math.floor(r() * 70000));
        split.push(n);
        left -= n;
      }
      expect((await gzip(data, 6, split)).equals(whole)).toBe(true);
    }
  });

  it('the bytes do not depend on the pool (out-of-order completion keeps the order)', async () => {
    const data = texty(5 * GZIP_CHUNK, 6);
    const whole = await gzip(data);
    // a pool that completes jobs in reverse order of submission, several in flight
    const queue: (() => void)[] = [];
    const shuffled: DeflatePool = {
      parallelism: 3,
      deflate(window, h, level, last) {
        return new Promise((resolve) => {
          queue.push(() => resolve(deflateChunk(window, h, level, last)));
          setTimeout(() => queue.pop()?.(), 1);
        });
      },
    };
    expect((await gzip(data, 6, [data.length], shuffled)).equals(whole)).toBe(true);
    expect((await gzip(data, 6, [data.length], inlineDeflatePool)).equals(whole)).toBe(true);
  });

  it('compresses like zlib at the same level (lazy levels within 3%, greedy within 6%)', async () => {
    const data = texty(4 * GZIP_CHUNK, 8);
    for (const [level, within] of [[6, 1.03], [9, 1.03], [4, 1.03], [1, 1.06]] as const) {
      const ours = (await gzip(data, level)).length;
      const z = zlib.gzipSync(data, { level }).length;
      expect(ours / z, `level ${level}: ${ours} vs ${z}`).toBeLessThan(within);
    }
    // incompressible data costs only the stored-block framing
    const rnd = random(3 * GZIP_CHUNK, 10);
    expect((await gzip(rnd)).length).toBeLessThan(rnd.length + 200);
  });

  it('frozen output: a change to the encoder that changes bytes must be deliberate', async () => {
    // If this fails, every layer digest layerkit writes changes: bump it only on purpose.
    const gz = await gzip(texty(2 * GZIP_CHUNK + 999, 11));
    expect(createHash('sha256').update(gz).digest('hex'), 'frozen gzip output').toBe(FROZEN);
  });

  it('the workers of the Node pool (from dist/) give the same bytes as the inline kernel', async () => {
    const { createNodeDeflatePool } = await import(join(import.meta.dirname, '../../dist/platform/deflate-pool-node.js'));
    const pool: DeflatePool = createNodeDeflatePool(2);
    expect(pool.parallelism).toBe(2);
    try {
      const data = texty(6 * GZIP_CHUNK + 3, 12);
      expect((await gzip(data, 6, [data.length], pool)).equals(await gzip(data))).toBe(true);
    } finally {
      pool.close?.();
    }
  });
});

describe('crc32 kernel', () => {
  it('agrees with the bitwise reference and node:zlib on random inputs and splits', () => {
    const r = rng(3);
    for (let t = 0; t < 20; t++) {
      const data = random(Math.floor(r() * 5000), t + 100);
      const cut = Math.floor(r() * data.length);
      const k = crc32(crc32(0, data.subarray(0, cut)), data.subarray(cut));
      expect(k).toBe(crc32Ref(0, data));
      expect(k).toBe(zlib.crc32(data));
    }
    expect(crc32(0, new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});

const FROZEN = '08c552fb91312960809068df66eadca93ad00281530b1eb471745a6a247a670e';
