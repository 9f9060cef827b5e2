import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { MemoryFs } from '../../src/fs/memory.ts';
import { nodeFs } from '../../src/fs/node.ts';
import type { Entry } from '../../src/tree/entry.ts';
import { snapshot, canReuseHash } from '../../src/tree/snapshot.ts';
import { encodeManifest } from '../../src/tree/manifest.ts';
import { build, countingHasher, dir, file, hardlink, nodeSha256, remove, sec, symlink, tempDir, type Op } from './fixtures.ts';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const tree: Op[] = [
  file('a', 'alpha', { mtime: sec(1, 0.5) }),
  file('b/c', 'gamma', { mtime: sec(2, 0.25) }),
  file('b/d', 'delta', { mtime: sec(3, 0.125) }),
  hardlink('b/e', 'b/c'),
  file('big', 'x'.repeat(100_000), { mtime: sec(4, 0.75) }),
  symlink('l', 'a'),
  dir('empty'),
];

async function mem(...ops: Op[]): Promise<MemoryFs> {
  const fs = new MemoryFs();
  await build({ fs, root: '/r' }, ...ops);
  return fs;
}

const files = (es: Entry[]) => es.filter((e) => e.type === 'file').map((e) => e.path);

describe('snapshot', () => {
  it('hashes every file the first time and returns sorted entries', async () => {
    const fs = await mem(...tree);
    const h = countingHasher();
    const s = await snapshot(fs, '/r', { hash: h });
    expect(s.entries.map((e) => e.path)).toEqual(['', 'a', 'b', 'b/c', 'b/d', 'b/e', 'big', 'empty', 'l']);
    expect(s.stats).toEqual({ entries: 9, files: 5, hashed: 4, reused: 0, shared: 1, bytesHashed: 5 + 5 + 5 + 100_000 });
    expect(h.calls.length).toBe(4);
  });

  it('re-snapshot of an unchanged tree hashes nothing and gives the same entries', async () => {
    const fs = await mem(...tree);
    const first = await snapshot(fs, '/r', { hash: countingHasher() });
    const h = countingHasher();
    const again = await snapshot(fs, '/r', { hash: h, previous: first.entries });
    expect(h.calls).toEqual([]);
    expect(again.stats).toMatchObject({ files: 5, hashed: 0, reused: 4, shared: 1, bytesHashed: 0 });
    expect(again.entries).toEqual(first.entries);
  });

  it('accepts the previous snapshot as manifest bytes (and unsorted entry arrays)', async () => {
    const fs = await mem(...tree);
    const first = await snapshot(fs, '/r', { hash: countingHasher() });
    const bytes = await encodeManifest(first.entries, { sha256: nodeSha256 });
    const viaManifest = await snapshot(fs, '/r', { hash: countingHasher(), previous: bytes, sha256: nodeSha256 });
    expect(viaManifest.stats.hashed).toBe(0);
    expect(viaManifest.entries).toEqual(first.entries);
    const shuffled = [...first.entries].reverse();
    expect((await snapshot(fs, '/r', { hash: countingHasher(), previous: shuffled })).stats.hashed).toBe(0);
    bytes[40] ^= 1;
    await expect(snapshot(fs, '/r', { hash: countingHasher(), previous: bytes, sha256: nodeSha256 })).rejects.toMatchObject({ code: 'ERR_MANIFEST_CORRUPT' });
  });

  it('re-hashes only what changed: content+mtime, mode, owner, added files', async () => {
    const fs = await mem(...tree);
    const first = await snapshot(fs, '/r', { hash: countingHasher() });
    await fs.writeFile('/r/a', 'ALPHA!');
    await fs.utimes('/r/a', sec(10, 0.5));
    await fs.chmod('/r/b/d', 0o600);
    await fs.chown('/r/big', 5, 5);
    await fs.writeFile('/r/new', 'n');
    await fs.utimes('/r/new', sec(11, 0.5));
    const h = countingHasher();
    const s = await snapshot(fs, '/r', { hash: h, previous: first.entries });
    expect(h.calls.map((p) => p.slice(3)).sort()).toEqual(['a', 'b/d', 'big', 'new']);
    expect(s.stats).toMatchObject({ files: 6, hashed: 4, reused: 1, shared: 1 });
    const fresh = await snapshot(fs, '/r', { hash: countingHasher() });
    expect(s.entries).toEqual(fresh.entries);
    expect(s.entries.find((e) => e.path === 'a')!.blake3).not.toEqual(first.entries.find((e) => e.path === 'a')!.blake3);
  });

  it('re-hashes files whose previous mtime has zero nanoseconds (possibly truncated)', async () => {
    const fs = await mem(file('whole', 'w', { mtime: sec(1) }), file('frac', 'f', { mtime: sec(1, 0.5) }));
    const first = await snapshot(fs, '/r', { hash: countingHasher() });
    const h = countingHasher();
    const s = await snapshot(fs, '/r', { hash: h, previous: first.entries });
    expect(h.calls).toEqual(['/r/whole']);
    expect(s.stats).toMatchObject({ hashed: 1, reused: 1 });
  });

  it('detects a same-size rewrite within the same second when only the nanoseconds differ (node fs)', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const root = `${t.path}/r`;
    await build(root, file('f', 'aaaa', { mtime: sec(5, 0.25) }), file('g', 'keep', { mtime: sec(5, 0.25) }));
    const first = await snapshot(nodeFs, root, { hash: countingHasher() });
    writeFileSync(`${root}/f`, 'bbbb');
    await build(root, file('f', 'bbbb', { mtime: sec(5, 0.5) })); // same size, same second
    const h = countingHasher();
    const s = await snapshot(nodeFs, root, { hash: h, previous: first.entries });
    expect(h.calls).toEqual([`${root}/f`]);
    const [f0, f1] = [first, s].map((x) => x.entries.find((e) => e.path === 'f')!);
    expect(f1.size).toBe(f0.size);
    expect(f1.mtimeNs / 1_000_000_000n).toBe(f0.mtimeNs / 1_000_000_000n);
    expect(f1.blake3).not.toEqual(f0.blake3);
  });

  it('re-hashes when hardlink identity changes, reuses when it does not', async () => {
    const fs = await mem(file('x', 'same', { mtime: sec(1, 0.5) }), file('y', 'same', { mtime: sec(1, 0.5) }), file('p', 'q', { mtime: sec(2, 0.5) }), hardlink('z', 'p'));
    const first = await snapshot(fs, '/r', { hash: countingHasher() });
    // unchanged group p/z: reused once, shared once
    const h0 = countingHasher();
    expect((await snapshot(fs, '/r', { hash: h0, previous: first.entries })).stats).toMatchObject({ hashed: 0, reused: 3, shared: 1 });
    // y replaced by a hardlink to x: same size and mtime, but x and y are now one inode
    await build({ fs, root: '/r' }, remove('y'), hardlink('y', 'x'));
    const h = countingHasher();
    const s = await snapshot(fs, '/r', { hash: h, previous: first.entries });
    expect(h.calls).toEqual(['/r/x']);
    expect(s.stats).toMatchObject({ hashed: 1, shared: 2, reused: 1 });
  });

  it('canReuseHash: each stat field matters', () => {
    const base: Entry = { path: 'f', type: 'file', mode: 0o644, uid: 1, gid: 2, size: 3, mtimeNs: sec(1, 0.5), nlink: 1, blake3: new Uint8Array(32) };
    expect(canReuseHash(base, { ...base, blake3: undefined }, false)).toBe(true);
    for (const change of [{ size: 4 }, { mtimeNs: base.mtimeNs + 1n }, { mode: 0o600 }, { uid: 9 }, { gid: 9 }, { nlink: 2, inode: 1 }, { type: 'symlink' as const }]) {
      expect(canReuseHash(base, { ...base, ...change }, false)).toBe(false);
    }
    expect(canReuseHash({ ...base, blake3: undefined }, base, false)).toBe(false);
    expect(canReuseHash({ ...base, mtimeNs: sec(1) }, { ...base, mtimeNs: sec(1) }, false)).toBe(false);
    const linked = { ...base, nlink: 2, inode: 4 };
    expect(canReuseHash(linked, { ...linked, inode: 1 }, true)).toBe(true);
    expect(canReuseHash(linked, { ...linked, inode: 1 }, false)).toBe(false);
  });
});
