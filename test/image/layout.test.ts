// The OCI image layout over the memory filesystem: blobs, index.json, manifests, configs, layers.
// Every expectation is recomputed here from the bytes (node:crypto, node:zlib, the zstd binary).
import { describe, it, expect, beforeEach } from 'vitest';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import '../../src/platform/node.ts';
import { MemoryFs } from '../../src/fs/memory.ts';
import { memoryStoreFs } from '../../src/fs/memory-store.ts';
import type { StoreFsLike } from '../../src/fs/store-types.ts';
import { OciLayout } from '../../src/oci/layout/layout.ts';
import { TEMP_DIR } from '../../src/oci/layout/blobs.ts';
import { REF_NAME } from '../../src/oci/layout/index-file.ts';
import { packTar } from '../../src/tar/writer.ts';
import { readAll } from '../../src/tree/manifest-file.ts';
import { collect, runBytes } from '../fixtures/tools.ts';

const sha = (b: Uint8Array) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function tarOf(files: Record<string, string>): Promise<Uint8Array> {
  const items = Object.entries(files).map(([name, content]) => {
    const body = new TextEncoder().encode(content);
    return { header: { name, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: 1_600_000_000 }, body: [body] };
  });
  return collect(packTar(items));
}

async function* chunks(bytes: Uint8Array, size = 100): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

let mem: MemoryFs;
let fs: StoreFsLike;
const ROOT = '/img';

async function json(path: string): Promise<any> {
  return JSON.parse(text(await readAll(fs, path)));
}
const blobPath = (d: string) => `${ROOT}/blobs/sha256/${d.slice(7)}`;

beforeEach(() => {
  mem = new MemoryFs();
  fs = memoryStoreFs(mem);
});

describe('init / open', () => {
  it('init writes oci-layout 1.0.0 and an empty index; open accepts it', async () => {
    await OciLayout.init(fs, ROOT);
    expect(await json(`${ROOT}/oci-layout`)).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(await json(`${ROOT}/index.json`)).toEqual({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
    expect((await fs.lstat(`${ROOT}/blobs/sha256`)).isDirectory()).toBe(true);
    expect(await (await OciLayout.open(fs, ROOT)).list()).toEqual([]);
  });

  it('init refuses an existing layout; open refuses non-layouts and unknown versions', async () => {
    await OciLayout.init(fs, ROOT);
    await expect(OciLayout.init(fs, ROOT)).rejects.toMatchObject({ code: 'ERR_LAYOUT_EXISTS' });
    await mem.mkdir('/plain');
    await expect(OciLayout.open(fs, '/plain')).rejects.toMatchObject({ code: 'ERR_NOT_A_LAYOUT' });
    await mem.writeFile(`${ROOT}/oci-layout`, '{"imageLayoutVersion":"2.0.0"}');
    await expect(OciLayout.open(fs, ROOT)).rejects.toMatchObject({ code: 'ERR_NOT_A_LAYOUT' });
    await mem.writeFile(`${ROOT}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
    await mem.unlink(`${ROOT}/index.json`);
    await expect(OciLayout.open(fs, ROOT)).rejects.toMatchObject({ code: 'ERR_NOT_A_LAYOUT' });
  });
});

describe('ingestLayer: digest of the blob, diffID of the tar', () => {
  let layout: OciLayout;
  let tar: Uint8Array;
  beforeEach(async () => {
    layout = await OciLayout.init(fs, ROOT);
    tar = await tarOf({ 'etc/hosts': '127.0.0.1 localhost\n', 'big': 'x'.repeat(5000) });
  });

  const cases: [string, () => Uint8Array, string][] = [
    ['none', () => tar, 'application/vnd.oci.image.layer.v1.tar'],
    ['gzip', () => gzipSync(tar), 'application/vnd.oci.image.layer.v1.tar+gzip'],
    ['zstd', () => runBytes('zstd', ['-q', '-c', '-3'], tar), 'application/vnd.oci.image.layer.v1.tar+zstd'],
  ];
  for (const [name, make, mediaType] of cases) {
    it(`${name}: detected from the bytes, stored under its digest`, async () => {
      const blob = make();
      const r = await layout.ingestLayer(chunks(blob, 333));
      expect(r).toEqual({ mediaType, digest: sha(blob), size: blob.length, diffID: sha(tar) });
      expect(Buffer.from(await readAll(fs, blobPath(r.digest)))).toEqual(Buffer.from(blob));
      expect(await mem.readdir(`${ROOT}/${TEMP_DIR}`)).toEqual([]);
    });
  }

  it('a declared media type must agree with the bytes; unknown media types are refused', async () => {
    await expect(layout.ingestLayer(chunks(gzipSync(tar)), { mediaType: 'application/vnd.oci.image.layer.v1.tar' }))
      .rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(layout.ingestLayer(chunks(tar), { mediaType: 'application/vnd.oci.image.layer.v1.tar+xz' }))
      .rejects.toMatchObject({ code: 'ERR_UNKNOWN_MEDIA_TYPE' });
    const r = await layout.ingestLayer(chunks(gzipSync(tar)), { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' });
    expect(r.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
    expect(r.diffID).toBe(sha(tar));
  });

  it('not a tar, corrupt gzip, trailing garbage: refused, nothing stored', async () => {
    const before = await mem.readdir(`${ROOT}/blobs/sha256`);
    await expect(layout.ingestLayer(chunks(new TextEncoder().encode('hello, not a tar'.repeat(100)))))
      .rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(layout.ingestLayer(chunks(new Uint8Array(0)))).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    const gz = gzipSync(tar);
    const broken = gz.slice();
    broken[Math.floor(gz.length / 2)] ^= 0xff;
    await expect(layout.ingestLayer(chunks(broken))).rejects.toMatchObject({ code: 'ERR_LAYER_CORRUPT' });
    const truncated = gz.subarray(0, gz.length - 10);
    await expect(layout.ingestLayer(chunks(truncated))).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_LAYER_(TRUNCATED|CORRUPT)$/) });
    expect(await mem.readdir(`${ROOT}/blobs/sha256`)).toEqual(before);
    expect(await mem.readdir(`${ROOT}/${TEMP_DIR}`)).toEqual([]);
  });

  it('a source that fails midway leaves no blob and no temporary file', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield tar.subarray(0, 1024);
      throw new Error('disk on fire');
    }
    await expect(layout.ingestLayer(failing())).rejects.toThrow('disk on fire');
    expect(await mem.readdir(`${ROOT}/blobs/sha256`)).toEqual([]);
    expect(await mem.readdir(`${ROOT}/${TEMP_DIR}`)).toEqual([]);
  });
});

describe('addLayer / resolve', () => {
  it('builds a tagged image layer by layer: manifest, config, index all consistent', async () => {
    const layout = await OciLayout.init(fs, ROOT);
    const t1 = await tarOf({ a: '1' });
    const t2 = await tarOf({ b: '2' });
    const l1 = await layout.ingestLayer(chunks(t1));
    const m1 = await layout.addLayer('v1', l1, { history: { created_by: 'one', created: '2020-01-01T00:00:00Z' }, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
    const l2 = await layout.ingestLayer(chunks(gzipSync(t2)));
    const m2 = await layout.addLayer('v2', l2, { base: 'v1', history: { created_by: 'two' } });

    const index = await json(`${ROOT}/index.json`);
    expect(index.manifests.map((d: any) => [d.annotations[REF_NAME], d.digest])).toEqual([['v1', m1.digest], ['v2', m2.digest]]);
    const manBytes = await readAll(fs, blobPath(m2.digest));
    expect(sha(manBytes)).toBe(m2.digest);
    expect(manBytes.length).toBe(m2.size);
    const man = JSON.parse(text(manBytes));
    expect(man.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(man.layers).toEqual([
      { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(t1), size: t1.length },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l2.digest, size: l2.size },
    ]);
    const cfgBytes = await readAll(fs, blobPath(man.config.digest));
    expect(sha(cfgBytes)).toBe(man.config.digest);
    const cfg = JSON.parse(text(cfgBytes));
    expect(cfg.rootfs).toEqual({ type: 'layers', diff_ids: [sha(t1), sha(t2)] });
    expect(cfg.history).toEqual([{ created_by: 'one', created: '2020-01-01T00:00:00Z' }, { created_by: 'two' }]);
    expect([cfg.os, cfg.architecture, cfg.variant]).toEqual(['linux', 'arm64', 'v8']);
    expect(index.manifests[1].platform).toEqual({ architecture: 'arm64', os: 'linux', variant: 'v8' });

    const r = await layout.resolve('v2');
    expect(r.layers.map((l) => [l.digest, l.diffID, l.compression])).toEqual([[sha(t1), sha(t1), 'none'], [l2.digest, sha(t2), 'gzip']]);
    expect(r.layers[1]!.chainID).toBe(sha(new TextEncoder().encode(`${sha(t1)} ${sha(t2)}`)));
    expect(Buffer.from(await collect(r.layers[1]!.tar()))).toEqual(Buffer.from(t2));
    // v1 is untouched
    expect((await layout.resolve('v1')).layers.length).toBe(1);
  });

  it('the same inputs give the same bytes (no clock, no randomness in documents)', async () => {
    const digests: string[] = [];
    for (let i = 0; i < 2; i++) {
      const f = memoryStoreFs(new MemoryFs());
      const layout = await OciLayout.init(f, ROOT);
      const l = await layout.ingestLayer(chunks(await tarOf({ a: 'same' })));
      digests.push((await layout.addLayer('t', l)).digest);
    }
    expect(digests[0]).toBe(digests[1]);
  });

  it('re-tagging moves the tag; an existing tag grows by one layer', async () => {
    const layout = await OciLayout.init(fs, ROOT);
    const l = await layout.ingestLayer(chunks(await tarOf({ a: '1' })));
    const m1 = await layout.addLayer('t', l);
    const m2 = await layout.addLayer('t', l);
    expect(m2.digest).not.toBe(m1.digest);
    const list = await layout.list();
    expect(list.map((x) => [x.tag, x.descriptor.digest])).toEqual([['t', m2.digest]]);
    expect((await layout.resolve('t')).layers.map((x) => x.digest)).toEqual([l.digest, l.digest]);
    await layout.tag('old', { ...list[0]!.descriptor, digest: m1.digest, size: m1.size });
    expect((await layout.resolve('old')).layers.length).toBe(1);
  });

  it('without a tag, resolve takes the only image, and refuses to guess among several', async () => {
    const layout = await OciLayout.init(fs, ROOT);
    await expect(layout.resolve()).rejects.toMatchObject({ code: 'ERR_TAG_NOT_FOUND' });
    const l = await layout.ingestLayer(chunks(await tarOf({ a: '1' })));
    await layout.addLayer('a', l);
    expect((await layout.resolve()).tag).toBe('a');
    await layout.addLayer('b', l);
    await expect(layout.resolve()).rejects.toMatchObject({ code: 'ERR_AMBIGUOUS_IMAGE' });
  });

  it('a nested image index is followed by platform', async () => {
    const layout = await OciLayout.init(fs, ROOT);
    const l = await layout.ingestLayer(chunks(await tarOf({ a: '1' })));
    const amd = await layout.addLayer('amd', l, { platform: { os: 'linux', architecture: 'amd64' } });
    const arm = await layout.addLayer('arm', l, { platform: { os: 'linux', architecture: 'arm64' } });
    const nested = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [amd, arm] }));
    const d = await layout.blobs.put(nested);
    await layout.tag('multi', { mediaType: 'application/vnd.oci.image.index.v1+json', ...d });
    await expect(layout.resolve('multi')).rejects.toMatchObject({ code: 'ERR_AMBIGUOUS_IMAGE' });
    expect((await layout.resolve('multi', { architecture: 'arm64' })).descriptor.digest).toBe(arm.digest);
    await expect(layout.resolve('multi', { architecture: 's390x' })).rejects.toMatchObject({ code: 'ERR_TAG_NOT_FOUND' });
  });
});

describe('bad input: clear errors with stable codes', () => {
  let layout: OciLayout;
  let tar: Uint8Array;
  let man: string;
  beforeEach(async () => {
    layout = await OciLayout.init(fs, ROOT);
    tar = await tarOf({ a: 'content' });
    const l = await layout.ingestLayer(chunks(gzipSync(tar)));
    man = (await layout.addLayer('t', l)).digest;
  });
  const manifestJson = async () => JSON.parse(text(await readAll(fs, blobPath(man))));
  /** Replace t's manifest by `m` (stored correctly, so only its content is wrong). */
  async function retag(m: unknown) {
    const d = await layout.blobs.put(new TextEncoder().encode(JSON.stringify(m)));
    await layout.tag('t', { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...d });
  }

  it('unknown tag and invalid tag', async () => {
    await expect(layout.resolve('nope')).rejects.toMatchObject({ code: 'ERR_TAG_NOT_FOUND', message: expect.stringContaining('tags: t') });
    await expect(layout.resolve('bad tag')).rejects.toMatchObject({ code: 'ERR_INVALID_TAG' });
    await expect(layout.resolve('-x')).rejects.toMatchObject({ code: 'ERR_INVALID_TAG' });
  });

  it('an index entry that points nowhere: ERR_BLOB_MISSING naming the digest', async () => {
    await mem.unlink(blobPath(man));
    await expect(layout.resolve('t')).rejects.toMatchObject({ code: 'ERR_BLOB_MISSING', message: expect.stringContaining(man) });
  });

  it('a missing layer blob is found when its stream is read', async () => {
    const r = await layout.resolve('t');
    await mem.unlink(blobPath(r.layers[0]!.digest));
    await expect(collect(r.layers[0]!.tar())).rejects.toMatchObject({ code: 'ERR_BLOB_MISSING' });
  });

  it('a damaged blob: ERR_DIGEST_MISMATCH (same size, other bytes; other size)', async () => {
    const bytes = await readAll(fs, blobPath(man));
    const bad = bytes.slice();
    bad[10] ^= 1;
    await mem.writeFile(blobPath(man), bad);
    await expect(layout.resolve('t')).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    await mem.writeFile(blobPath(man), new Uint8Array([...bytes, 0x20]));
    await expect(layout.resolve('t')).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
  });

  it('a damaged layer never reaches a clean end of stream', async () => {
    const r = await layout.resolve('t');
    const p = blobPath(r.layers[0]!.digest);
    const bytes = await readAll(fs, p);
    const bad = bytes.slice();
    bad[bad.length - 1] ^= 1; // the gzip size field: decompression may still "succeed"
    await mem.writeFile(p, bad);
    await expect(collect(r.layers[0]!.blob())).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    await expect(collect(r.layers[0]!.tar())).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    // damage in the middle breaks the deflate data first: still reported as the digest mismatch
    const mid = bytes.slice();
    mid[Math.floor(mid.length / 2)] ^= 0xff;
    await mem.writeFile(p, mid);
    await expect(collect(r.layers[0]!.tar())).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
  });

  it('a correct blob that is not valid gzip (stored as gzip): ERR_LAYER_CORRUPT', async () => {
    const junk = new Uint8Array([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3, 4, 5, 6, 7, 8]);
    const d = await layout.blobs.put(junk);
    const l = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...d, diffID: sha(new Uint8Array(0)) };
    await layout.addLayer('junk', l);
    const r = await layout.resolve('junk');
    await expect(collect(r.layers[0]!.tar())).rejects.toMatchObject({ code: 'ERR_LAYER_CORRUPT' });
  });

  it('a config whose diffID does not match the layer: ERR_DIFFID_MISMATCH from tar()', async () => {
    const m = await manifestJson();
    const cfg = JSON.parse(text(await readAll(fs, blobPath(m.config.digest))));
    cfg.rootfs.diff_ids = ['sha256:' + '0'.repeat(64)];
    m.config = { ...m.config, ...(await layout.blobs.put(new TextEncoder().encode(JSON.stringify(cfg)))) };
    await retag(m);
    const r = await layout.resolve('t');
    await expect(collect(r.layers[0]!.tar())).rejects.toMatchObject({ code: 'ERR_DIFFID_MISMATCH' });
  });

  it('unknown layer / manifest / config media types: ERR_UNKNOWN_MEDIA_TYPE', async () => {
    const m = await manifestJson();
    await retag({ ...m, layers: [{ ...m.layers[0], mediaType: 'application/vnd.example.layer.v1.tar+lz4' }] });
    await expect(layout.resolve('t')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_MEDIA_TYPE', message: expect.stringContaining('lz4') });
    await retag({ ...m, config: { ...m.config, mediaType: 'application/json' } });
    await expect(layout.resolve('t')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_MEDIA_TYPE' });
    const d = await layout.blobs.put(new TextEncoder().encode(JSON.stringify(m)));
    await layout.tag('t', { mediaType: 'application/vnd.example.thing', ...d });
    await expect(layout.resolve('t')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_MEDIA_TYPE' });
  });

  it('malformed documents: ERR_IMAGE_CORRUPT (JSON, layer/diff_id count, descriptors, index)', async () => {
    const m = await manifestJson();
    await retag({ ...m, layers: [...m.layers, m.layers[0]] });
    await expect(layout.resolve('t')).rejects.toMatchObject({ code: 'ERR_IMAGE_CORRUPT', message: expect.stringContaining('2 layers') });
    await retag({ ...m, layers: [{ ...m.layers[0], size: -1 }] });
    await expect(layout.resolve('t')).rejects.toMatchObject({ code: 'ERR_IMAGE_CORRUPT' });
    await retag({ ...m, layers: [{ ...m.layers[0], digest: 'sha256:nothex' }] });
    await expect(layout.resolve('t')).rejects.toMatchObject({ code: 'ERR_INVALID_DIGEST' });
    const d = await layout.blobs.put(new TextEncoder().encode('{"schemaVersion": 2, "config": '));
    await layout.tag('t', { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...d });
    await expect(layout.resolve('t')).rejects.toMatchObject({ code: 'ERR_IMAGE_CORRUPT' });
    await mem.writeFile(`${ROOT}/index.json`, '{"schemaVersion":2,"manifests":{}}');
    await expect(layout.list()).rejects.toMatchObject({ code: 'ERR_IMAGE_CORRUPT' });
    await mem.writeFile(`${ROOT}/index.json`, 'not json');
    await expect(layout.list()).rejects.toMatchObject({ code: 'ERR_IMAGE_CORRUPT' });
  });

  it('addLayer refuses a blob that is not stored or of another size, and leaves the index alone', async () => {
    const before = text(await readAll(fs, `${ROOT}/index.json`));
    const l = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(new Uint8Array([1])), size: 1, diffID: sha(new Uint8Array([1])) };
    await expect(layout.addLayer('t', l)).rejects.toMatchObject({ code: 'ERR_BLOB_MISSING' });
    const stored = (await layout.resolve('t')).layers[0]!;
    await expect(layout.addLayer('t', { ...stored, size: stored.size + 1 })).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    await expect(layout.addLayer('t', { ...stored }, { base: 'nope' })).rejects.toMatchObject({ code: 'ERR_TAG_NOT_FOUND' });
    expect(text(await readAll(fs, `${ROOT}/index.json`))).toBe(before);
  });

  it('sha512 digests are recognised but unsupported', async () => {
    const d = 'sha512:' + 'a'.repeat(128);
    await expect(layout.tag('x', { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d, size: 1 })).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
  });

  it('a blob writer committed with the wrong expected digest stores nothing', async () => {
    const w = await layout.blobs.writer();
    await w.write(new Uint8Array([1, 2, 3]));
    await expect(w.commit('sha256:' + '1'.repeat(64))).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
    expect(await layout.blobs.has(sha(new Uint8Array([1, 2, 3])))).toBe(false);
    expect(await mem.readdir(`${ROOT}/${TEMP_DIR}`)).toEqual([]);
  });
});
