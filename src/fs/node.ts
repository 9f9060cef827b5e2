/** The FsLike adapter for node:fs (also used by Deno through its node:fs compatibility). */
import { open, lstat } from 'node:fs/promises';
import type { FsLike, FileHandleLike, StatLike } from './types.ts';

class NodeFileHandle implements FileHandleLike {
  readonly #fh: import('node:fs/promises').FileHandle;
  constructor(fh: import('node:fs/promises').FileHandle) {
    this.#fh = fh;
  }
  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const { bytesRead } = await this.#fh.read(buffer, offset, length, position);
    return bytesRead;
  }
  close(): Promise<void> {
    return this.#fh.close();
  }
}

export const nodeFs: FsLike = {
  async open(path: string): Promise<FileHandleLike> {
    return new NodeFileHandle(await open(path, 'r'));
  },
  lstat(path: string): Promise<StatLike> {
    return lstat(path);
  },
};
