/**
 * The snapshot store's platform port for Node (and Deno through node:*): files, the O_EXCL lock
 * primitive, process liveness, and materialising trees.
 *
 * Materialising uses GNU cp (coreutils), which copies what node:fs cannot: nanosecond mtimes
 * (fs.utimes takes float seconds and loses the last digits, so a commit would see every copied
 * file as changed), xattrs (security.capability), device nodes and fifos, and hardlinks inside
 * the tree. `cp -a -l` makes the hardlink farm, `cp -a --reflink=always` clones, `cp -a
 * --reflink=never` copies. Without GNU cp materialising fails with ERR_UNSUPPORTED.
 * Reflink support is probed once per store, with fs.copyFile(COPYFILE_FICLONE_FORCE) on a real
 * file in the store (fails on ext4 and tmpfs; works on btrfs, XFS with reflink=1, bcachefs).
 */
import { constants, copyFile, link, mkdir, open, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { lstatSync, readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { LayerkitError } from '../errors.ts';
import { nodeFsSyncReads } from '../fs/node-sync.ts';
import { SnapshotStore, type OpenStoreOptions } from '../snapshot/store.ts';
import type { StorePort, TempFile, Usage } from '../snapshot/types.ts';
import { nodeLockPort } from '../fs/node-lock.ts';

function isCode(e: unknown, ...codes: string[]): boolean {
  return codes.includes((e as { code?: string })?.code ?? '');
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => { stderr = (stderr + d).slice(-2000); });
    child.once('error', (e) => reject(isCode(e, 'ENOENT')
      ? new LayerkitError('ERR_UNSUPPORTED', `${cmd} is not on the PATH (GNU coreutils is needed to materialise snapshots)`, { cmd })
      : e));
    child.once('close', (code) => code === 0 ? resolve() : reject(Object.assign(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${stderr.trim()}`), { code: 'EIO' })));
  });
}

const CP_FLAGS = { hardlink: ['-a', '-l'], reflink: ['-a', '--reflink=always'], copy: ['-a', '--reflink=never'] } as const;

/** Walk `dir` (not following symlinks) calling fn with each entry's bigint stat. */
function walkStats(dir: string, fn: (st: import('node:fs').BigIntStats) => void): void {
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    fn(lstatSync(d, { bigint: true }));
    for (const name of readdirSync(d)) {
      const p = `${d}/${name}`;
      const st = lstatSync(p, { bigint: true });
      if (st.isDirectory()) stack.push(p);
      else fn(st);
    }
  }
}

export const nodeStorePort: StorePort = {
  ...nodeLockPort,
  fs: nodeFsSyncReads,
  async writeFileAtomic(path, data, tmp) {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
    await this.syncDir(path.slice(0, path.lastIndexOf('/')) || '/');
  },
  async readdir(path) {
    try {
      return (await readdir(path)).sort();
    } catch (e) {
      if (isCode(e, 'ENOENT')) return [];
      throw e;
    }
  },
  async mkdirp(path) {
    await mkdir(path, { recursive: true });
  },
  rename,
  async syncDir(path) {
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } catch (e) {
      if (!isCode(e, 'EINVAL', 'EISDIR', 'EPERM', 'EBADF')) throw e; // platforms that cannot fsync a directory
    } finally {
      await fh.close();
    }
  },
  async createTemp(path): Promise<TempFile> {
    const fh = await open(path, 'wx', 0o644);
    let closed = false;
    const close = async () => {
      if (!closed) {
        closed = true;
        await fh.close();
      }
    };
    return {
      async write(chunk) {
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      },
      async finish() {
        await fh.sync();
        await close();
      },
      async abort() {
        await close().catch(() => {});
        await rm(path, { force: true });
      },
    };
  },
  async probe(dir) {
    const id = randomBytes(6).toString('hex');
    const a = `${dir}/probe-${id}-a`;
    await writeFile(a, 'layerkit probe\n');
    const result = { reflink: false, hardlink: false };
    try {
      try {
        await copyFile(a, `${a}-clone`, constants.COPYFILE_FICLONE_FORCE);
        result.reflink = true;
      } catch { /* EOPNOTSUPP, EXDEV, ENOTSUP: no clones here */ }
      try {
        await link(a, `${a}-link`);
        result.hardlink = true;
      } catch { /* a filesystem without hardlinks */ }
    } finally {
      for (const p of [a, `${a}-clone`, `${a}-link`]) await rm(p, { force: true });
    }
    return result;
  },
  async materialize(src, dst, method) {
    // `src/.` into the existing dst: the contents and the root directory's own metadata.
    await run('cp', [...CP_FLAGS[method], '--no-target-directory', `${src}/.`, dst]);
  },
  async usage(dir, except): Promise<Usage> {
    const skip = new Set<bigint>();
    if (except) walkStats(except, (st) => skip.add(st.ino));
    const seen = new Set<bigint>();
    let size = 0;
    walkStats(dir, (st) => {
      if (skip.has(st.ino) || seen.has(st.ino)) return;
      seen.add(st.ino);
      size += Number(st.blocks) * 512;
    });
    return { size, inodes: seen.size };
  },
  async apparent(dir): Promise<Usage> {
    const seen = new Set<bigint>();
    let size = 0;
    walkStats(dir, (st) => {
      if (seen.has(st.ino)) return;
      seen.add(st.ino);
      size += Number(st.blocks) * 512;
    });
    return { size, inodes: seen.size };
  },
};

/** Open (creating if needed) the snapshot store at `root` with the Node port. */
export function openStore(root: string, options: OpenStoreOptions = {}): Promise<SnapshotStore> {
  return SnapshotStore.open(nodeStorePort, root.startsWith('/') ? root : `${process.cwd()}/${root}`, options);
}

/** sha256 hex of a file, streamed (for store check). */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    for await (const chunk of fh.createReadStream({ autoClose: false })) h.update(chunk as Uint8Array);
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}
