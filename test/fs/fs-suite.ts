/**
 * One filesystem test suite for every MutableFsLike: the node adapter on a temp dir, MemoryFs and
 * the union view (fixture in its upper, or in lower layer tars). Each test starts from the same
 * fixture tree and asks the same questions; every implementation must give the same answers.
 */
import { describe, expect, it } from 'vitest';
import type { FileStat, MutableFsLike } from '../../src/fs/types.ts';

export const T = 1_600_000_000n * 1_000_000_000n;

export type FixtureItem =
  | { path: string; type: 'dir'; mode: number }
  | { path: string; type: 'file'; mode: number; content: string }
  | { path: string; type: 'symlink'; target: string };

/** The fixture every test starts from (parents before children). */
export const FIXTURE: FixtureItem[] = [
  { path: 'a', type: 'dir', mode: 0o755 },
  { path: 'a/f1', type: 'file', mode: 0o640, content: 'one' },
  { path: 'a/sub', type: 'dir', mode: 0o750 },
  { path: 'a/sub/f2', type: 'file', mode: 0o644, content: 'two two' },
  { path: 'b', type: 'symlink', target: 'a' },
  { path: 'c', type: 'dir', mode: 0o755 },
  { path: 'top', type: 'file', mode: 0o644, content: 'top' },
];

export interface FsSite {
  fs: MutableFsLike;
  /** The fixture's directory ('' for a root of its own): tests use `${root}/${rel}`. */
  root: string;
  dispose(): void | Promise<void>;
}

export type SiteFactory = () => Promise<FsSite>;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Write the fixture with the fs's own operations (times and owners set explicitly). */
export async function buildFixture(fs: MutableFsLike, root: string, items: FixtureItem[] = FIXTURE): Promise<void> {
  const dirs: string[] = [];
  for (const it of items) {
    const p = `${root}/${it.path}`;
    if (it.type === 'dir') {
      await fs.mkdir(p, { mode: 0o700 });
      dirs.push(p);
    } else if (it.type === 'file') {
      const h = await fs.createFile(p, 0o600);
      await h.write(enc.encode(it.content));
      await h.close();
    } else {
      await fs.symlink(it.target, p);
    }
    await fs.lchown(p, 0, 0);
    if (it.type !== 'symlink') await fs.chmod(p, it.mode);
    if (it.type !== 'dir') await fs.lutimes(p, T);
  }
  for (const p of dirs.reverse()) await fs.lutimes(p, T);
}

export async function readAll(fs: MutableFsLike, path: string): Promise<string> {
  const st = await fs.lstat(path);
  const fh = await fs.open(path);
  try {
    const buf = new Uint8Array(st.type === 'symlink' ? 4096 : st.size + 1);
    let n = 0;
    for (;;) {
      const k = await fh.read(buf, n, buf.length - n, n);
      if (k === 0) break;
      n += k;
    }
    return dec.decode(buf.subarray(0, n));
  } finally {
    await fh.close();
  }
}

/**
 * Sorted listing of a tree: "path type mode uid:gid [content | -> target] [mtime]" (mtimes in ns,
 * or whole seconds as a layer keeps them, or none). Directory mtimes are left out (adding a name changes them, at times that differ between filesystems).
 */
export async function listing(fs: MutableFsLike, dir: string, opts: { mtimes?: boolean | 'seconds' } = {}): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const name of (await fs.readdir(d === '' ? '/' : d)).sort()) {
      const p = `${d}/${name}`;
      const r = rel ? `${rel}/${name}` : name;
      const st = await fs.lstat(p);
      let line = `${r} ${st.type} ${st.type === 'symlink' ? '' : st.mode.toString(8)} ${st.uid}:${st.gid}`;
      if (st.type === 'file') line += ` ${await readAll(fs, p)}`;
      if (st.type === 'symlink') line += ` -> ${await fs.readlink(p)}`;
      if (opts.mtimes !== false && st.type !== 'dir') line += ` @${opts.mtimes === 'seconds' ? st.mtimeNs / 1_000_000_000n : st.mtimeNs}`;
      out.push(line);
      if (st.type === 'dir') await walk(p, r);
    }
  };
  await walk(dir, '');
  return out;
}

function fixtureListing(items: FixtureItem[]): string[] {
  return items.map((it) => {
    if (it.type === 'dir') return `${it.path} dir ${it.mode.toString(8)} 0:0`;
    if (it.type === 'file') return `${it.path} file ${it.mode.toString(8)} 0:0 ${it.content} @${T}`;
    return `${it.path} symlink  0:0 -> ${it.target} @${T}`;
  }).sort();
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
  return 'ok';
}

/** Register the suite for one implementation. */
export function fsSuite(name: string, make: SiteFactory): void {
  describe(`fs suite: ${name}`, () => {
    const withSite = (title: string, fn: (fs: MutableFsLike, p: (rel: string) => string, root: string) => Promise<void>) => {
      it(title, async () => {
        const site = await make();
        try {
          await fn(site.fs, (rel) => `${site.root}/${rel}`, site.root);
        } finally {
          await site.dispose();
        }
      });
    };

    withSite('reads the fixture: listing, contents, stat', async (fs, p, root) => {
      expect(await listing(fs, root)).toEqual(fixtureListing(FIXTURE));
      const st: FileStat = await fs.lstat(p('a/sub/f2'));
      expect([st.type, st.size, st.mode, st.isFile(), st.isDirectory(), st.mtimeNs]).toEqual(['file', 7, 0o644, true, false, T]);
      expect((await fs.lstat(p('a'))).isDirectory()).toBe(true);
    });

    withSite('positional reads, EOF, EISDIR', async (fs, p) => {
      const fh = await fs.open(p('a/sub/f2'));
      const buf = new Uint8Array(10);
      expect(await fh.read(buf, 2, 3, 4)).toBe(3);
      expect(dec.decode(buf.subarray(2, 5))).toBe('two');
      expect(await fh.read(buf, 0, 10, 5)).toBe(2);
      expect(await fh.read(buf, 0, 10, 7)).toBe(0);
      await fh.close();
      // node opens a directory and fails on read; MemoryFs and the view fail on open: same code.
      expect(await code(readAll(fs, p('a')))).toBe('EISDIR');
      expect(await code(fs.open(p('nope')))).toBe('ENOENT');
    });

    withSite('readdir: names, through a symlink, errors', async (fs, p) => {
      expect((await fs.readdir(p('a'))).sort()).toEqual(['f1', 'sub']);
      expect((await fs.readdir(p('b'))).sort()).toEqual(['f1', 'sub']);
      expect(await fs.readdir(p('c'))).toEqual([]);
      expect(await code(fs.readdir(p('top')))).toBe('ENOTDIR');
      expect(await code(fs.readdir(p('nope')))).toBe('ENOENT');
    });

    withSite('symlinks: lstat, readlink, followed in the middle and by open', async (fs, p) => {
      const st = await fs.lstat(p('b'));
      expect([st.type, st.isSymbolicLink(), st.size]).toEqual(['symlink', true, 1]);
      expect(await fs.readlink(p('b'))).toBe('a');
      expect(await readAll(fs, p('b/sub/f2'))).toBe('two two');
      expect(await code(fs.readlink(p('top')))).toBe('EINVAL');
      await fs.symlink('sub/f2', p('a/ln'));
      expect(await readAll(fs, p('a/ln'))).toBe('two two');
      expect(await code(fs.symlink('x', p('top')))).toBe('EEXIST');
      await fs.symlink('c/made', p('dangling'));
      await fs.writeFile(p('dangling'), enc.encode('via a dangling link'));
      expect(await readAll(fs, p('c/made'))).toBe('via a dangling link');
      expect((await fs.lstat(p('dangling'))).type).toBe('symlink');
      await fs.symlink('loop', p('loop'));
      expect(await code(fs.open(p('loop')))).toBe('ELOOP');
    });

    withSite('write: new file, overwrite keeps mode and owner, write through a symlink', async (fs, p, root) => {
      await fs.writeFile(p('c/new'), enc.encode('fresh'));
      expect(await readAll(fs, p('c/new'))).toBe('fresh');
      expect((await fs.lstat(p('c/new'))).mode).toBe(0o644);
      await fs.writeFile(p('a/f1'), enc.encode('changed!'));
      const st = await fs.lstat(p('a/f1'));
      expect([st.mode, st.uid, st.size]).toEqual([0o640, 0, 8]);
      expect(await readAll(fs, p('a/f1'))).toBe('changed!');
      await fs.writeFile(p('b/sub/f2'), enc.encode('via link'));
      expect(await readAll(fs, p('a/sub/f2'))).toBe('via link');
      expect(await code(fs.writeFile(p('a'), enc.encode('x')))).toBe('EISDIR');
      expect(await code(fs.writeFile(p('nope/x'), enc.encode('x')))).toBe('ENOENT');
      expect((await listing(fs, root, { mtimes: false })).length).toBe(FIXTURE.length + 1);
    });

    withSite('createFile: exclusive, written in pieces', async (fs, p) => {
      expect(await code(fs.createFile(p('top'), 0o644))).toBe('EEXIST');
      expect(await code(fs.createFile(p('b'), 0o644))).toBe('EEXIST');
      const h = await fs.createFile(p('a/sub/g'), 0o600);
      await h.write(enc.encode('ab'));
      await h.write(enc.encode('cd'));
      await h.close();
      expect(await readAll(fs, p('a/sub/g'))).toBe('abcd');
      expect((await fs.lstat(p('a/sub/g'))).mode).toBe(0o600);
    });

    withSite('mkdir: new, EEXIST, ENOENT, ENOTDIR', async (fs, p) => {
      await fs.mkdir(p('a/sub/d'), { mode: 0o755 });
      expect((await fs.lstat(p('a/sub/d'))).type).toBe('dir');
      expect(await fs.readdir(p('a/sub/d'))).toEqual([]);
      expect(await code(fs.mkdir(p('a'), { mode: 0o755 }))).toBe('EEXIST');
      expect(await code(fs.mkdir(p('x/y'), { mode: 0o755 }))).toBe('ENOENT');
      expect(await code(fs.mkdir(p('top/y'), { mode: 0o755 }))).toBe('ENOTDIR');
    });

    withSite('unlink: files and symlinks go, directories refuse', async (fs, p) => {
      await fs.unlink(p('a/f1'));
      expect(await code(fs.lstat(p('a/f1')))).toBe('ENOENT');
      expect(await fs.readdir(p('a'))).toEqual(['sub']);
      await fs.unlink(p('b'));
      expect(await code(fs.lstat(p('b')))).toBe('ENOENT');
      expect((await fs.lstat(p('a'))).type).toBe('dir');
      expect(await code(fs.unlink(p('a/f1')))).toBe('ENOENT');
      expect(await code(fs.unlink(p('c')))).toBe('EISDIR');
    });

    withSite('delete then re-create a file', async (fs, p) => {
      await fs.unlink(p('a/f1'));
      await fs.writeFile(p('a/f1'), enc.encode('again'));
      expect(await readAll(fs, p('a/f1'))).toBe('again');
      expect((await fs.lstat(p('a/f1'))).mode).toBe(0o644);
    });

    withSite('rm of a directory, re-created empty', async (fs, p, root) => {
      await fs.rm(p('a'), { recursive: true });
      expect(await code(fs.lstat(p('a')))).toBe('ENOENT');
      expect(await code(fs.lstat(p('a/sub/f2')))).toBe('ENOENT');
      expect(await code(fs.open(p('b/f1')))).toBe('ENOENT');
      await fs.mkdir(p('a'), { mode: 0o700 });
      expect(await fs.readdir(p('a'))).toEqual([]);
      expect(await code(fs.lstat(p('a/sub')))).toBe('ENOENT');
      await fs.writeFile(p('a/f1'), enc.encode('n'));
      expect((await listing(fs, root, { mtimes: false })).filter((l) => l.startsWith('a'))).toEqual(['a dir 700 0:0', 'a/f1 file 644 0:0 n']);
    });

    withSite('rename: files across directories, over a file, errors', async (fs, p) => {
      await fs.rename(p('a/f1'), p('c/moved'));
      expect(await code(fs.lstat(p('a/f1')))).toBe('ENOENT');
      expect(await readAll(fs, p('c/moved'))).toBe('one');
      const st = await fs.lstat(p('c/moved'));
      expect([st.mode, st.mtimeNs]).toEqual([0o640, T]);
      await fs.rename(p('c/moved'), p('top'));
      expect(await readAll(fs, p('top'))).toBe('one');
      expect(await fs.readdir(p('c'))).toEqual([]);
      expect(await code(fs.rename(p('top'), p('a')))).toBe('EISDIR');
      expect(await code(fs.rename(p('c'), p('top')))).toBe('ENOTDIR');
      expect(await code(fs.rename(p('c'), p('a')))).toBe('ENOTEMPTY');
      expect(await code(fs.rename(p('nope'), p('x')))).toBe('ENOENT');
      await fs.rename(p('b'), p('c/b2'));
      expect(await fs.readlink(p('c/b2'))).toBe('a');
    });

    withSite('rename: a directory with its contents, then the old name re-created', async (fs, p, root) => {
      await fs.rename(p('a'), p('c/a2'));
      expect(await code(fs.lstat(p('a')))).toBe('ENOENT');
      expect(await readAll(fs, p('c/a2/sub/f2'))).toBe('two two');
      expect((await fs.readdir(p('c/a2'))).sort()).toEqual(['f1', 'sub']);
      expect((await fs.lstat(p('c/a2/sub'))).mode).toBe(0o750);
      await fs.mkdir(p('a'), { mode: 0o755 });
      expect(await fs.readdir(p('a'))).toEqual([]);
      await fs.rename(p('c/a2/sub'), p('a/sub'));
      expect(await fs.readdir(p('c/a2'))).toEqual(['f1']);
      expect(await code(fs.rename(p('a'), p('c')))).toBe('ENOTEMPTY');
      await fs.rm(p('c/a2'), { recursive: true });
      await fs.rename(p('a'), p('c'));
      expect(await fs.readdir(p('c'))).toEqual(['sub']);
      expect(await listing(fs, root, { mtimes: false })).toEqual([
        'b symlink  0:0 -> a', 'c dir 755 0:0', 'c/sub dir 750 0:0', 'c/sub/f2 file 644 0:0 two two', 'top file 644 0:0 top',
      ]);
    });

    withSite('metadata: chmod, lchown, lutimes', async (fs, p) => {
      await fs.chmod(p('a/sub/f2'), 0o600);
      await fs.lchown(p('a/sub/f2'), 12, 34);
      await fs.lutimes(p('a/sub/f2'), T + 5_000_000_000n);
      await fs.chmod(p('a/sub'), 0o700);
      await fs.lchown(p('b'), 7, 8);
      const f = await fs.lstat(p('a/sub/f2'));
      expect([f.mode, f.uid, f.gid, f.mtimeNs, f.size]).toEqual([0o600, 12, 34, T + 5_000_000_000n, 7]);
      expect(await readAll(fs, p('a/sub/f2'))).toBe('two two');
      expect((await fs.lstat(p('a/sub'))).mode).toBe(0o700);
      expect((await fs.readdir(p('a/sub')))).toEqual(['f2']);
      const l = await fs.lstat(p('b'));
      expect([l.uid, l.gid]).toEqual([7, 8]);
      expect((await fs.lstat(p('a'))).uid).toBe(0);
    });

    withSite('hardlinks: one inode, two names', async (fs, p) => {
      await fs.link(p('a/f1'), p('c/f1'));
      const [x, y] = [await fs.lstat(p('a/f1')), await fs.lstat(p('c/f1'))];
      expect(x.ino).toBe(y.ino);
      expect([x.nlink, y.nlink]).toEqual([2, 2]);
      await fs.writeFile(p('c/f1'), enc.encode('shared'));
      expect(await readAll(fs, p('a/f1'))).toBe('shared');
      await fs.unlink(p('a/f1'));
      expect((await fs.lstat(p('c/f1'))).nlink).toBe(1);
      expect(await code(fs.link(p('a'), p('c/d')))).toBe('EPERM');
    });
  });
}
