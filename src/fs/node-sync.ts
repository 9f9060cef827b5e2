/**
 * nodeFs with synchronous file reads, for the CLI: one process doing one job, where blocking the
 * event loop for a read costs nothing and the thread-pool round trips of fs/promises dominate on
 * trees of many small files (a Debian tree: ~10k files of a few KiB). Library users who share the
 * event loop keep nodeFs (asynchronous reads).
 */
import { openSync, readSync, closeSync } from 'node:fs';
import { nodeFs } from './node.ts';
import type { FileHandleLike, WritableFsLike } from './types.ts';

class SyncFileHandle implements FileHandleLike {
  readonly #fd: number;
  #closed = false;
  constructor(fd: number) {
    this.#fd = fd;
  }
  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return readSync(this.#fd, buffer, offset, length, position);
  }
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }
}

export const nodeFsSyncReads: WritableFsLike = {
  ...nodeFs,
  async open(path: string): Promise<FileHandleLike> {
    return new SyncFileHandle(openSync(path, 'r'));
  },
};
