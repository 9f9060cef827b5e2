import { afterEach, describe, expect, it } from 'vitest';
import { MemoryFs } from '../../src/fs/memory.ts';
import { nodeFs } from '../../src/fs/node.ts';
import type { WritableFsLike } from '../../src/fs/types.ts';
import type { Entry } from '../../src/tree/entry.ts';
import { ManifestEncoder, decodeManifest, encodeManifest, readManifestEntries, verifyManifest } from '../../src/tree/manifest.ts';
import { loadManifest, saveManifest } from '../../src/tree/manifest-file.ts';
import { snapshot } from '../../src/tree/snapshot.ts';
import { LayerkitError } from '../../src/errors.ts';
import { build, countingHasher, dir, fifo, file, hardlink, nodeSha256, sec, symlink, tempDir } from './fixtures.ts';

const opts = { sha256: nodeSha256 };
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const h32 = (b: number) => new Uint8Array(32).fill(b);

const sample: Entry[] = [
  { path: '', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtimeNs: sec(1, 0.5) },
  { path: 'a', type: 'dir', mode: 0o700, uid: 1, gid: 2, size: 0, mtimeNs: -5n },
  { path: 'a/b', type: 'file', mode: 0o4755, uid: 4294967295, gid: 7, size: 2 ** 40, mtimeNs: (1n << 62n) + 3n, nlink: 2, inode: 1, blake3: h32(1),
    xattrs: { 'security.capability': new Uint8Array([1, 2, 3]), 'user.empty': new Uint8Array(0) } },
  { path: 'a/c', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtimeNs: 1n, linkname: '../ünïcödé/😀', nlink: 1 },
  { path: 'a-b', type: 'char', mode: 0o666, uid: 0, gid: 0, size: 0, mtimeNs: 2n, devmajor: 4095, devminor: 1048575, nlink: 1 },
  { path: 'a.b', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtimeNs: 3n, nlink: 2, inode: 1, blake3: h32(1) },
  { path: 'bl', type: 'block', mode: 0o600, uid: 0, gid: 6, size: 0, mtimeNs: 4n, devmajor: 8, devminor: 1, nlink: 1 },
  { path: `${'deep/'.repeat(100)}x`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1, mtimeNs: 7n, nlink: 1, blake3: h32(9) },
  { path: 'empty-link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtimeNs: 4n, linkname: '', nlink: 1 },
  { path: 'p', type: 'fifo', mode: 0o644, uid: 0, gid: 0, size: 0, mtimeNs: 5n, nlink: 1 },
  { path: 's', type: 'socket', mode: 0o755, uid: 0, gid: 0, size: 0, mtimeNs: 6n, nlink: 1 },
];

async function failure(p: Promise<unknown>): Promise<LayerkitError> {
  try {
    await p;
  } catch (e) {
    return e as LayerkitError;
  }
  throw new Error('expected a failure');
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as LayerkitError).code;
  }
  return undefined;
}

describe('manifest format', () => {
  it('round-trips every kind of entry (encode -> decode deep-equal)', async () => {
    const bytes = await encodeManifest(sample, opts);
    expect(new TextDecoder().decode(bytes.subarray(0, 6))).toBe('LKSNAP');
    expect(await decodeManifest(bytes, opts)).toStrictEqual(sample);
  });

  it('round-trips an empty manifest', async () => {
    const bytes = await encodeManifest([], opts);
    expect(bytes.length).toBe(16 + 40);
    expect(await decodeManifest(bytes, opts)).toEqual([]);
  });

  it('front-codes paths: shared prefixes are not stored twice', async () => {
    const many: Entry[] = [];
    for (let i = 0; i < 100; i++) many.push({ path: `usr/share/zoneinfo/Region/City${String(i).padStart(3, '0')}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtimeNs: 0n });
    const bytes = await encodeManifest(many, opts);
    expect(bytes.length).toBeLessThan(16 + 40 + 100 * (48 + 8) + 40);
  });

  it('renumbers hardlink ids in path order, so ids from a live walk do not matter', async () => {
    const a: Entry[] = [
      { path: 'x', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtimeNs: 1n, nlink: 2, inode: 907 },
      { path: 'y', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtimeNs: 1n, nlink: 2, inode: 13 },
      { path: 'z', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtimeNs: 1n, nlink: 2, inode: 907 },
    ];
    const out = await decodeManifest(await encodeManifest(a, opts), opts);
    expect(out.map((e) => e.inode)).toEqual([1, 2, 1]);
    const b = a.map((e) => ({ ...e, inode: e.inode === 907 ? 5 : 6 }));
    expect(await encodeManifest(b, opts)).toEqual(await encodeManifest(a, opts));
  });

  it('streams: encoder chunks concatenate to the whole-array encoding; entries iterate lazily', async () => {
    const enc = await ManifestEncoder.create(opts);
    const parts = sample.map((e) => enc.push(e));
    parts.push(enc.finish());
    const whole = await encodeManifest(sample, opts);
    expect(Buffer.concat(parts)).toEqual(Buffer.from(whole));
    const it = readManifestEntries(whole);
    expect(it.next().value?.path).toBe('');
    expect(it.next().value?.path).toBe('a');
    expect(() => enc.push(sample[0])).toThrow(LayerkitError);
  });

  it('refuses unsorted or repeated entries', async () => {
    expect(await codeOf(encodeManifest([sample[2], sample[1]], opts))).toBe('ERR_INVALID_ARG');
    expect(await codeOf(encodeManifest([sample[1], sample[1]], opts))).toBe('ERR_INVALID_ARG');
    expect(await codeOf(encodeManifest([{ ...sample[1], mode: 0o10000 }], opts))).toBe('ERR_INVALID_ARG');
    expect(await codeOf(encodeManifest([{ ...sample[2], blake3: new Uint8Array(31) }], opts))).toBe('ERR_INVALID_ARG');
  });

  it('detects corruption and truncation with ERR_MANIFEST_CORRUPT', async () => {
    const bytes = await encodeManifest(sample, opts);
    // every single-byte flip and several truncations are caught
    for (let i = 0; i < bytes.length; i += 7) {
      const bad = bytes.slice();
      bad[i] ^= 0x40;
      const code = await codeOf(decodeManifest(bad, opts));
      expect(code === 'ERR_MANIFEST_CORRUPT' || (i >= 6 && i < 8 && code === 'ERR_MANIFEST_VERSION')).toBe(true);
    }
    for (const n of [0, 5, 16, 55, 100, bytes.length - 1]) {
      expect(await codeOf(decodeManifest(bytes.subarray(0, n), opts))).toBe('ERR_MANIFEST_CORRUPT');
    }
    const err = await failure(decodeManifest(bytes.subarray(0, bytes.length - 3), opts));
    expect(err.message).toMatch(/snapshot manifest is corrupt: checksum mismatch/);
    const notOurs = await failure(decodeManifest(new TextEncoder().encode('{"json": "instead"}'.padEnd(80)), opts));
    expect(notOurs.message).toMatch(/bad magic/);
  });

  it('rejects other versions with ERR_MANIFEST_VERSION', async () => {
    const bytes = await encodeManifest(sample, opts);
    bytes[6] = 2;
    expect(await codeOf(decodeManifest(bytes, opts))).toBe('ERR_MANIFEST_VERSION');
  });

  it('catches structural damage even when the checksum is recomputed', async () => {
    const bytes = await encodeManifest(sample.slice(0, 3), opts);
    const reseal = async (b: Uint8Array) => {
      const h = await nodeSha256();
      h.update(b.subarray(0, b.length - 32));
      b.set(h.digest(), b.length - 32);
      return b;
    };
    const badType = bytes.slice();
    badType[16] = 9;
    expect(await codeOf(decodeManifest(await reseal(badType), opts))).toBe('ERR_MANIFEST_CORRUPT');
    const badCount = bytes.slice();
    badCount[badCount.length - 40] = 7;
    expect(await codeOf(decodeManifest(await reseal(badCount), opts))).toBe('ERR_MANIFEST_CORRUPT');
    await expect(verifyManifest(await reseal(bytes.slice()), opts)).resolves.toBeUndefined();
  });
});

describe('saveManifest / loadManifest', () => {
  it('saves atomically and loads back (memory fs), leaving no temp file', async () => {
    const fs = new MemoryFs();
    await fs.mkdir('/m');
    await saveManifest(fs, '/m/snap', sample, opts);
    await saveManifest(fs, '/m/snap', sample.slice(0, 2), opts);
    expect(await fs.readdir('/m')).toEqual(['snap']);
    expect(await loadManifest(fs, '/m/snap', opts)).toStrictEqual(sample.slice(0, 2));
  });

  it('a failed save keeps the old manifest and removes the temp file', async () => {
    const fs = new MemoryFs();
    await fs.mkdir('/m');
    await saveManifest(fs, '/m/snap', sample, opts);
    const broken: WritableFsLike = {
      open: (p) => fs.open(p), lstat: (p) => fs.lstat(p), readdir: (p) => fs.readdir(p), readlink: (p) => fs.readlink(p),
      writeFile: (p, d) => fs.writeFile(p, d), unlink: (p) => fs.unlink(p),
      rename: async () => { throw Object.assign(new Error('EXDEV: nope'), { code: 'EXDEV' }); },
    };
    const err = await failure(saveManifest(broken, '/m/snap', [], opts));
    expect(err.message).toBe('save manifest /m/snap: EXDEV: nope');
    expect(await fs.readdir('/m')).toEqual(['snap']);
    expect(await loadManifest(fs, '/m/snap', opts)).toStrictEqual(sample);
  });

  it('load of a damaged file says which file', async () => {
    const fs = new MemoryFs();
    await fs.writeFile('/bad', new Uint8Array(100));
    const err = await failure(loadManifest(fs, '/bad', opts));
    expect(err.code).toBe('ERR_MANIFEST_CORRUPT');
    expect(err.message).toMatch(/^load manifest \/bad: snapshot manifest is corrupt/);
  });

  it('two snapshots of the same tree give byte-identical manifests (node fs, two copies)', async () => {
    const ops = [
      dir('', { mode: 0o755, mtime: sec(1) }),
      file('b/x', 'one', { mode: 0o644, mtime: sec(2, 0.5) }),
      hardlink('b/y', 'b/x'),
      hardlink('a', 'b/x'),
      file('c', 'two', { mode: 0o600, uid: 3, gid: 4, mtime: sec(3, 0.25) }),
      symlink('d', 'c', { mtime: sec(4) }),
      fifo('e', { mode: 0o644, mtime: sec(5) }),
      dir('b', { mode: 0o755, mtime: sec(6) }),
    ];
    const t = tempDir();
    cleanups.push(t.cleanup);
    await build(`${t.path}/one`, ...ops);
    await build(`${t.path}/two`, ...ops); // different inode numbers, same tree
    const s1 = await snapshot(nodeFs, `${t.path}/one`, { hash: countingHasher() });
    const s2 = await snapshot(nodeFs, `${t.path}/two`, { hash: countingHasher() });
    await saveManifest(nodeFs, `${t.path}/one.lksnap`, s1.entries, opts);
    await saveManifest(nodeFs, `${t.path}/two.lksnap`, s2.entries, opts);
    const { readFileSync } = await import('node:fs');
    const b1 = readFileSync(`${t.path}/one.lksnap`);
    expect(b1).toEqual(readFileSync(`${t.path}/two.lksnap`));
    expect(await loadManifest(nodeFs, `${t.path}/one.lksnap`, opts)).toStrictEqual(s1.entries);
  });
});
