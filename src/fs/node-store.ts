/** StoreFsLike for node:fs: exclusive creates, fsync of files and directories. */
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { nodeFs } from './node.ts';
import { nodeLockPort } from './node-lock.ts';
import type { StoreFsLike, WritableFileLike } from './store-types.ts';

export const nodeStoreFs: StoreFsLike = {
  ...nodeFs,
  lock: nodeLockPort,
  async createFile(path: string): Promise<WritableFileLike> {
    const fh = await open(path, 'wx', 0o644);
    return {
      async write(chunk) {
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      },
      sync: () => fh.sync(),
      close: () => fh.close(),
    };
  },
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  async mkdirp(path) {
    await mkdir(path, { recursive: true });
  },
  async syncDir(path) {
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } catch (e) {
      // Some filesystems refuse fsync on a directory (EINVAL); the rename is still atomic there.
      if ((e as { code?: string }).code !== 'EINVAL') throw e;
    } finally {
      await fh.close();
    }
  },
};
