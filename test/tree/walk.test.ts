import { afterEach, describe, expect, it } from 'vitest';
import { MemoryFs } from '../../src/fs/memory.ts';
import { nodeFs } from '../../src/fs/node.ts';
import type { FsLike } from '../../src/fs/types.ts';
import { comparePaths, type Entry } from '../../src/tree/entry.ts';
import { walk, newWalkStats, type WalkOptions } from '../../src/tree/walk.ts';
import { LayerkitError } from '../../src/errors.ts';
import { build, countingHasher, dir, fifo, file, hardlink, sec, socket, symlink, tempDir, type Op } from './fixtures.ts';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

async function collect(fs: FsLike, root: string, opts: WalkOptions = {}): Promise<Entry[]> {
  const out: Entry[] = [];
  for await (const e of walk(fs, root, { hash: countingHasher(), ...opts })) out.push(e);
  return out;
}

async function onDisk(...ops: Op[]): Promise<string> {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const root = `${t.path}/root`;
  await build(root, ...ops);
  return root;
}

async function inMemory(...ops: Op[]): Promise<MemoryFs> {
  const fs = new MemoryFs();
  await build({ fs, root: '/r' }, ...ops);
  return fs;
}

const byPath = (es: Entry[]) => Object.fromEntries(es.map((e) => [e.path, e]));

describe('walk', () => {
  it('orders children right after their parent, "/" lowest (node fs)', async () => {
    const root = await onDisk(file('a.b'), file('a-b'), dir('a'), file('a/b'), file('a/b0'), file('0'), dir('a/c'), file('a/c/d'));
    const paths = (await collect(nodeFs, root)).map((e) => e.path);
    expect(paths).toEqual(['', '0', 'a', 'a/b', 'a/b0', 'a/c', 'a/c/d', 'a-b', 'a.b']);
    expect([...paths].sort(comparePaths)).toEqual(paths);
  });

  it('records types, modes, owners, sizes, mtimes and link targets (node fs)', async () => {
    const root = await onDisk(
      file('f', 'hello', { mode: 0o4751, uid: 1234, gid: 567, mtime: sec(5, 0.5) }),
      dir('d', { mode: 0o1777, mtime: sec(7) }),
      symlink('l', '../outside/target'),
      fifo('p', { mode: 0o600 }),
      socket('s'),
    );
    const e = byPath(await collect(nodeFs, root));
    expect(e.f).toMatchObject({ type: 'file', mode: 0o4751, uid: 1234, gid: 567, size: 5, mtimeNs: sec(5, 0.5), nlink: 1 });
    expect(e.f.inode).toBeUndefined();
    expect(e.d).toMatchObject({ type: 'dir', mode: 0o1777, size: 0, mtimeNs: sec(7) });
    expect(e.l).toMatchObject({ type: 'symlink', linkname: '../outside/target', size: 0 });
    expect(e.p).toMatchObject({ type: 'fifo', mode: 0o600 });
    expect(e.s.type).toBe('socket');
    expect(e[''].type).toBe('dir');
  });

  it('hashes regular files only, with the injected hasher', async () => {
    const root = await onDisk(file('a', 'x'), file('b', 'x'), file('c', 'y'), symlink('l', 'a'), dir('d'));
    const h = countingHasher();
    const e = byPath(await collect(nodeFs, root, { hash: h }));
    expect(h.calls.map((p) => p.slice(root.length + 1)).sort()).toEqual(['a', 'b', 'c']);
    expect(e.a.blake3).toEqual(e.b.blake3);
    expect(e.a.blake3).not.toEqual(e.c.blake3);
    expect(e.l.blake3).toBeUndefined();
    expect(e.d.blake3).toBeUndefined();
    const none = await collect(nodeFs, root, { hash: false });
    expect(none.every((x) => x.blake3 === undefined)).toBe(true);
  });

  it('gives hardlinked names one inode id and hashes the file once', async () => {
    const root = await onDisk(file('x/a', 'same'), hardlink('y/b', 'x/a'), hardlink('z', 'x/a'), file('w', 'same'), file('v/1', 'q'), hardlink('v/2', 'v/1'));
    const h = countingHasher();
    const stats = newWalkStats();
    const e = byPath(await collect(nodeFs, root, { hash: h, stats }));
    expect(e['x/a'].inode).toBeGreaterThan(0);
    expect(e['y/b'].inode).toBe(e['x/a'].inode);
    expect(e.z.inode).toBe(e['x/a'].inode);
    expect(e['v/1'].inode).toBe(e['v/2'].inode);
    expect(e['v/1'].inode).not.toBe(e['x/a'].inode);
    expect(e['x/a'].nlink).toBe(3);
    expect(e.w.inode).toBeUndefined();
    expect(e['y/b'].blake3).toEqual(e.w.blake3);
    // ids are handed out in path order: v/1 comes before x/a
    expect(e['v/1'].inode).toBe(1);
    expect(e['x/a'].inode).toBe(2);
    expect(stats).toMatchObject({ files: 6, hashed: 3, shared: 3, reused: 0 });
    expect(h.calls.length).toBe(3);
  });

  it('rejects a name starting with .wh. with ERR_WHITEOUT_NAME, unless excluded', async () => {
    const fs = await inMemory(file('a/.wh.b', 'x'), file('c'));
    const err = await collect(fs, '/r').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerkitError);
    expect((err as LayerkitError).code).toBe('ERR_WHITEOUT_NAME');
    expect((err as LayerkitError).message).toMatch(/^walk a\/\.wh\.b: /);
    expect((err as LayerkitError).data.path).toBe('a/.wh.b');
    const ok = await collect(fs, '/r', { exclude: (p) => p.endsWith('.wh.b') });
    expect(ok.map((e) => e.path)).toEqual(['', 'a', 'c']);
    await expect(collect(await inMemory(dir('.wh..wh..opq')), '/r')).rejects.toMatchObject({ code: 'ERR_WHITEOUT_NAME' });
  });

  it('excludes a directory with its whole subtree', async () => {
    const fs = await inMemory(file('node_modules/x/y', '1'), file('node_modules.txt'), file('src/a'));
    const seen: string[] = [];
    const paths = (await collect(fs, '/r', { exclude: (p, st) => { seen.push(p); return p === 'node_modules' && st.type === 'dir'; } })).map((e) => e.path);
    expect(paths).toEqual(['', 'node_modules.txt', 'src', 'src/a']);
    expect(seen).not.toContain('node_modules/x');
  });

  it('wraps errors with the path, keeping the system code', async () => {
    const mem = await inMemory(file('a/b', 'x'), file('c'));
    const failing: FsLike = {
      ...bind(mem),
      readdir: async (p) => {
        if (p === '/r/a') throw Object.assign(new Error("EACCES: permission denied, scandir '/r/a'"), { code: 'EACCES' });
        return mem.readdir(p);
      },
    };
    const err = (await collect(failing, '/r').catch((e: unknown) => e)) as LayerkitError;
    expect(err.code).toBe('ERR_IO');
    expect(err.message).toBe("walk a: EACCES: permission denied, scandir '/r/a'");
    expect(err.data.syscode).toBe('EACCES');

    const badHash = (await collect(mem, '/r', { hash: async () => { throw new Error('disk on fire'); } }).catch((e: unknown) => e)) as LayerkitError;
    expect(badHash.message).toBe('walk a/b: disk on fire');

    await expect(collect(mem, '/nope')).rejects.toThrow(/^walk \.: ENOENT/);
    await expect(collect(mem, '/r/c')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
  });

  it('keeps path order while hashing in parallel, never more than `concurrency` at once', async () => {
    const ops: Op[] = [];
    for (let i = 0; i < 40; i++) ops.push(file(`d${i % 3}/f${String(i).padStart(2, '0')}`, `content ${i}`));
    const fs = await inMemory(...ops);
    let active = 0;
    let peak = 0;
    const inner = countingHasher();
    const slow = async (f: FsLike, p: string) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, Math.random() * 5));
      try {
        return await inner(f, p);
      } finally {
        active--;
      }
    };
    const es = await collect(fs, '/r', { hash: slow, concurrency: 3 });
    expect(es.map((e) => e.path)).toEqual([...es.map((e) => e.path)].sort(comparePaths));
    expect(es.filter((e) => e.type === 'file').every((e) => e.blake3?.length === 32)).toBe(true);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(3);
  });

  it('can be stopped early', async () => {
    const fs = await inMemory(file('a', '1'), file('b', '2'), file('c', '3'));
    const got: string[] = [];
    for await (const e of walk(fs, '/r', { hash: countingHasher() })) {
      got.push(e.path);
      if (got.length === 2) break;
    }
    expect(got).toEqual(['', 'a']);
  });

  it('reads xattrs when the fs provides them, sorted by name', async () => {
    const fs = await inMemory(file('a', 'x'));
    await fs.setXattr('/r/a', 'user.z', new Uint8Array([1]));
    await fs.setXattr('/r/a', 'security.capability', new Uint8Array([2, 3]));
    const e = byPath(await collect(fs, '/r'));
    expect(Object.keys(e.a.xattrs!)).toEqual(['security.capability', 'user.z']);
    expect(e.a.xattrs!['security.capability']).toEqual(new Uint8Array([2, 3]));
    expect(e[''].xattrs).toBeUndefined();
  });

  it('walks the same entries from MemoryFs as from node:fs for the same declared tree', async () => {
    const ops: Op[] = [
      dir('', { mode: 0o755, mtime: sec(1) }),
      file('a/b', 'hello', { mode: 0o640, uid: 10, gid: 20, mtime: sec(2, 0.25) }),
      dir('a', { mode: 0o750, mtime: sec(3) }),
      file('a-b', '', { mode: 0o644, mtime: sec(4) }),
      file('a.b', 'xyz', { mode: 0o600, mtime: sec(5, 0.5) }),
      symlink('l', 'a/b', { mtime: sec(6) }),
      hardlink('h', 'a/b'),
      dir('e/f/g', { mode: 0o700, mtime: sec(7) }),
      dir('e/f', { mode: 0o755, mtime: sec(8) }),
      dir('e', { mode: 0o755, mtime: sec(9) }),
      fifo('p', { mode: 0o644, mtime: sec(10) }),
    ];
    const root = await onDisk(...ops);
    const mem = await inMemory(...ops);
    const a = await collect(nodeFs, root);
    const b = await collect(mem, '/r');
    expect(b).toEqual(a);
    expect(a.map((e) => e.path)).toEqual(['', 'a', 'a/b', 'a-b', 'a.b', 'e', 'e/f', 'e/f/g', 'h', 'l', 'p']);
  });
});

function bind(m: MemoryFs): FsLike {
  return {
    open: (p) => m.open(p),
    lstat: (p) => m.lstat(p),
    readdir: (p) => m.readdir(p),
    readlink: (p) => m.readlink(p),
    xattrs: (p) => m.xattrs(p),
  };
}
