/**
 * What one layer of an apply does to directories, kept until the layer ends (apply.ts makes one per
 * layer):
 *
 * - the names the layer wrote, for opaque markers (A5: remove everything below a directory that
 *   this layer did not write). A directory the layer made (for its entry, or as a missing parent,
 *   A7) holds only the layer's names, so it is kept whole and nothing below it is recorded: a
 *   layer of new trees keeps a set of its top names only;
 * - A9: the modes and times of the directories the layer lists, set after the layer (a read-only
 *   mode would block writing below them; writing below them moves their mtime);
 * - the mtime of each directory the layer changes below without listing it, put back after the
 *   layer (as umoci does);
 * - the directories the layer lists again, whose xattrs the entry no longer names go (apply-xattrs.ts).
 *
 * Directories are looked up again by name at the end, unless no directory or symlink was removed
 * during the layer (RootResolver.generation): then every directory seen is still where it was.
 */
import { codeOf } from '../errors.ts';
import type { MutableFsLike } from '../fs/types.ts';
import type { RootResolver } from './safe-path.ts';
import type { ApplyXattrs, RelistedDir } from './apply-xattrs.ts';

export class LayerDirs {
  readonly #fs: MutableFsLike;
  readonly #root: string;
  readonly #paths: RootResolver;
  readonly #generation: number;
  /** Names this layer wrote whose directory it did not make. */
  readonly #written: Set<string>;
  /** Directories this layer made. */
  readonly #made = new Set<string>();
  /** Listed directories by name: [name, mode, mtime ns]. */
  readonly #listed: [string, number, bigint][] = [];
  /** Directories (by cleaned name) changed below: their mtime before the first change (null: did not exist, or listed). */
  readonly #touched = new Map<string, bigint | null>();
  /** Directories listed again: [name, the xattr names the entry sets, whether its owner was recorded]. */
  readonly #relisted: [string, Set<string>, boolean][] = [];

  /** `keep`: host paths no opaque marker of this layer may remove (the incomplete marker). */
  constructor(fs: MutableFsLike, root: string, paths: RootResolver, keep: readonly string[]) {
    this.#fs = fs;
    this.#root = root;
    this.#paths = paths;
    this.#generation = paths.generation;
    this.#written = new Set(keep);
  }

  /** The layer made the directory `host` (for its entry, or as a missing parent). */
  made(host: string): void {
    this.#made.add(host);
  }

  /** The layer wrote `host` (anything but a directory it made). */
  wrote(host: string): void {
    const k = host.lastIndexOf('/');
    const parent = k > 0 ? host.slice(0, k) : '/';
    if (!this.#made.has(parent)) this.#written.add(host);
  }

  /** For an opaque marker: 'whole' (the layer made it), 'written' (look inside), or 'lower' (remove it). */
  ownerOf(host: string): 'whole' | 'written' | 'lower' {
    return this.#made.has(host) ? 'whole' : this.#written.has(host) ? 'written' : 'lower';
  }

  /** The layer lists directory `rel`: `mode` and `mtimeNs` are set after the layer. */
  listed(rel: string, mode: number, mtimeNs: bigint): void {
    this.#listed.push([rel, mode, mtimeNs]);
    // its time is set after the layer: the one before the changes below it is neither looked up
    // (touch) nor put back
    this.#touched.set(rel, null);
  }

  /** The layer lists directory `rel` again, over an existing one. */
  relisted(rel: string, xattrNames: Set<string>, owned: boolean): void {
    this.#relisted.push([rel, xattrNames, owned]);
  }

  /** Remember the mtimes of the directories above `rel` before the first change below them. */
  async touch(rel: string): Promise<void> {
    let k = rel.lastIndexOf('/');
    let dir = k < 0 ? '' : rel.slice(0, k);
    for (;;) {
      if (this.#touched.has(dir)) return; // its ancestors were recorded with it
      this.#touched.set(dir, (await this.#stat(dir))?.mtimeNs ?? null);
      if (dir === '') return;
      k = dir.lastIndexOf('/');
      dir = k < 0 ? '' : dir.slice(0, k);
    }
  }

  /**
   * After the layer: stale xattrs off re-listed directories (unless `xattrs` is undefined), the
   * unlisted directories' times back, then the listed ones' modes and times. By name, resolved again.
   */
  async finish(xattrs: ApplyXattrs | undefined, rootless: boolean): Promise<void> {
    if (xattrs && this.#relisted.length > 0) {
      const dirs: RelistedDir[] = [];
      for (const [rel, keep, owned] of this.#relisted) {
        const host = await this.#now(rel);
        if (host !== null) dirs.push({ host, rel, keep, ownerRecorded: rootless && owned });
      }
      await xattrs.dropStale(dirs);
    }
    for (const [rel, t] of this.#touched) {
      if (t === null) continue;
      const host = await this.#now(rel);
      if (host !== null) await this.#fs.lutimes(host, t);
    }
    for (const [rel, mode, t] of this.#listed) {
      const host = await this.#now(rel);
      if (host === null) continue; // removed or replaced later in the layer
      await this.#fs.chmod(host, mode);
      await this.#fs.lutimes(host, t);
    }
  }

  /** Host path of the directory `rel` as the target is now (null: gone, or not a directory). */
  async #now(rel: string): Promise<string | null> {
    if (this.#paths.generation === this.#generation) return rel === '' ? this.#root : this.#paths.name(rel, false);
    return (await this.#stat(rel))?.host ?? null;
  }

  async #stat(rel: string): Promise<{ host: string; mtimeNs: bigint } | null> {
    const host = rel === '' ? this.#root : await this.#paths.name(rel, false);
    if (host === null) return null;
    try {
      const st = await this.#fs.lstat(host);
      return st.type === 'dir' ? { host, mtimeNs: st.mtimeNs } : null;
    } catch (err) {
      if (codeOf(err) === 'ENOENT' || codeOf(err) === 'ENOTDIR') return null;
      throw err;
    }
  }
}
