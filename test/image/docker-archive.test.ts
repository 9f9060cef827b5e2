// docker-archive export, read back with tar-stream (an independent tar reader).
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import '../../src/platform/node.ts';
import { MemoryFs } from '../../src/fs/memory.ts';
import { memoryStoreFs } from '../../src/fs/memory-store.ts';
import { OciLayout } from '../../src/oci/layout/layout.ts';
import { dockerArchive } from '../../src/oci/docker-archive.ts';
import { packTar } from '../../src/tar/writer.ts';
import { readAll } from '../../src/tree/manifest-file.ts';
import { collect, readTar, runBytes } from '../fixtures/tools.ts';

const sha = (b: Uint8Array) => 'sha256:' + createHash('sha256').update(b).digest('hex');

async function tarOf(name: string, content: Uint8Array): Promise<Uint8Array> {
  return collect(packTar([{ header: { name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: content.length, mtime: 0 }, body: [content] }]));
}
async function* one(b: Uint8Array) {
  yield b;
}

describe('docker-archive', () => {
  it('config, uncompressed layers named by diffID, manifest.json; deterministic', async () => {
    const fs = memoryStoreFs(new MemoryFs());
    const layout = await OciLayout.init(fs, '/img');
    const big = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    const t1 = await tarOf('a', new TextEncoder().encode('first'));
    const t2 = await tarOf('big', big);
    const t3 = await tarOf('c', new TextEncoder().encode('third'));
    await layout.addLayer('t', await layout.ingestLayer(one(t1)));
    await layout.addLayer('t', await layout.ingestLayer(one(gzipSync(t2))));
    await layout.addLayer('t', await layout.ingestLayer(one(runBytes('zstd', ['-q', '-c'], t3))));
    await layout.addLayer('t', await layout.ingestLayer(one(t1))); // the same tar twice
    const image = await layout.resolve('t');
    const bytes = await collect(dockerArchive(layout.blobs, image, { repoTags: ['example/app:1.0'] }));
    const entries = await readTar(bytes);
    const hexOf = (d: string) => d.slice(7);
    const cfgName = `${hexOf(image.manifest.config.digest)}.json`;
    expect(entries.map((e) => e.header.name)).toEqual([cfgName, `${hexOf(sha(t1))}.tar`, `${hexOf(sha(t2))}.tar`, `${hexOf(sha(t3))}.tar`, 'manifest.json']);
    const byName = new Map(entries.map((e) => [e.header.name, e]));
    expect(sha(byName.get(cfgName)!.body)).toBe(image.manifest.config.digest);
    for (const t of [t1, t2, t3]) expect(Buffer.compare(byName.get(`${hexOf(sha(t))}.tar`)!.body, Buffer.from(t))).toBe(0);
    expect(JSON.parse(byName.get('manifest.json')!.body.toString())).toEqual([{
      Config: cfgName, RepoTags: ['example/app:1.0'], Layers: [t1, t2, t3, t1].map((t) => `${hexOf(sha(t))}.tar`),
    }]);
    for (const e of entries) expect([e.header.mtime?.getTime(), e.header.uid, e.header.gid, e.header.mode]).toEqual([0, 0, 0, 0o644]);
    expect(sha(await collect(dockerArchive(layout.blobs, image, { repoTags: ['example/app:1.0'] })))).toBe(sha(bytes));
  });

  it('refuses bad repo tags and a layer whose tar does not match its diffID', async () => {
    const mem = new MemoryFs();
    const fs = memoryStoreFs(mem);
    const layout = await OciLayout.init(fs, '/img');
    const t1 = await tarOf('a', new TextEncoder().encode('first'));
    const l = await layout.ingestLayer(one(gzipSync(t1)));
    await layout.addLayer('t', { ...l, diffID: sha(new Uint8Array([9])) });
    const image = await layout.resolve('t');
    await expect(collect(dockerArchive(layout.blobs, image, { repoTags: ['Upper:1'] }))).rejects.toMatchObject({ code: 'ERR_INVALID_TAG' });
    await expect(collect(dockerArchive(layout.blobs, image))).rejects.toMatchObject({ code: 'ERR_DIFFID_MISMATCH' });
    // the stored config did record the wrong diffID (the layout trusts what addLayer is given)
    const cfg = JSON.parse(new TextDecoder().decode(await readAll(fs, `/img/blobs/sha256/${image.manifest.config.digest.slice(7)}`)));
    expect(cfg.rootfs.diff_ids).toEqual([sha(new Uint8Array([9]))]);
  });
});
