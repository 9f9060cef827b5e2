/**
 * Writing into an active snapshot, safely for every materialisation method.
 *
 * In a hardlink farm (store.json materialize.active = "hardlink") the files of an active snapshot
 * ARE its parent's files (same inodes): writing one in place, or changing its mode, owner or
 * times, would change the committed parent and every sibling. This writer never modifies an inode
 * with more than one link: it copies the file up first (`cp -a`, keeping the nanosecond mtime,
 * owner and xattrs, then rename over the name), like overlayfs does. Content writes always go to
 * a new inode (temp file + rename). Consequences: in hardlink mode, a process that writes into the
 * tree directly (not through this writer) changes the lower snapshots: give such writers a store
 * made with --materialize copy (or a reflink filesystem). And like overlayfs without its index, a
 * file hardlinked to another name is split from it on its first change.
 *
 * Views and committed snapshots cannot be written (ERR_SNAPSHOT_READONLY). Paths are relative to
 * the snapshot root; '..', empty components and a path through a symlink are refused
 * (ERR_SNAPSHOT_PATH): the writer never follows a link out of the tree.
 */
import { chmod, lchown, lstat, mkdir, rename, rm, symlink, lutimes, open, readFile, link } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { LayerkitError, wrapError } from '../errors.ts';
import type { SnapshotStore } from '../snapshot/store.ts';
import type { FileData, TreeWriter } from '../snapshot/tree-writer.ts';

export interface SnapshotWriter extends TreeWriter {
  readonly root: string;
}

/** A writer for the active snapshot `key` (ERR_SNAPSHOT_READONLY for views and committed ones). */
export async function openWriter(store: SnapshotStore, key: string): Promise<SnapshotWriter> {
  const info = await store.stat(key);
  if (info.kind !== 'active') {
    throw new LayerkitError('ERR_SNAPSHOT_READONLY', `snapshot ${JSON.stringify(key)} is ${info.kind === 'view' ? 'a view' : 'committed'}: read-only`, { key, kind: info.kind });
  }
  return new Writer(info.path, key);
}

class Writer implements SnapshotWriter {
  readonly root: string;
  readonly #key: string;
  constructor(root: string, key: string) {
    this.root = root;
    this.#key = key;
  }

  /** The absolute path of `rel`, after checking no component escapes or passes through a symlink. */
  async #resolve(rel: string): Promise<string> {
    const parts = rel.replace(/^\/+/, '').split('/');
    if (rel === '' || parts.some((p) => p === '' || p === '.' || p === '..')) {
      throw new LayerkitError('ERR_SNAPSHOT_PATH', `${this.#key}: ${JSON.stringify(rel)} is not a plain relative path inside the snapshot`, { key: this.#key, path: rel });
    }
    let cur = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      cur += '/' + parts[i];
      const st = await lstat(cur).catch((e) => { if ((e as { code?: string }).code === 'ENOENT') return undefined; throw e; });
      if (st?.isSymbolicLink()) {
        throw new LayerkitError('ERR_SNAPSHOT_PATH', `${this.#key}: ${JSON.stringify(rel)} goes through the symlink ${parts.slice(0, i + 1).join('/')}`, { key: this.#key, path: rel });
      }
    }
    return `${cur}/${parts[parts.length - 1]}`;
  }

  async #do<T>(what: string, rel: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw wrapError(e, `${this.#key}: ${what} ${rel}`);
    }
  }

  /** Give `abs` an inode of its own if it shares one (hardlink farm, or a hardlink in the tree). */
  async #copyUp(abs: string): Promise<void> {
    const st = await lstat(abs);
    if (st.isDirectory() || st.nlink <= 1) return;
    if (!st.isFile() && !st.isSymbolicLink()) {
      throw new LayerkitError('ERR_UNSUPPORTED', `${abs}: a shared ${st.isFIFO() ? 'fifo' : 'device'} cannot be copied up here`, { path: abs });
    }
    const tmp = `${abs.slice(0, abs.lastIndexOf('/'))}/.layerkit-copyup-${randomBytes(6).toString('hex')}`;
    const r = spawnSync('cp', ['-a', '--reflink=auto', abs, tmp], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cp -a ${abs}: ${r.error?.message ?? r.stderr}`);
    await rename(tmp, abs);
  }

  writeFile(rel: string, data: FileData, options: { mode?: number } = {}): Promise<void> {
    return this.#do('write', rel, async () => {
      const abs = await this.#resolve(rel);
      const old = await lstat(abs).catch(() => undefined);
      if (old?.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      // Always a fresh inode: a shared one is never written.
      const tmp = `${abs.slice(0, abs.lastIndexOf('/'))}/.layerkit-write-${randomBytes(6).toString('hex')}`;
      const mode = options.mode ?? (old?.isFile() ? old.mode & 0o7777 : 0o644);
      const fh = await open(tmp, 'wx', mode);
      try {
        if (typeof data === 'string' || data instanceof Uint8Array) await fh.writeFile(data);
        else {
          for await (const chunk of data) {
            let off = 0;
            while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
          }
        }
      } catch (e) {
        await fh.close();
        await rm(tmp, { force: true });
        throw e;
      }
      await fh.close();
      await chmod(tmp, mode);
      if (old?.isFile()) await lchown(tmp, old.uid, old.gid);
      await rename(tmp, abs);
    });
  }

  readFile(rel: string): Promise<Uint8Array> {
    return this.#do('read', rel, async () => new Uint8Array(await readFile(await this.#resolve(rel))));
  }

  mkdir(rel: string, mode = 0o755): Promise<void> {
    return this.#do('mkdir', rel, async () => {
      const abs = await this.#resolve(rel);
      await mkdir(abs, { mode });
      await chmod(abs, mode);
    });
  }

  remove(rel: string): Promise<void> {
    return this.#do('remove', rel, async () => {
      const abs = await this.#resolve(rel);
      await lstat(abs);
      await rm(abs, { recursive: true });
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.#do('rename', `${from} -> ${to}`, async () => rename(await this.#resolve(from), await this.#resolve(to)));
  }

  symlink(target: string, rel: string): Promise<void> {
    return this.#do('symlink', rel, async () => symlink(target, await this.#resolve(rel)));
  }

  link(existing: string, rel: string): Promise<void> {
    return this.#do('link', rel, async () => {
      const src = await this.#resolve(existing);
      const st = await lstat(src);
      if (!st.isFile()) throw Object.assign(new Error('only regular files can be hardlinked'), { code: 'EPERM' });
      // Link to a private copy: the new name must not join a lower snapshot's inode.
      await this.#copyUp(src);
      await link(src, await this.#resolve(rel));
    });
  }

  chmod(rel: string, mode: number): Promise<void> {
    return this.#do('chmod', rel, async () => {
      const abs = await this.#resolve(rel);
      await this.#copyUp(abs);
      await chmod(abs, mode);
    });
  }

  chown(rel: string, uid: number, gid: number): Promise<void> {
    return this.#do('chown', rel, async () => {
      const abs = await this.#resolve(rel);
      await this.#copyUp(abs);
      await lchown(abs, uid, gid);
    });
  }

  utimes(rel: string, atime: number, mtime: number): Promise<void> {
    return this.#do('utimes', rel, async () => {
      const abs = await this.#resolve(rel);
      await this.#copyUp(abs);
      await lutimes(abs, atime, mtime);
    });
  }
}
