/**
 * Hash a file through the FsLike port, reading straight into a window of kernel memory: the bytes
 * are read once, into WASM memory, and every hasher works on them in place.
 */
import type { FsLike } from '../fs/types.ts';
import { kernels } from '../wasm/loader.ts';
import { wrapError } from '../errors.ts';
import { ContentHasher, type ContentHash, type HashOptions } from './content.ts';

/** Bytes per read: large enough to amortise a syscall, small enough to stay in L2. */
export const FILE_WINDOW = 512 * 1024;

export async function hashFile(fs: FsLike, path: string, options?: HashOptions): Promise<ContentHash> {
  let fh;
  try {
    fh = await fs.open(path);
  } catch (e) {
    throw wrapError(e, `hash file ${path}`);
  }
  const k = kernels();
  const ptr = k.alloc(FILE_WINDOW);
  const hasher = new ContentHasher(options);
  try {
    let pos = 0;
    for (;;) {
      // If another task grows kernel memory while a read is in flight, the view it filled belonged
      // to the old (detached) buffer: read the same range again into a fresh view.
      let n: number;
      for (;;) {
        const mem = k.memory.buffer;
        n = await fh.read(k.view(ptr, FILE_WINDOW), 0, FILE_WINDOW, pos);
        if (mem === k.memory.buffer) break;
      }
      if (n === 0) break;
      hasher.updateInKernel(ptr, n);
      pos += n;
    }
    return hasher.finish();
  } catch (e) {
    hasher.dispose();
    throw wrapError(e, `hash file ${path}`);
  } finally {
    k.free(ptr);
    await fh.close();
  }
}
