/**
 * The union view beyond the shared fs suite: copy-up, whiteouts and opaque directories in the
 * upper and in the committed layer, rename of lower directories, a 128-layer stack read from tar
 * files, compressed blobs, hardlinks and long names from the index, re-opening an upper.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import '../../src/platform/node.ts';
import { MemoryFs } from '../../src/fs/memory.ts';
import { nodeFs } from '../../src/fs/node.ts';
import { applyLayers } from '../../src/oci/apply.ts';
import { bytesReader, fileTarCache, indexTar } from '../../src/union/tar-index.ts';
import { openUnion } from '../../src/union/open.ts';
import { commitView } from '../../src/union/commit.ts';
import type { UnionView } from '../../src/union/view.ts';
import { collect, readTar, tempDir } from '../fixtures/tools.ts';
import { D, F, L, S, W } from '../apply/helpers.ts';
import { listing, readAll, T } from '../fs/fs-suite.ts';
import { memoryUpper, nodeUpper, tarOf, viewOf } from './helpers.ts';

const enc = new TextEncoder();
const S_T = Number(T / 1_000_000_000n);

async function commitBytes(view: UnionView): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await commitView(view, (c) => void parts.push(c.slice()));
  return collect((async function* () { yield* parts; })());
}

/** Apply lowers + the view's committed layer onto an empty MemoryFs: the listing must be the view's. */
async function checkCommit(view: UnionView, lowers: Uint8Array[]): Promise<string[]> {
  const layer = await commitBytes(view);
  const fs = new MemoryFs();
  await fs.mkdir('/t');
  await applyLayers([...lowers, layer].map((b) => ({ blob: [b] })), '/t', { fs });
  expect(await listing(fs, '/t', { mtimes: 'seconds' })).toEqual(await listing(view, '', { mtimes: 'seconds' }));
  return (await readTar(layer)).map((e) => e.header.name);
}

describe('union view', () => {
  it('copy-up preserves type, mode, owner, mtime, xattrs and content; parents keep their times', async () => {
    const lowers = [await tarOf([
      D('etc', { mode: 0o751, uid: 3, gid: 4, mtime: S_T }),
      F('etc/conf', 'k=v', { mode: 0o604, uid: 5, gid: 6, mtime: S_T, xattrs: { 'user.k': enc.encode('x') } }),
      S('etc/ln', 'conf', { uid: 7, gid: 8, mtime: S_T }),
    ])];
    const upper = memoryUpper();
    const view = await viewOf(lowers, upper);
    await view.chmod('/etc/conf', 0o640);
    await view.lchown('/etc/ln', 9, 9);
    const up = upper.fs as MemoryFs;
    const f = await up.lstat('/etc/conf');
    expect([f.type, f.mode, f.uid, f.gid, f.mtimeNs, f.size]).toEqual(['file', 0o640, 5, 6, T, 3]);
    expect(await readAll(up, '/etc/conf')).toBe('k=v');
    expect(await up.xattrs('/etc/conf')).toEqual({ 'user.k': enc.encode('x') });
    const d = await up.lstat('/etc');
    expect([d.mode, d.uid, d.gid, d.mtimeNs]).toEqual([0o751, 3, 4, T]);
    const l = await up.lstat('/etc/ln');
    expect([l.type, l.uid, l.mtimeNs, await up.readlink('/etc/ln')]).toEqual(['symlink', 9, T, 'conf']);
    expect(await view.xattrs('/etc/conf')).toEqual({ 'user.k': enc.encode('x') });
    const names = await checkCommit(view, lowers);
    expect(names).toEqual(['etc/', 'etc/conf', 'etc/ln']);
  });

  for (const [kind, make] of [['memory', memoryUpper], ['node', nodeUpper]] as const) {
    it(`writeFileStream (${kind} upper): a lower file is copied up without its old bytes and keeps its mode and owner; a new file is 0644; a directory is EISDIR`, async () => {
      const lowers = [await tarOf([D('etc'), F('etc/conf', 'old contents, longer than the new', { mode: 0o604, uid: 5, gid: 6, mtime: S_T })])];
      const upper = make();
      try {
        const view = await viewOf(lowers, upper);
        const h = await view.writeFileStream('/etc/conf');
        for (const part of ['new ', 'in ', 'parts']) await h.write(enc.encode(part));
        await h.close();
        expect(await readAll(view, '/etc/conf')).toBe('new in parts');
        const st = await view.lstat('/etc/conf');
        expect([st.mode, st.uid, st.gid, st.size]).toEqual([0o604, 5, 6, 12]);
        const n = await view.writeFileStream('/etc/new');
        await n.write(enc.encode('x'));
        await n.close();
        expect([(await view.lstat('/etc/new')).mode, await readAll(view, '/etc/new')]).toEqual([0o644, 'x']);
        await expect(view.writeFileStream('/etc')).rejects.toMatchObject({ code: 'EISDIR' });
        expect(await checkCommit(view, lowers)).toEqual(['etc/', 'etc/conf', 'etc/new']);
      } finally {
        upper.dispose();
      }
    });
  }

  it('a deleted lower file is hidden, recorded as a whiteout, committed as one', async () => {
    const lowers = [await tarOf([D('d'), F('d/x', 'x'), F('d/y', 'y'), F('d/z', 'z')])];
    const upper = memoryUpper();
    const view = await viewOf(lowers, upper);
    await view.unlink('/d/x');
    expect((await view.readdir('/d')).sort()).toEqual(['y', 'z']);
    await expect(view.lstat('/d/x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await upper.fs.readdir('/d')).sort()).toEqual(['.wh.x']);
    expect(await checkCommit(view, lowers)).toEqual(['d/', 'd/.wh.x']);
  });

  it('delete + recreate: no whiteout left, the new file replaces the lower one', async () => {
    const lowers = [await tarOf([D('d'), F('d/x', 'old', { mode: 0o600 })])];
    const upper = memoryUpper();
    const view = await viewOf(lowers, upper);
    await view.unlink('/d/x');
    await view.writeFile('/d/x', enc.encode('new'));
    expect(await upper.fs.readdir('/d')).toEqual(['x']);
    expect(await readAll(view, '/d/x')).toBe('new');
    expect((await view.lstat('/d/x')).mode).toBe(0o644);
    expect(await checkCommit(view, lowers)).toEqual(['d/', 'd/x']);
  });

  it('a lower directory removed and re-created is opaque, in the upper and in the layer', async () => {
    const lowers = [
      await tarOf([D('d'), F('d/a', 'a'), D('d/sub'), F('d/sub/b', 'b')]),
      await tarOf([D('d'), F('d/c', 'c')]),
    ];
    const upper = memoryUpper();
    const view = await viewOf(lowers, upper);
    await view.rm('/d', { recursive: true });
    expect(await upper.fs.readdir('/')).toEqual(['.wh.d']);
    await view.mkdir('/d', { mode: 0o700 });
    await view.writeFile('/d/a', enc.encode('new a'));
    expect((await view.readdir('/d')).sort()).toEqual(['a']);
    expect((await upper.fs.readdir('/d')).sort()).toEqual(['.wh..wh..opq', 'a']);
    const names = await checkCommit(view, lowers);
    expect(names).toEqual(['d/', 'd/.wh..wh..opq', 'd/a']);
  });

  it('rename of a lower directory copies the tree up and whites out the old name', async () => {
    const lowers = [await tarOf([D('src'), F('src/f', 'f'), D('src/deep'), F('src/deep/g', 'g'), D('dst'), F('dst/old', 'o')])];
    const upper = memoryUpper();
    const view = await viewOf(lowers, upper);
    await view.unlink('/src/f');
    await view.rm('/dst/old', { recursive: true });
    await view.rename('/src', '/dst');
    expect(await listing(view, '', { mtimes: false })).toEqual(['dst dir 755 0:0', 'dst/deep dir 755 0:0', 'dst/deep/g file 644 0:0 g']);
    // The moved tree is whole in the upper; dst (a lower dir) is opaque; src is whited out.
    expect((await upper.fs.readdir('/')).sort()).toEqual(['.wh.src', 'dst']);
    expect((await upper.fs.readdir('/dst')).sort()).toEqual(['.wh..wh..opq', 'deep']);
    const names = await checkCommit(view, lowers);
    expect(names).toContain('.wh.src');
    expect(names).toContain('dst/deep/g');
  });

  it('rename of a lower file onto a lower file, and a lower symlink moved', async () => {
    const lowers = [await tarOf([F('a', 'A'), F('b', 'B'), S('s', 'a')])];
    const view = await viewOf(lowers);
    await view.rename('/a', '/b');
    await view.rename('/s', '/s2');
    expect(await listing(view, '', { mtimes: false })).toEqual(['b file 644 0:0 A', 's2 symlink  0:0 -> a']);
    await checkCommit(view, lowers);
  });

  it('reads a 128-layer stack straight from tar files (positional reads, nothing extracted)', async () => {
    const t = tempDir('layerkit-union-128-');
    try {
      const layers: Uint8Array[] = [];
      for (let i = 0; i < 128; i++) {
        const items = [D('d', { mtime: S_T }), F(`d/f${i}`, `file ${i}`, { mtime: S_T }), F('shared', `layer ${i}`, { mtime: S_T })];
        if (i >= 2 && i % 2 === 0) items.push(W(`d/.wh.f${i - 2}`));
        if (i === 100) items.push(W('d/.wh..wh..opq'));
        layers.push(await tarOf(items));
      }
      const paths = layers.map((b, i) => {
        const p = join(t.path, `layer${i}.tar`);
        writeFileSync(p, b);
        return p;
      });
      const view = await openUnion({
        layers: await Promise.all(paths.map(async (p) => ({ blob: await nodeFs.open(p), name: p }))),
        upper: new MemoryFs(), upperRoot: '/',
      });
      // Expected from the rules: opaque at 100 hides d/f0..f99; even layers >= 2 white out f(i-2).
      const want: string[] = [];
      for (let i = 100; i < 128; i++) if (!(i % 2 === 0 && i + 2 < 128)) want.push(`f${i}`);
      expect((await view.readdir('/d')).sort()).toEqual(want.sort());
      expect(await readAll(view, '/shared')).toBe('layer 127');
      expect(await readAll(view, '/d/f101')).toBe('file 101');
      expect(view.lower.size).toBe(2 + 1 + want.length);
      await view.writeFile('/d/f101', enc.encode('changed'));
      expect(await readAll(view, '/d/f101')).toBe('changed');
      await checkCommit(view, layers);
      for (const l of view.lower.layers) await l.reader.close();
    } finally {
      t.dispose();
    }
  });

  it('compressed blobs are decompressed once into a cache (memory or a file)', async () => {
    const tar = await tarOf([D('d'), F('d/x', 'hello'.repeat(1000))]);
    const gz = gzipSync(tar);
    const cacheFs = new MemoryFs();
    const a = await openUnion({ layers: [{ blob: bytesReader(gz) }], upper: new MemoryFs(), upperRoot: '/' });
    const b = await openUnion({ layers: [{ blob: bytesReader(gz), cache: fileTarCache(cacheFs, '/cached.tar') }], upper: new MemoryFs(), upperRoot: '/' });
    expect(await readAll(a, '/d/x')).toBe('hello'.repeat(1000));
    expect(await readAll(b, '/d/x')).toBe('hello'.repeat(1000));
    expect((await cacheFs.lstat('/cached.tar')).size).toBe(tar.length);
  });

  it('index: data offsets, long PAX names, hardlinks in the layer and into a lower layer', async () => {
    const long = `${'n'.repeat(120)}/${'m'.repeat(130)}`;
    const l0 = await tarOf([F('base', 'base content', { mode: 0o600 })]);
    const l1 = await tarOf([D('n'.repeat(120)), F(long, 'long'), F('f', 'ff'), L('g', 'f'), L('h', 'base')]);
    const idx = await indexTar(bytesReader(l1));
    const f = idx.entries.find((e) => e.path === 'f')!;
    expect(new TextDecoder().decode(l1.subarray(f.dataOffset, f.dataOffset + f.size))).toBe('ff');
    const g = idx.entries.find((e) => e.path === 'g')!;
    expect([g.dataOffset, g.size, g.resolved]).toEqual([f.dataOffset, 2, true]);
    expect(idx.entries.find((e) => e.path === 'h')!.resolved).toBe(false);
    expect(idx.tarSize).toBe(l1.length);
    const view = await viewOf([l0, l1]);
    expect(await readAll(view, `/${long}`)).toBe('long');
    expect(await readAll(view, '/g')).toBe('ff');
    expect(await readAll(view, '/h')).toBe('base content');
    const [sf, sg, sh, sb] = await Promise.all(['/f', '/g', '/h', '/base'].map((p) => view.lstat(p)));
    expect(sf.ino).toBe(sg.ino);
    expect([sf.nlink, sh.nlink, sh.mode]).toEqual([2, 2, 0o600]);
    expect(sh.ino).toBe(sb.ino);
  });

  it('a view re-opened on the same node upper directory reads its markers back', async () => {
    const lowers = [await tarOf([D('d'), F('d/x', 'x'), F('d/y', 'y'), D('e'), F('e/z', 'z')])];
    const upper = nodeUpper();
    try {
      const v1 = await viewOf(lowers, upper);
      await v1.unlink('/d/x');
      await v1.rm('/e', { recursive: true });
      await v1.mkdir('/e', { mode: 0o755 });
      const v2 = await viewOf(lowers, upper);
      expect(await listing(v2, '', { mtimes: false })).toEqual(await listing(v1, '', { mtimes: false }));
      expect(await v2.readdir('/e')).toEqual([]);
      expect(await v2.readdir('/d')).toEqual(['y']);
      await checkCommit(v2, lowers);
    } finally {
      upper.dispose();
    }
  });

  it('refuses whiteout names, and does not show marker files', async () => {
    const view = await viewOf([await tarOf([F('a', 'a')])]);
    await view.unlink('/a');
    await expect(view.writeFile('/.wh.b', enc.encode(''))).rejects.toMatchObject({ code: 'ERR_WHITEOUT_NAME' });
    await expect(view.lstat('/.wh.a')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await view.readdir('/')).toEqual([]);
  });
});
