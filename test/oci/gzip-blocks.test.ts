// Block-parallel gzip (src/platform/gzip-blocks.ts): a valid gzip of the input, with the same bytes
// whatever the number of blocks in flight and however the input is chunked.
import { describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { createCipheriv } from 'node:crypto';
import { GZIP_BLOCK, gzipBlocks } from '../../src/platform/gzip-blocks.ts';

/** Half text-like (compressible), half pseudo-random (AES-CTR keystream), deterministic. */
function data(len: number): Buffer {
  const text = Buffer.alloc(len >> 1);
  for (let i = 0; i < text.length; i++) text[i] = 97 + ((i * 7 + (i >> 9)) % 10);
  const c = createCipheriv('aes-128-ctr', Buffer.alloc(16, 1), Buffer.alloc(16));
  return Buffer.concat([text, c.update(Buffer.alloc(len - text.length))]);
}

async function* chunks(buf: Buffer, sizes: number[]): AsyncGenerator<Uint8Array> {
  let o = 0;
  for (let i = 0; o < buf.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield buf.subarray(o, o + n);
    o += n;
  }
}

async function gz(buf: Buffer, sizes: number[], workers: number, level = 6): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of gzipBlocks(chunks(buf, sizes), level, workers)) parts.push(c);
  return Buffer.concat(parts);
}

describe('gzipBlocks', () => {
  const lengths = [0, 1, 100, GZIP_BLOCK - 1, GZIP_BLOCK, GZIP_BLOCK + 1, 2 * GZIP_BLOCK, 3_000_001];
  for (const len of lengths) {
    it(`${len} bytes: gunzips to the input, same bytes with 0/1/4 blocks at once and any chunking`, async () => {
      const input = data(len);
      const a = await gz(input, [65536], 0);
      expect(gunzipSync(a).equals(input)).toBe(true);
      expect((await gz(input, [1000, 77777], 1)).equals(a)).toBe(true);
      expect((await gz(input, [1 << 20], 4)).equals(a)).toBe(true);
      // Header: gzip, deflate, no flags, MTIME 0, OS 255.
      expect([...a.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    });
  }

  it('levels 0, 1 and 9 are valid and set XFL like zlib', async () => {
    const input = data(400_000);
    for (const [level, xfl] of [[0, 4], [1, 4], [9, 2]] as const) {
      const out = await gz(input, [50_000], 2, level);
      expect(gunzipSync(out).equals(input)).toBe(true);
      expect(out[8]).toBe(xfl);
    }
  });

});
