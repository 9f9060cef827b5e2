import { describe, expect, it } from 'vitest';
import { MemoryFs } from '../../src/fs/memory.ts';

const text = async (fs: MemoryFs, p: string) => {
  const fh = await fs.open(p);
  const buf = new Uint8Array(100);
  const n = await fh.read(buf, 0, 100, 0);
  await fh.close();
  return new TextDecoder().decode(buf.subarray(0, n));
};

describe('MemoryFs', () => {
  it('follows symlinks in the middle of a path and on open, not on lstat', async () => {
    const fs = new MemoryFs();
    await fs.mkdir('/a/b', { recursive: true });
    await fs.writeFile('/a/b/f', 'hi');
    await fs.symlink('a/b', '/ln');
    await fs.symlink('/a', '/abs');
    await fs.symlink('../b/f', '/a/b/rel');
    expect(await text(fs, '/ln/f')).toBe('hi');
    expect(await text(fs, '/abs/b/../b/f')).toBe('hi');
    expect(await text(fs, '/ln/rel')).toBe('hi');
    expect((await fs.lstat('/ln')).type).toBe('symlink');
    expect((await fs.lstat('/ln')).size).toBe(3);
    expect(await fs.readlink('/ln')).toBe('a/b');
    await fs.symlink('/loop', '/loop');
    await expect(fs.open('/loop')).rejects.toMatchObject({ code: 'ELOOP' });
  });

  it('keeps link counts, inode numbers and node-style errors', async () => {
    const fs = new MemoryFs({ dev: 7 });
    await fs.writeFile('/f', 'x');
    await fs.link('/f', '/g');
    const [f, g] = [await fs.lstat('/f'), await fs.lstat('/g')];
    expect(f.ino).toBe(g.ino);
    expect(f.dev).toBe(7n);
    expect(g.nlink).toBe(2);
    await fs.unlink('/g');
    expect((await fs.lstat('/f')).nlink).toBe(1);
    await expect(fs.lstat('/nope')).rejects.toMatchObject({ code: 'ENOENT', message: "ENOENT: no such file or directory, lstat '/nope'" });
    await expect(fs.readdir('/f')).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(fs.mkdir('/f')).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(fs.readlink('/f')).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('rename replaces atomically; open handles keep old content; dir mtimes move', async () => {
    let t = 1000n;
    const fs = new MemoryFs({ now: () => ++t });
    await fs.mkdir('/d');
    await fs.writeFile('/d/old', 'old');
    const before = (await fs.lstat('/d')).mtimeNs;
    const fh = await fs.open('/d/old');
    await fs.writeFile('/d/tmp', 'new');
    await fs.rename('/d/tmp', '/d/old');
    expect(await fs.readdir('/d')).toEqual(['old']);
    expect(await text(fs, '/d/old')).toBe('new');
    const buf = new Uint8Array(3);
    await fh.read(buf, 0, 3, 0);
    expect(new TextDecoder().decode(buf)).toBe('old');
    expect((await fs.lstat('/d')).mtimeNs).toBeGreaterThan(before);
  });

  it('stores devices, fifos, sockets, xattrs, owners and ns mtimes', async () => {
    const fs = new MemoryFs();
    await fs.mknod('/null', 'char', { major: 1, minor: 3, mode: 0o666 });
    await fs.mknod('/s', 'socket');
    await fs.setXattr('/s', 'user.a', new Uint8Array([1]));
    await fs.lchown('/s', 5, 6);
    await fs.lutimes('/s', 123456789n);
    expect(await fs.lstat('/null')).toMatchObject({ type: 'char', devmajor: 1, devminor: 3, mode: 0o666 });
    expect(await fs.lstat('/s')).toMatchObject({ type: 'socket', uid: 5, gid: 6, mtimeNs: 123456789n });
    expect(await fs.xattrs('/s')).toEqual({ 'user.a': new Uint8Array([1]) });
  });
});
