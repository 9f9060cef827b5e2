/**
 * StoreFsLike over a MemoryFs: for core tests and browsers. A created file is visible (empty)
 * at once and its bytes appear on close, as with a real file written and then closed.
 */
import type { MemoryFs } from './memory.ts';
import type { StoreFsLike, WritableFileLike } from './store-types.ts';

export function memoryStoreFs(mem: MemoryFs): StoreFsLike {
  return {
    open: (p) => mem.open(p),
    lstat: (p) => mem.lstat(p),
    readdir: (p) => mem.readdir(p),
    readlink: (p) => mem.readlink(p),
    xattrs: (p) => mem.xattrs(p),
    async createFile(path: string): Promise<WritableFileLike> {
      let exists = true;
      try {
        await mem.lstat(path);
      } catch {
        exists = false;
      }
      if (exists) throw Object.assign(new Error(`EEXIST: file already exists, open '${path}'`), { code: 'EEXIST', path });
      await mem.writeFile(path, new Uint8Array(0));
      const parts: Uint8Array[] = [];
      let size = 0;
      const flush = async () => {
        const all = new Uint8Array(size);
        let off = 0;
        for (const p of parts) {
          all.set(p, off);
          off += p.length;
        }
        await mem.writeFile(path, all);
      };
      return {
        async write(chunk) {
          parts.push(chunk.slice());
          size += chunk.length;
        },
        sync: flush,
        close: flush,
      };
    },
    rename: (from, to) => mem.rename(from, to),
    unlink: (p) => mem.unlink(p),
    mkdirp: (p) => mem.mkdir(p, { recursive: true }),
    async syncDir() {},
  };
}
