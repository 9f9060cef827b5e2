// The union containers' layer cache (src/union/layer-cache.ts): the index file round-trips and
// refuses what does not match; a fill is atomic (a stream that fails, as a diffID mismatch does at
// its end, leaves nothing behind) and a second open is a hit; a damaged index is rebuilt.
import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { nodeStorePort } from '../../src/platform/store-node.ts';
import { bytesReader, indexTar } from '../../src/union/tar-index.ts';
import { decodeTarIndex, encodeTarIndex, openCachedLayer, type CacheLayer } from '../../src/union/layer-cache.ts';
import { tempDir } from '../fixtures/tools.ts';
import { D, F, L, S, W } from '../apply/helpers.ts';
import { tarOf } from './helpers.ts';

const enc = new TextEncoder();
const DIFF = `sha256:${'ab'.repeat(32)}`;
const t = tempDir('layerkit-union-cache-');
afterAll(() => t.dispose());

async function sample(): Promise<Uint8Array> {
  return tarOf([
    D('etc', { mode: 0o755 }),
    F('etc/conf', 'k=v\n', { mode: 0o640, uid: 5, gid: 6, xattrs: { 'user.k': enc.encode('x\u0000y'), 'security.capability': new Uint8Array([1, 2, 255]) } }),
    L('etc/conf2', 'etc/conf'),
    L('etc/elsewhere', 'usr/not-here'),
    S('etc/link', '../usr/bin'),
    W('usr/.wh.gone'),
    W('var/.wh..wh..opq'),
  ]);
}

async function* chunks(bytes: Uint8Array, fail?: Error): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += 1000) yield bytes.subarray(i, i + 1000);
  if (fail) throw fail;
}

function layer(tar: Uint8Array, fail?: Error): CacheLayer & { calls: number } {
  const l = {
    diffID: DIFF, digest: `sha256:${'cd'.repeat(32)}`, compression: 'gzip', calls: 0,
    blob: () => chunks(new Uint8Array(0)),
    tar: () => {
      l.calls++;
      return chunks(tar, fail);
    },
  };
  return l;
}

describe('union layer cache', () => {
  it('the index file round-trips (xattrs, hardlinks in and out of the layer, whiteouts, opaque markers)', async () => {
    const tar = await sample();
    const index = await indexTar(bytesReader(tar));
    const bytes = encodeTarIndex(DIFF, index);
    expect(decodeTarIndex(bytes, DIFF, tar.length)).toEqual(index);
  });

  it('an index of another diffID, another tar size or with a bad row is refused', async () => {
    const tar = await sample();
    const index = await indexTar(bytesReader(tar));
    const bytes = encodeTarIndex(DIFF, index);
    expect(decodeTarIndex(bytes, `sha256:${'00'.repeat(32)}`, tar.length)).toBeUndefined();
    expect(decodeTarIndex(bytes, DIFF, tar.length + 512)).toBeUndefined();
    expect(decodeTarIndex(enc.encode('not json'), DIFF, tar.length)).toBeUndefined();
    const v = JSON.parse(new TextDecoder().decode(bytes));
    v.entries[1][10] = tar.length; // body past the end of the tar
    expect(decodeTarIndex(enc.encode(JSON.stringify(v)), DIFF, tar.length)).toBeUndefined();
    const w = JSON.parse(new TextDecoder().decode(bytes));
    w.entries[0].pop();
    expect(decodeTarIndex(enc.encode(JSON.stringify(w)), DIFF, tar.length)).toBeUndefined();
  });

  it('a failed fill (the stream throws at its end, as a diffID mismatch does) leaves nothing in the cache', async () => {
    const dir = join(t.path, 'fail');
    const err = Object.assign(new Error('diffID mismatch'), { code: 'ERR_DIFFID_MISMATCH' });
    await expect(openCachedLayer(nodeStorePort, dir, layer(await sample(), err), { blobPath: () => '' })).rejects.toThrow(/diffID mismatch/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('fill, then hit; a damaged index is rebuilt from the cached tar without decompressing again', async () => {
    const dir = join(t.path, 'ok');
    const tar = await sample();
    const l = layer(tar);
    const a = await openCachedLayer(nodeStorePort, dir, l, { blobPath: () => '' });
    expect(a.filled).toBe('tar');
    const buf = new Uint8Array(tar.length);
    expect(await a.reader.read(buf, 0, buf.length, 0)).toBe(tar.length);
    expect(Buffer.from(buf).equals(Buffer.from(tar))).toBe(true);
    await a.reader.close();
    expect(fs.readdirSync(dir).sort()).toEqual([`${'ab'.repeat(32)}.idx`, `${'ab'.repeat(32)}.tar`]);
    const b = await openCachedLayer(nodeStorePort, dir, l, { blobPath: () => '' });
    expect(b.filled).toBe('hit');
    expect(b.index).toEqual(a.index);
    await b.reader.close();
    fs.writeFileSync(join(dir, `${'ab'.repeat(32)}.idx`), '{}');
    const c = await openCachedLayer(nodeStorePort, dir, l, { blobPath: () => '' });
    expect(c.filled).toBe('index');
    expect(c.index).toEqual(a.index);
    await c.reader.close();
    expect(l.calls).toBe(1);
  });
});
