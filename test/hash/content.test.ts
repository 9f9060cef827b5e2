// Content hashing (bytes, streams, files through FsLike): one pass gives BLAKE3, SHA-256 and the
// chunk list, equal to independent implementations whatever the read sizes.
import { describe, expect, it, beforeAll } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import '../../src/platform/node.ts';
import { ContentHasher, hashBytes, hashStream } from '../../src/hash/content.ts';
import { hashFile } from '../../src/hash/file.ts';
import { nodeFs } from '../../src/fs/node.ts';
import { MemoryFs } from '../../src/fs/memory.ts';
import { chunkBoundariesRef } from '../../src/ref/cdc.ts';
import { setSha256Engine, wasmSha256Engine, sha256Engine } from '../../src/hash/engines.ts';
import { nodeSha256Engine } from '../../src/platform/node.ts';

const hex = (b: Uint8Array | undefined) => Buffer.from(b!).toString('hex');

function data(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 255;
  }
  return out;
}

function expectedChunks(d: Uint8Array, opts?: { minSize: number; avgSize: number; maxSize: number }) {
  let start = 0;
  return chunkBoundariesRef(d, opts).map((end: number) => {
    const c = { offset: start, length: end - start, blake3: hex(nobleBlake3(d.subarray(start, end))) };
    start = end;
    return c;
  });
}

const asHex = (chunks: { offset: number; length: number; blake3: Uint8Array }[] | undefined) =>
  chunks!.map((c) => ({ offset: c.offset, length: c.length, blake3: hex(c.blake3) }));

const big = data(5_000_003, 9);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'layerkit-hash-'));
  writeFileSync(join(dir, 'big'), big);
  writeFileSync(join(dir, 'empty'), new Uint8Array(0));
});

describe('hashBytes / ContentHasher', () => {
  it('gives BLAKE3, SHA-256 and chunks equal to independent implementations', () => {
    const r = hashBytes(big, { sha256: true, chunks: true });
    expect(r.size).toBe(big.length);
    expect(hex(r.blake3)).toBe(hex(nobleBlake3(big)));
    expect(hex(r.sha256)).toBe(createHash('sha256').update(big).digest('hex'));
    expect(asHex(r.chunks)).toEqual(expectedChunks(big));
  });

  it('does not depend on how the input is split', () => {
    const opts = { minSize: 1024, avgSize: 4096, maxSize: 16384 };
    const want = hashBytes(big.subarray(0, 300_000), { sha256: true, chunks: opts });
    for (const piece of [1, 7, 4096, 65_537]) {
      const h = new ContentHasher({ sha256: true, chunks: opts });
      const d = big.subarray(0, 300_000);
      for (let i = 0; i < d.length; i += piece) h.update(d.subarray(i, i + piece));
      expect(h.finish()).toEqual(want);
    }
    expect(asHex(want.chunks)).toEqual(expectedChunks(big.subarray(0, 300_000), opts));
  });

  it('works with either SHA-256 engine', () => {
    const want = createHash('sha256').update(big).digest('hex');
    const saved = sha256Engine();
    try {
      for (const engine of [wasmSha256Engine, nodeSha256Engine]) {
        setSha256Engine(engine);
        expect(hex(hashBytes(big, { blake3: false, sha256: true }).sha256)).toBe(want);
      }
    } finally {
      setSha256Engine(saved);
    }
  });

  it('hashes empty input', () => {
    const r = hashBytes(new Uint8Array(0), { sha256: true, chunks: true });
    expect(hex(r.blake3)).toBe(hex(nobleBlake3(new Uint8Array(0))));
    expect(r.chunks).toEqual([]);
  });

  it('refuses use after finish and non-bytes', () => {
    const h = new ContentHasher();
    h.finish();
    expect(() => h.update(new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'ERR_USED_AFTER_FINISH' }));
    expect(() => h.finish()).toThrow(expect.objectContaining({ code: 'ERR_USED_AFTER_FINISH' }));
    expect(() => hashBytes('abc' as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
  });
});

describe('hashStream', () => {
  it('reads a Node stream and a Web ReadableStream', async () => {
    const want = hashBytes(big, { sha256: true, chunks: true });
    expect(await hashStream(createReadStream(join(dir, 'big'), { highWaterMark: 10_000 }), { sha256: true, chunks: true })).toEqual(want);
    let off = 0;
    const web = new ReadableStream<Uint8Array>({
      pull(c) {
        if (off >= big.length) return c.close();
        c.enqueue(big.slice(off, off + 123_457));
        off += 123_457;
      },
    });
    expect(await hashStream(web, { sha256: true, chunks: true })).toEqual(want);
  });
});

describe('hashFile', () => {
  it('reads through node:fs into kernel memory', async () => {
    expect(await hashFile(nodeFs, join(dir, 'big'), { sha256: true, chunks: true })).toEqual(hashBytes(big, { sha256: true, chunks: true }));
    expect((await hashFile(nodeFs, join(dir, 'empty'))).size).toBe(0);
  });

  it('reads through the memory fs the same way', async () => {
    const mfs = new MemoryFs();
    await mfs.writeFile('/big', big);
    expect(await hashFile(mfs, '/big', { sha256: true })).toEqual(hashBytes(big, { sha256: true }));
  });

  it('hashes many files at once while kernel memory grows', async () => {
    const results = await Promise.all(Array.from({ length: 16 }, () => hashFile(nodeFs, join(dir, 'big'))));
    for (const r of results) expect(hex(r.blake3)).toBe(hex(nobleBlake3(big)));
  });

  it('names the path and keeps the system code on errors', async () => {
    await expect(hashFile(nodeFs, join(dir, 'nope'))).rejects.toMatchObject({ code: 'ERR_IO', data: { syscode: 'ENOENT' } });
    await expect(hashFile(nodeFs, dir)).rejects.toMatchObject({ code: 'ERR_IO' });
  });
});
