/**
 * Scratch files: what a pass that must not hold everything in memory (flatten's sorted survivor
 * pass, external-sort.ts) writes once, reads back once from the start, then drops. In memory
 * (memoryScratch: the default where there is no filesystem; bounded by nothing) or as files in a
 * directory through the store port (storeScratch: removed when dropped; a crash can leave one
 * behind, named .layerkit-scratch-*, which nothing reads).
 */
import type { StoreFsLike, WritableFileLike } from '../fs/store-types.ts';
import { wrapError } from '../errors.ts';

export interface ScratchFile {
  /** Append (the bytes are copied or written before the promise resolves). */
  write(chunk: Uint8Array): Promise<void>;
  /** Done writing: read() may start. */
  finish(): Promise<void>;
  /** Everything written, from the start, in pieces of about `chunkSize` bytes. */
  read(chunkSize: number): AsyncIterable<Uint8Array>;
  /** Drop it (idempotent). */
  remove(): Promise<void>;
}

export interface Scratch {
  create(): Promise<ScratchFile>;
}

export function memoryScratch(): Scratch {
  return {
    async create() {
      let chunks: Uint8Array[] = [];
      return {
        async write(c) {
          chunks.push(c.slice());
        },
        async finish() {},
        async *read() {
          yield* chunks;
        },
        async remove() {
          chunks = [];
        },
      };
    },
  };
}

/** Scratch files in `dir` (made if missing), through the store port. */
export function storeScratch(fs: StoreFsLike, dir: string): Scratch {
  return {
    async create() {
      await fs.mkdirp(dir);
      const path = `${dir}/.layerkit-scratch-${randomHex()}`;
      let file: WritableFileLike | undefined = await fs.createFile(path);
      let removed = false;
      return {
        async write(c) {
          try {
            await file!.write(c);
          } catch (e) {
            throw wrapError(e, `write scratch file ${path}`);
          }
        },
        async finish() {
          const f = file;
          file = undefined;
          await f?.close();
        },
        async *read(chunkSize) {
          const h = await fs.open(path);
          try {
            for (let pos = 0; ;) {
              const buf = new Uint8Array(chunkSize);
              const n = await h.read(buf, 0, chunkSize, pos);
              if (n === 0) return;
              pos += n;
              yield n === chunkSize ? buf : buf.subarray(0, n);
            }
          } finally {
            await h.close();
          }
        },
        async remove() {
          if (removed) return;
          removed = true;
          await file?.close().catch(() => {});
          file = undefined;
          await fs.unlink(path).catch(() => {});
        },
      };
    },
  };
}

function randomHex(): string {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
