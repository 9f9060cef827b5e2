/**
 * apply keeps at most PENDING_MAX directories pending (their listed mode and time, or their old
 * time to put back) and settles the least recently changed ones past that, so what it keeps per
 * layer does not grow with the layer. These tests pin that directories are settled before the
 * end, and that layers coming back into a settled directory (out of tree order, or through an
 * opaque marker) give the result of settling everything at the end.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, lstatSync, mkdirSync, readdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, test } from 'vitest';
import '../../src/platform/node.ts';
import { MemoryFs } from '../../src/fs/memory.ts';
import { applyLayers } from '../../src/oci/apply.ts';
import { PENDING_MAX } from '../../src/oci/apply-layer-dirs.ts';
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
  it(`past ${PENDING_MAX} pending directories the least recently changed are settled before the layer ends; every time and mode still comes out right`, async () => {
    const { fs, log } = logging();
    await fs.mkdir('/t');
    const n = PENDING_MAX + 200;
    await applyLayers([{ blob: [await layer(D('lower', { mtime: 300 }))] }], '/t', { fs });
    const items = Array.from({ length: n }, (_, i) => [D(`d${i}`, { mtime: 1000 + i, mode: 0o750 }), F(`d${i}/f`, 'x')]).flat();
    await applyLayers([{ blob: [await layer(F('lower/first'), ...items, F('lower/last'))] }], '/t', { fs });
    // d0 is settled (chmod + times) before the last directories are made: nothing waits for the end
    expect(log.indexOf('chmod d0')).toBeGreaterThan(-1);
    expect(log.indexOf('chmod d0')).toBeLessThan(log.indexOf(`mkdir d${n - 1}`));
    for (const i of [0, 1, PENDING_MAX - 1, PENDING_MAX, n - 1]) {
      const d = await fs.lstat(`/t/d${i}`);
      expect([d.mode, d.mtimeNs]).toEqual([0o750, s(1000 + i)]);
    }
    // a lower directory changed, settled, and changed again keeps its time
    expect((await fs.lstat('/t/lower')).mtimeNs).toBe(s(300));
  });

  it('a directory settled long before an entry comes back into it (out of tree order): its listed time stands', async () => {
    const fs = new MemoryFs();
    await fs.mkdir('/t');
    const fill = Array.from({ length: PENDING_MAX + 10 }, (_, i) => D(`z${i}`));
    await applyLayers([{ blob: [await layer(D('a', { mtime: 1000 }), D('a/b', { mtime: 1100 }), ...fill, F('a/b/late', 'x'), D('a/new'))] }], '/t', { fs });
    expect(await fs.readdir('/t/a/b')).toEqual(['late']);
    expect((await fs.lstat('/t/a/b')).mtimeNs).toBe(s(1100));
    expect((await fs.lstat('/t/a')).mtimeNs).toBe(s(1000));
  });

  it('an opaque marker removing lower names inside a re-listed directory settled long before: its listed time stands', async () => {
    const fs = new MemoryFs();
    await fs.mkdir('/t');
    await applyLayers([{ blob: [await layer(D('l', { mtime: 400 }), D('l/sub', { mtime: 500 }), F('l/sub/old'), F('l/gone'))] }], '/t', { fs });
    const fill = Array.from({ length: PENDING_MAX + 10 }, (_, i) => D(`z${i}`));
    await applyLayers([{ blob: [await layer(D('l', { mtime: 600 }), D('l/sub', { mtime: 700 }), ...fill, W('l/.wh..wh..opq'))] }], '/t', { fs });
    expect(await fs.readdir('/t/l')).toEqual(['sub']);
    expect(await fs.readdir('/t/l/sub')).toEqual([]);
    expect((await fs.lstat('/t/l/sub')).mtimeNs).toBe(s(700));
    expect((await fs.lstat('/t/l')).mtimeNs).toBe(s(600));
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

  it(`memory: past ${PENDING_MAX} read-only listed directories the oldest is set before the end; an entry coming back into it still leaves its listed mode and time`, async () => {
    const fs = new MemoryFs();
    await fs.mkdir('/t');
    const many = Array.from({ length: PENDING_MAX + 5 }, (_, i) => D(`r${i}`, { mode: 0o555, mtime: 3000 + i }));
    await applyLayers([{ blob: [await layer(D('ro', { mode: 0o555, mtime: 1000 }), ...many, F('ro/late', 'l'))] }], '/t', { fs });
    expect(await fs.readdir('/t/ro')).toEqual(['late']);
    for (const [d, t] of [['ro', 1000], ['r0', 3000], [`r${PENDING_MAX + 4}`, 3000 + PENDING_MAX + 4]] as const) {
      const st = await fs.lstat(`/t/${d}`);
      expect([d, st.mode, st.mtimeNs]).toEqual([d, 0o555, s(t)]);
    }
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
      execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bin, 'apply', tar, '--to', join(target, 'rootfs'), '-q'], { timeout: 60_000 });
      const root = join(target, 'rootfs');
      expect(readdirSync(join(root, 'ro'))).toEqual(['late']);
      expect(readdirSync(join(root, 'rw'))).toEqual(['late']);
      expect(lstatSync(join(root, 'ro')).mode & 0o7777).toBe(0o555);
      expect(lstatSync(join(root, 'ro')).mtimeMs).toBe(1000_000);
      expect(lstatSync(join(root, 'rw')).mtimeMs).toBe(2000_000);

      // A read-only directory of a lower layer, written into by the next one without listing it,
      // and one of more than PENDING_MAX read-only directories a layer lists, written into after
      // it was set: each is made writable while names go in, then its mode and time put back.
      const lower = join(tmp.path, 'lower.tar');
      const upper = join(tmp.path, 'upper.tar');
      const many = Array.from({ length: PENDING_MAX + 5 }, (_, i) => D(`r${i}`, { mode: 0o555, mtime: 3000 + i }));
      writeFileSync(lower, await layer(D('low', { mode: 0o555, mtime: 1500 }), F('low/old', 'o')));
      writeFileSync(upper, await layer(F('low/new', 'n'), D('first', { mode: 0o555, mtime: 2500 }), ...many, F('first/late', 'l')));
      chmodSync(lower, 0o644);
      chmodSync(upper, 0o644);
      execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bin, 'apply', lower, upper, '--to', join(target, 'two'), '-q'], { timeout: 120_000 });
      const two = join(target, 'two');
      expect(readdirSync(join(two, 'low')).sort()).toEqual(['new', 'old']);
      expect(readdirSync(join(two, 'first'))).toEqual(['late']);
      for (const [d, t] of [['low', 1500], ['first', 2500], ['r0', 3000]] as const) {
        const st = lstatSync(join(two, d));
        expect([d, st.mode & 0o7777, st.mtimeMs]).toEqual([d, 0o555, t * 1000]);
      }
    } finally {
      execFileSync('chmod', ['-R', 'u+w', tmp.path]);
      tmp.dispose();
    }
  });
});
