/**
 * Output files written all-or-nothing: bytes go to a temporary name beside the target, are synced,
 * then renamed over it. On failure the temporary file is removed, so nothing half-written is ever
 * left under the name a user asked for.
 */
import { open, rename, rm, realpath, type FileHandle } from 'node:fs/promises';
import { dirname, basename, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LayerkitError, wrapError } from '../errors.ts';

export interface AtomicFile {
  write(chunk: Uint8Array): Promise<void>;
  /** Sync, close and rename into place. */
  commit(): Promise<void>;
  /** Close and remove the temporary file. */
  abort(): Promise<void>;
}

export async function createAtomicFile(path: string): Promise<AtomicFile> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
  let fh: FileHandle;
  try {
    fh = await open(tmp, 'wx', 0o644);
  } catch (e) {
    throw wrapError(e, `write ${path}`);
  }
  let closed = false;
  const close = async () => {
    if (!closed) {
      closed = true;
      await fh.close();
    }
  };
  return {
    async write(chunk) {
      try {
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      } catch (e) {
        throw wrapError(e, `write ${path}`);
      }
    },
    async commit() {
      try {
        await fh.sync();
        await close();
        await rename(tmp, path);
      } catch (e) {
        await rm(tmp, { force: true });
        throw wrapError(e, `write ${path}`);
      }
    },
    async abort() {
      await close().catch(() => {});
      await rm(tmp, { force: true });
    },
  };
}

/** Refuse an output path inside a tree being read: the layer would contain itself. */
export async function assertOutsideTrees(output: string, trees: string[], doing = 'being diffed'): Promise<void> {
  const parent = await realpath(dirname(resolve(output))).catch(() => resolve(dirname(output)));
  const out = join(parent, basename(output));
  for (const t of trees) {
    const root = await realpath(t).catch(() => undefined);
    if (!root) continue;
    if (out === root || out.startsWith(root.endsWith(sep) ? root : root + sep)) {
      throw new LayerkitError('ERR_INVALID_ARG', `output ${output} is inside the tree ${t} ${doing}: write it elsewhere`, { output, tree: t });
    }
  }
}
