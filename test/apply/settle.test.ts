/**
 * apply settles a directory (its listed mode and time, or its old time put back) when the layer
 * leaves it, as GNU tar does, so what it keeps per layer follows the depth of the tree, not its
 * size. These tests pin the order of the work and the layers that come back into a settled
 * directory (out of tree order): their results must be those of settling everything at the end.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, lstatSync, mkdirSync, readdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, test } from 'vitest';
import '../../src/platform/node.ts';
import { MemoryFs } from '../../src/fs/memory.ts';
import { applyLayers } from '../../src/oci/apply.ts';
import { tempDir } from '../fixtures/tools.ts';
import { D, F, W, layer } from './helpers.ts';

const s = (n: number) => BigInt(n) * 1_000_000_000n;

/** A MemoryFs that logs mkdir/chmod/lutimes calls by target-relative path. */
function logging(): { fs: MemoryFs; log: string[] } {
  const fs = new MemoryFs();
  const log: string[] = [];
  for (const op of ['mkdir', 'chmod', 'lutimes'] as const) {
    const f = (fs[op] as (...a: unknown[]) => Promise<void>).bind(fs);
    (fs as unknown as Record<string, unknown>)[op] = async (p: string, ...rest: unknown[]) => {
      log.push(`${op} ${p.replace(/^\/t\/?/, '') || '.'}`);
      return f(p, ...rest);
    };
  }
  return { fs, log };
}

describe('apply: directories settled as the layer leaves them', () => {
  it('a layer in tree order: each directory is settled before the next sibling tree is made', async () => {
    const { fs, log } = logging();
    await fs.mkdir('/t');
    const items = [0, 1, 2, 3].flatMap((i) => [D(`d${i}`, { mtime: 1000 + i, mode: 0o750 }), D(`d${i}/e`, { mtime: 2000 + i }), F(`d${i}/e/f`, 'x')]);
    await applyLayers([{ blob: [await layer(...items)] }], '/t', { fs });
    // d0 and d0/e are settled (chmod + times) before d1 is made: nothing of d0 waits for the end
    expect(log.indexOf('chmod d0')).toBeGreaterThan(-1);
    expect(log.indexOf('chmod d0')).toBeLessThan(log.indexOf('mkdir d1'));
    expect(log.indexOf('chmod d0/e')).toBeLessThan(log.indexOf('chmod d0'));
    expect(log.indexOf('chmod d2')).toBeLessThan(log.indexOf('mkdir d3'));
    for (let i = 0; i < 4; i++) {
      const d = await fs.lstat(`/t/d${i}`);
      expect([d.mode, d.mtimeNs]).toEqual([0o750, s(1000 + i)]);
      expect((await fs.lstat(`/t/d${i}/e`)).mtimeNs).toBe(s(2000 + i));
    }
  });

  it('an entry that comes back into a settled directory (out of tree order): its listed time still stands, its parent keeps its own', async () => {
    const fs = new MemoryFs();
    await fs.mkdir('/t');
    await applyLayers([{ blob: [await layer(D('a', { mtime: 1000 }), D('a/b', { mtime: 1100 }), D('c', { mtime: 2000 }), F('a/b/late', 'x'), D('a/new'), F('c/f'))] }], '/t', { fs });
    expect((await fs.readdir('/t/a/b'))).toEqual(['late']);
    expect((await fs.lstat('/t/a/b')).mtimeNs).toBe(s(1100));
    // a gained a/new after it was settled: the layer lists a, so a's listed time stands
    expect((await fs.lstat('/t/a')).mtimeNs).toBe(s(1000));
    expect((await fs.lstat('/t/c')).mtimeNs).toBe(s(2000));
  });

  it('a lower directory the layer changes below without listing it, twice, out of order: its time is put back each time', async () => {
    const fs = new MemoryFs();
    await fs.mkdir('/t');
    await applyLayers([{ blob: [await layer(D('l', { mtime: 500 }), D('m', { mtime: 600 }))] }], '/t', { fs });
    await applyLayers([{ blob: [await layer(F('l/one'), F('m/x'), F('l/two'), W('m/.wh.x'))] }], '/t', { fs });
    expect((await fs.readdir('/t/l')).sort()).toEqual(['one', 'two']);
    expect((await fs.lstat('/t/l')).mtimeNs).toBe(s(500));
    expect((await fs.lstat('/t/m')).mtimeNs).toBe(s(600));
  });

  it('an opaque marker after the layer left a directory it made: nothing of the layer is removed (only the outermost made directory is kept)', async () => {
    const fs = new MemoryFs();
    await fs.mkdir('/t');
    await applyLayers([{ blob: [await layer(D('a'), D('a/b'), D('a/b/c'), F('a/b/c/f', 'mine'), D('z'), W('a/b/c/.wh..wh..opq'), W('a/b/.wh..wh..opq'))] }], '/t', { fs });
    expect(await fs.readdir('/t/a/b/c')).toEqual(['f']);
    expect(await fs.readdir('/t/a/b')).toEqual(['c']);
  });

  it('an opaque marker on a lower directory after the layer wrote into it and moved on: the layer\'s names stay, the lower ones go', async () => {
    const fs = new MemoryFs();
    await fs.mkdir('/t');
    await applyLayers([{ blob: [await layer(D('l'), F('l/old'), D('l/sub'), F('l/sub/old'))] }], '/t', { fs });
    await applyLayers([{ blob: [await layer(F('l/new', 'n'), D('l/sub'), F('l/sub/new'), D('m'), W('l/.wh..wh..opq'))] }], '/t', { fs });
    expect((await fs.readdir('/t/l')).sort()).toEqual(['new', 'sub']);
    expect(await fs.readdir('/t/l/sub')).toEqual(['new']);
  });

  it('more than 1024 re-listed directories: every stale xattr goes (settled in batches)', async () => {
    const fs = new MemoryFs();
    await fs.mkdir('/t');
    const enc = (v: string) => new TextEncoder().encode(v);
    const n = 1100;
    const names = Array.from({ length: n }, (_, i) => `d${i}`);
    await applyLayers([{ blob: [await layer(...names.map((d) => D(d, { xattrs: { 'user.old': enc('1'), 'user.kept': enc('k') } })))] }], '/t', { fs });
    await applyLayers([{ blob: [await layer(...names.map((d) => D(d, { xattrs: { 'user.kept': enc('k2') } })))] }], '/t', { fs });
    for (const d of [names[0]!, names[1023]!, names[1024]!, names[n - 1]!]) expect(await fs.xattrs(`/t/${d}`)).toEqual({ 'user.kept': enc('k2') });
  });
});

describe('apply: read-only directories wait for the end of the layer', () => {
  it('memory: a listed 0555 directory is set last; an entry below it later in the layer is still written', async () => {
    const fs = new MemoryFs();
    await fs.mkdir('/t');
    await applyLayers([{ blob: [await layer(D('ro', { mode: 0o555, mtime: 1000 }), D('x'), F('ro/late', 'l'))] }], '/t', { fs });
    expect(await fs.readdir('/t/ro')).toEqual(['late']);
    const st = await fs.lstat('/t/ro');
    expect([st.mode, st.mtimeNs]).toEqual([0o555, s(1000)]);
  });

  const isRoot = process.getuid?.() === 0;
  test.skipIf(!isRoot || spawnSync('setpriv', ['--version']).status !== 0)('node, unprivileged (setpriv 65534): entries below a read-only directory out of tree order are written', async () => {
    const tmp = tempDir('layerkit-settle-');
    chmodSync(tmp.path, 0o755);
    try {
      const tar = join(tmp.path, 'l.tar');
      writeFileSync(tar, await layer(D('ro', { mode: 0o555, mtime: 1000 }), D('rw', { mode: 0o755, mtime: 2000 }), F('ro/late', 'l'), F('rw/late', 'w'), D('z')));
      chmodSync(tar, 0o644);
      const target = join(tmp.path, 'u');
      mkdirSync(target);
      chownSync(target, 65534, 65534);
      const bin = join(import.meta.dirname, '../../bin/layerkit.js');
      execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bin, 'apply', tar, '--to', join(target, 'rootfs'), '-q']);
      const root = join(target, 'rootfs');
      expect(readdirSync(join(root, 'ro'))).toEqual(['late']);
      expect(readdirSync(join(root, 'rw'))).toEqual(['late']);
      expect(lstatSync(join(root, 'ro')).mode & 0o7777).toBe(0o555);
      expect(lstatSync(join(root, 'ro')).mtimeMs).toBe(1000_000);
      expect(lstatSync(join(root, 'rw')).mtimeMs).toBe(2000_000);
    } finally {
      execFileSync('chmod', ['-R', 'u+w', tmp.path]);
      tmp.dispose();
    }
  });
});
