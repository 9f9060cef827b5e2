/**
 * The union view: a MutableFsLike over a read-only lower stack (lower.ts: layer tars read in place
 * through their indexes) and a writable upper (any MutableFsLike directory: a MemoryFs, or a host
 * directory through the node adapter) where every change lands, overlayfs-style.
 *
 * Paths are '/'-separated from the view's root ('/a/b' and 'a/b' are the same); symlinks are
 * followed in the middle of a path (absolute targets from the view's root), final symlinks as each
 * operation says (like the node and memory adapters). Errors are node-style (`code` ENOENT,
 * ENOTDIR, EEXIST, EISDIR, ENOTEMPTY, ELOOP, EINVAL, EPERM).
 *
 * The upper layer (how it is kept, documented because it is a format):
 * - The upper directory is an aufs-style layer tree, with the names of src/oci/whiteout.ts: an
 *   empty file `dir/.wh.x` records that the lower `dir/x` was deleted; `dir/.wh..wh..opq` records
 *   that `dir` was removed and re-created, so nothing of the lower `dir` shows through. These
 *   markers need no privilege (unlike overlayfs's 0/0 char devices and trusted.* xattrs) and work
 *   on every adapter; a view re-opened on the same upper reads them back. Names starting with
 *   `.wh.` are therefore refused in the view (ERR_WHITEOUT_NAME, G6: no layer could hold them).
 * - Copy-up: any change to a lower name (write, chmod, chown, utimes, xattrs, link) first copies
 *   it into the upper with its metadata (type, mode, owner, mtime, xattrs; content for files,
 *   except when the write replaces it whole), after its parent directories (whose times are put
 *   back, as overlayfs does). Hardlinked lower names are copied up separately (the upper copy no
 *   longer shares the other names' inode: overlayfs without index=on behaves the same).
 * - unlink/rm of a name the lower stack shows: removed from the upper if there, plus a whiteout.
 *   Creating a name over a whiteout drops the whiteout; a directory created (or renamed) where the
 *   lower stack has a directory is marked opaque.
 * - rename of a directory the lower stack contributes to: the whole subtree is copied up first
 *   (overlayfs without redirect_dir would refuse with EXDEV; we copy), then renamed in the upper;
 *   the old name gets a whiteout. Markers inside a moved tree are dropped: once copied up it holds
 *   everything that shows, and the new place is opaque when the lower stack has a directory there.
 *
 * commit (commit.ts) turns the upper into an OCI layer through the layer writer.
 */
import { LayerkitError, codeOf } from '../errors.ts';
import { fileStat, type FileHandleLike, type FileStat, type MutableFsLike, type WriteHandleLike } from '../fs/types.ts';
import { isWhiteout, opaqueFor, parseWhiteout, whiteoutFor } from '../oci/whiteout.ts';
import { hostPath } from '../oci/safe-path.ts';
import type { LowerNode, LowerStack } from './lower.ts';

const MAX_SYMLINK_HOPS = 40;
const COPY_CHUNK = 1024 * 1024;

export function fsError(code: string, syscall: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });
}

function join(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

function parentOf(rel: string): string {
  const k = rel.lastIndexOf('/');
  return k < 0 ? '' : rel.slice(0, k);
}

function within(path: string, dir: string): boolean {
  return dir === '' || path === dir || path.startsWith(`${dir}/`);
}

/** What a name is in the view: an upper object (stat from the upper) or a lower node. */
export type Found = { src: 'upper'; stat: FileStat } | { src: 'lower'; node: LowerNode; stat: FileStat };

export interface UnionViewOptions {
  lower: LowerStack;
  /** Where changes land. */
  upper: MutableFsLike;
  /** The upper directory (must exist). */
  upperRoot: string;
  /** Device number reported for lower names (default 0x756e). */
  dev?: number;
}

export class UnionView implements MutableFsLike {
  readonly lower: LowerStack;
  readonly upper: MutableFsLike;
  readonly upperRoot: string;
  readonly #dev: bigint;
  /** Lower names deleted (mirrors the `.wh.x` files in the upper). */
  readonly #whiteouts = new Set<string>();
  /** Directories re-created (mirrors the `.wh..wh..opq` files). */
  readonly #opaque = new Set<string>();

  private constructor(o: UnionViewOptions) {
    this.lower = o.lower;
    this.upper = o.upper;
    this.upperRoot = o.upperRoot;
    this.#dev = BigInt(o.dev ?? 0x756e);
  }

  /** Open a view; the upper's markers (from an earlier session) are read back. */
  static async open(o: UnionViewOptions): Promise<UnionView> {
    const v = new UnionView(o);
    await v.#loadMarkers('');
    return v;
  }

  async #loadMarkers(rel: string): Promise<void> {
    for (const name of await this.upper.readdir(this.#up(rel))) {
      const p = join(rel, name);
      const wh = parseWhiteout(p);
      if (wh?.kind === 'whiteout') this.#whiteouts.add(wh.target);
      else if (wh?.kind === 'opaque') this.#opaque.add(wh.dir);
      else if (!wh && (await this.upper.lstat(this.#up(p))).type === 'dir') await this.#loadMarkers(p);
    }
  }

  /** The recorded deletions and opaque directories (for commit). */
  markers(): { whiteouts: ReadonlySet<string>; opaque: ReadonlySet<string> } {
    return { whiteouts: this.#whiteouts, opaque: this.#opaque };
  }

  #up(rel: string): string {
    return hostPath(this.upperRoot, rel);
  }

  // ---- lookup ----

  async #upperStat(rel: string): Promise<FileStat | null> {
    try {
      return await this.upper.lstat(this.#up(rel));
    } catch (e) {
      const c = codeOf(e);
      if (c === 'ENOENT' || c === 'ENOTDIR') return null;
      throw e;
    }
  }

  /** Whether the lower stack's `rel` shows through the upper's markers (ignoring a whiteout on `rel` itself when asked). */
  lowerShows(rel: string, ignoreOwnWhiteout = false): boolean {
    if (this.#whiteouts.size === 0 && this.#opaque.size === 0) return true;
    if (!ignoreOwnWhiteout && this.#whiteouts.has(rel)) return false;
    if (rel === '') return true;
    let k = rel.length;
    while (k > 0) {
      k = rel.lastIndexOf('/', k - 1);
      const dir = k < 0 ? '' : rel.slice(0, k);
      if (this.#opaque.has(dir)) return false;
      if (dir !== '' && this.#whiteouts.has(dir)) return false;
      if (k < 0) break;
    }
    return true;
  }

  /** The lower node at `rel` if the view shows it (no upper object there). */
  async #lowerAt(rel: string): Promise<LowerNode | undefined> {
    if (!this.lowerShows(rel)) return undefined;
    return this.lower.get(rel);
  }

  /** The object at `rel` (parents already resolved to directories of the view), or null. */
  async find(rel: string): Promise<Found | null> {
    const up = await this.#upperStat(rel);
    if (up) return { src: 'upper', stat: up };
    const n = await this.#lowerAt(rel);
    return n ? { src: 'lower', node: n, stat: this.#lowerStat(n) } : null;
  }

  #lowerStat(n: LowerNode): FileStat {
    return fileStat({
      type: n.type, mode: n.mode, uid: n.uid, gid: n.gid, size: n.size, mtimeNs: n.mtimeNs, ino: n.ino, dev: this.#dev,
      nlink: n.nlink, devmajor: n.devmajor, devminor: n.devminor,
    });
  }

  /**
   * Resolve a view path: symlinks in the middle followed (and the final one when `follow`).
   * Returns the cleaned symlink-free name and what is there (null: nothing, parents exist).
   */
  async #resolve(path: string, follow: boolean, syscall: string): Promise<[string, Found | null]> {
    const stack: string[] = [];
    let parts = path.split('/').filter((c) => c !== '' && c !== '.');
    let hops = 0;
    let found: Found | null = await this.find('');
    for (let i = 0; i < parts.length; ) {
      const name = parts[i]!;
      if (name === '..') {
        stack.pop();
        i++;
        found = await this.find(stack.join('/'));
        continue;
      }
      if (found!.stat.type !== 'dir') throw fsError('ENOTDIR', syscall, path);
      if (isWhiteout(name)) {
        // Marker names are not part of the view.
        if (i < parts.length - 1) throw fsError('ENOENT', syscall, path);
        return [join(stack.join('/'), name), null];
      }
      const rel = join(stack.join('/'), name);
      const f = await this.find(rel);
      const last = i === parts.length - 1;
      if (!f) {
        if (last) return [rel, null];
        throw fsError('ENOENT', syscall, path);
      }
      if (f.stat.type === 'symlink' && (!last || follow)) {
        if (++hops > MAX_SYMLINK_HOPS) throw fsError('ELOOP', syscall, path);
        const target = await this.#readlinkOf(rel, f);
        if (target.startsWith('/')) stack.length = 0;
        parts = [...target.split('/').filter((c) => c !== '' && c !== '.'), ...parts.slice(i + 1)];
        i = 0;
        found = await this.find(stack.join('/'));
        continue;
      }
      stack.push(name);
      found = f;
      i++;
    }
    return [stack.join('/'), found];
  }

  async #existing(path: string, follow: boolean, syscall: string): Promise<[string, Found]> {
    const [rel, f] = await this.#resolve(path, follow, syscall);
    if (!f) throw fsError('ENOENT', syscall, path);
    return [rel, f];
  }

  /** A name about to be created: EEXIST if taken, EINVAL for the root, refused if `.wh.*`. */
  async #fresh(path: string, syscall: string): Promise<string> {
    const [rel, f] = await this.#resolve(path, false, syscall);
    if (rel === '') throw fsError('EEXIST', syscall, path);
    if (f) throw fsError('EEXIST', syscall, path);
    this.#refuseMarkerName(rel);
    return rel;
  }

  #refuseMarkerName(rel: string): void {
    if (isWhiteout(rel)) {
      throw new LayerkitError('ERR_WHITEOUT_NAME', `cannot create "${rel}" in a union view: names starting with ".wh." record deletions in its upper layer`, { path: rel });
    }
  }

  async #readlinkOf(rel: string, f: Found): Promise<string> {
    return f.src === 'lower' ? f.node.linkname : this.upper.readlink(this.#up(rel));
  }

  // ---- copy-up ----

  /** Make sure every proper ancestor of `rel` is a directory of the upper. */
  async #copyUpParents(rel: string): Promise<void> {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) await this.#copyUp(parts.slice(0, i).join('/'), true);
  }

  /** Copy the lower object at `rel` into the upper (no-op if the upper has it). */
  async #copyUp(rel: string, withData: boolean): Promise<void> {
    if (rel === '' || (await this.#upperStat(rel))) return;
    const n = await this.#lowerAt(rel);
    if (!n) throw fsError('ENOENT', 'copyup', rel);
    await this.#copyUpParents(rel);
    const host = this.#up(rel);
    const parent = this.#up(parentOf(rel));
    const parentTime = (await this.upper.lstat(parent)).mtimeNs;
    switch (n.type) {
      case 'dir':
        await this.upper.mkdir(host, { mode: 0o700 });
        break;
      case 'file': {
        const h = await this.upper.createFile(host, 0o600);
        try {
          if (withData) {
            for (let pos = 0; pos < n.size; pos += COPY_CHUNK) {
              const buf = new Uint8Array(Math.min(COPY_CHUNK, n.size - pos));
              await this.lower.read(n, buf, 0, buf.length, pos);
              await h.write(buf);
            }
          }
        } finally {
          await h.close();
        }
        break;
      }
      case 'symlink':
        await this.upper.symlink(n.linkname, host);
        break;
      case 'socket':
        throw fsError('ENOTSUP', 'copyup', rel);
      default:
        await this.upper.mknod(host, n.type, { mode: 0o600, major: n.devmajor, minor: n.devminor });
    }
    await this.upper.lchown(host, n.uid, n.gid);
    if (n.xattrs && Object.keys(n.xattrs).length > 0) {
      if (!this.upper.setXattrs) throw fsError('ENOTSUP', 'copyup xattrs', rel);
      await this.upper.setXattrs(host, n.xattrs);
    }
    if (n.type !== 'symlink') await this.upper.chmod(host, n.mode);
    await this.upper.lutimes(host, n.mtimeNs);
    await this.upper.lutimes(parent, parentTime);
  }

  /** Copy up `rel` and, for a directory, everything the view shows below it. */
  async #copyUpTree(rel: string): Promise<void> {
    const f = await this.find(rel);
    if (!f) return;
    if (f.src === 'lower') await this.#copyUp(rel, true);
    if (f.stat.type !== 'dir') return;
    for (const name of await this.#names(rel)) await this.#copyUpTree(join(rel, name));
  }

  /** Prepare the upper for a new object at `rel` (nothing there): parents, no whiteout left. Returns whether the lower stack has a directory there. */
  async #prepareNew(rel: string): Promise<boolean> {
    await this.#copyUpParents(rel);
    const lowerDir = this.lowerShows(rel, true) && (await this.lower.get(rel))?.type === 'dir';
    if (this.#whiteouts.has(rel)) {
      await this.upper.unlink(this.#up(whiteoutFor(rel)));
      this.#whiteouts.delete(rel);
    }
    return lowerDir;
  }

  async #marker(path: string): Promise<void> {
    const h = await this.upper.createFile(this.#up(path), 0);
    await h.close();
  }

  async #setOpaque(rel: string): Promise<void> {
    if (this.#opaque.has(rel)) return;
    const dir = this.#up(rel);
    const t = (await this.upper.lstat(dir)).mtimeNs;
    await this.#marker(opaqueFor(rel));
    await this.upper.lutimes(dir, t);
    this.#opaque.add(rel);
  }

  /** Forget the markers at and below `rel` (its upper subtree is gone or moved). */
  #dropMarkers(rel: string): void {
    for (const w of [...this.#whiteouts]) if (w !== rel && within(w, rel)) this.#whiteouts.delete(w);
    for (const d of [...this.#opaque]) if (within(d, rel)) this.#opaque.delete(d);
  }

  /** Remove the object at `rel`: from the upper, and with a whiteout if the lower stack shows one there. */
  async #remove(rel: string, f: Found): Promise<void> {
    const lowerThere = (await this.#lowerAt(rel)) !== undefined;
    if (f.src === 'upper') {
      await this.upper.rm(this.#up(rel), { recursive: true });
      this.#dropMarkers(rel);
    }
    if (lowerThere) {
      await this.#copyUpParents(rel);
      await this.#marker(whiteoutFor(rel));
      this.#whiteouts.add(rel);
    }
  }

  /** The names the view shows in directory `rel`. */
  async #names(rel: string): Promise<string[]> {
    const out = new Set<string>();
    const up = await this.#upperStat(rel);
    if (up?.type === 'dir') {
      for (const name of await this.upper.readdir(this.#up(rel))) if (!isWhiteout(name)) out.add(name);
    }
    if (!up || up.type === 'dir') {
      if (this.lowerShows(rel) && !this.#opaque.has(rel)) {
        for (const c of await this.lower.children(rel)) if (!this.#whiteouts.has(join(rel, c))) out.add(c);
      }
    }
    return [...out];
  }

  // ---- FsLike ----

  async open(path: string): Promise<FileHandleLike> {
    const [rel, f] = await this.#existing(path, true, 'open');
    if (f.stat.type === 'dir') throw fsError('EISDIR', 'open', path);
    if (f.src === 'upper') return this.upper.open(this.#up(rel));
    const node = f.node;
    const lower = this.lower;
    let closed = false;
    return {
      async read(buffer, offset, length, position) {
        if (closed) throw fsError('EBADF', 'read', path);
        return lower.read(node, buffer, offset, length, position);
      },
      async close() {
        closed = true;
      },
    };
  }

  async lstat(path: string): Promise<FileStat> {
    return (await this.#existing(path, false, 'lstat'))[1].stat;
  }

  async readdir(path: string): Promise<string[]> {
    const [rel, f] = await this.#existing(path, true, 'scandir');
    if (f.stat.type !== 'dir') throw fsError('ENOTDIR', 'scandir', path);
    return this.#names(rel);
  }

  async readlink(path: string): Promise<string> {
    const [rel, f] = await this.#existing(path, false, 'readlink');
    if (f.stat.type !== 'symlink') throw fsError('EINVAL', 'readlink', path);
    return this.#readlinkOf(rel, f);
  }

  async xattrs(path: string): Promise<Record<string, Uint8Array>> {
    const [rel, f] = await this.#existing(path, false, 'llistxattr');
    if (f.src === 'lower') return { ...(f.node.xattrs ?? {}) };
    return this.upper.xattrs ? this.upper.xattrs(this.#up(rel)) : {};
  }

  // ---- WritableFsLike ----

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    await this.upper.writeFile(await this.#toWrite(path), data);
  }

  /** The upper's name for `path`, made ready to be written from the start (a lower file copied up without its bytes). */
  async #toWrite(path: string): Promise<string> {
    const [rel, f] = await this.#resolve(path, true, 'open');
    if (f?.stat.type === 'dir') throw fsError('EISDIR', 'open', path);
    if (f?.src === 'lower') await this.#copyUp(rel, false);
    else if (!f) {
      this.#refuseMarkerName(rel);
      await this.#prepareNew(rel);
    }
    return this.#up(rel);
  }

  /**
   * Write `path` from the start, in pieces (WritableFsLike.writeFileStream): what writeFile does,
   * without holding the bytes. A lower file is copied up without its old bytes first; a new file
   * is created 0644. An upper without streams (in memory) gathers the pieces and writes them at
   * close.
   */
  async writeFileStream(path: string): Promise<WriteHandleLike> {
    const host = await this.#toWrite(path);
    if (this.upper.writeFileStream) return this.upper.writeFileStream(host);
    const parts: Uint8Array[] = [];
    const upper = this.upper;
    return {
      async write(data: Uint8Array): Promise<void> {
        parts.push(data.slice());
      },
      async close(): Promise<void> {
        const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
          all.set(p, at);
          at += p.length;
        }
        await upper.writeFile(host, all);
      },
      async abort(): Promise<void> {
        parts.length = 0;
      },
    };
  }

  async rename(from: string, to: string): Promise<void> {
    const [src, fe] = await this.#existing(from, false, 'rename');
    const [dst, te] = await this.#resolve(to, false, 'rename');
    if (src === '' || dst === '') throw fsError(src === '' ? 'EBUSY' : 'EEXIST', 'rename', src === '' ? from : to);
    if (src === dst) return;
    if (within(dst, src)) throw fsError('EINVAL', 'rename', to);
    this.#refuseMarkerName(dst);
    const isDir = fe.stat.type === 'dir';
    if (te) {
      const tDir = te.stat.type === 'dir';
      if (isDir && !tDir) throw fsError('ENOTDIR', 'rename', to);
      if (!isDir && tDir) throw fsError('EISDIR', 'rename', to);
      if (tDir && (await this.#names(dst)).length > 0) throw fsError('ENOTEMPTY', 'rename', to);
      if (fe.src === 'upper' && te.src === 'upper' && fe.stat.ino === te.stat.ino && fe.stat.dev === te.stat.dev && !isDir) return; // one file's two names
    }
    const lowerAtSrc = (await this.#lowerAt(src)) !== undefined;
    if (isDir) await this.#copyUpTree(src);
    else await this.#copyUp(src, true);
    if (te?.src === 'upper') {
      await this.upper.rm(this.#up(dst), { recursive: true });
      this.#dropMarkers(dst);
    }
    const lowerDirAtDst = await this.#prepareNew(dst);
    await this.upper.rename(this.#up(src), this.#up(dst));
    if (isDir) {
      await this.#stripMarkers(src, dst);
      if (lowerDirAtDst) await this.#setOpaque(dst);
    }
    if (lowerAtSrc) {
      await this.#marker(whiteoutFor(src));
      this.#whiteouts.add(src);
    }
  }

  /** After a copied-up directory moved from `src` to `dst`: drop the markers it carried. */
  async #stripMarkers(src: string, dst: string): Promise<void> {
    const moved = (p: string) => dst + p.slice(src.length);
    for (const w of [...this.#whiteouts]) {
      if (w !== src && within(w, src)) {
        await this.upper.unlink(this.#up(whiteoutFor(moved(w))));
        this.#whiteouts.delete(w);
      }
    }
    for (const d of [...this.#opaque]) {
      if (within(d, src)) {
        await this.upper.unlink(this.#up(opaqueFor(moved(d))));
        this.#opaque.delete(d);
      }
    }
  }

  async unlink(path: string): Promise<void> {
    const [rel, f] = await this.#existing(path, false, 'unlink');
    if (f.stat.type === 'dir') throw fsError('EISDIR', 'unlink', path);
    await this.#remove(rel, f);
  }

  // ---- MutableFsLike ----

  async mkdir(path: string, options: { mode?: number } = {}): Promise<void> {
    const rel = await this.#fresh(path, 'mkdir');
    const lowerDir = await this.#prepareNew(rel);
    await this.upper.mkdir(this.#up(rel), { mode: options.mode ?? 0o755 });
    if (lowerDir) await this.#setOpaque(rel);
  }

  async createFile(path: string, mode: number): Promise<WriteHandleLike> {
    const rel = await this.#fresh(path, 'open');
    await this.#prepareNew(rel);
    return this.upper.createFile(this.#up(rel), mode);
  }

  async symlink(target: string, path: string): Promise<void> {
    const rel = await this.#fresh(path, 'symlink');
    await this.#prepareNew(rel);
    await this.upper.symlink(target, this.#up(rel));
  }

  async link(existing: string, path: string): Promise<void> {
    const [src, f] = await this.#existing(existing, false, 'link');
    if (f.stat.type === 'dir') throw fsError('EPERM', 'link', existing);
    const rel = await this.#fresh(path, 'link');
    await this.#copyUp(src, true);
    await this.#prepareNew(rel);
    await this.upper.link(this.#up(src), this.#up(rel));
  }

  async mknod(path: string, type: 'char' | 'block' | 'fifo', options: { mode: number; major?: number; minor?: number }): Promise<void> {
    const rel = await this.#fresh(path, 'mknod');
    await this.#prepareNew(rel);
    await this.upper.mknod(this.#up(rel), type, options);
  }

  async #changeMeta(path: string, follow: boolean, syscall: string, fn: (host: string) => Promise<void>): Promise<void> {
    const [rel, f] = await this.#existing(path, follow, syscall);
    if (f.src === 'lower') await this.#copyUp(rel, true);
    await fn(this.#up(rel));
  }

  lchown(path: string, uid: number, gid: number): Promise<void> {
    return this.#changeMeta(path, false, 'lchown', (h) => this.upper.lchown(h, uid, gid));
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.#changeMeta(path, true, 'chmod', (h) => this.upper.chmod(h, mode));
  }

  lutimes(path: string, mtimeNs: bigint): Promise<void> {
    return this.#changeMeta(path, false, 'lutime', (h) => this.upper.lutimes(h, mtimeNs));
  }

  async setXattrs(path: string, xattrs: Record<string, Uint8Array>): Promise<void> {
    const set = this.upper.setXattrs;
    if (!set) throw fsError('ENOTSUP', 'lsetxattr', path);
    await this.#changeMeta(path, false, 'lsetxattr', (h) => set.call(this.upper, h, xattrs));
  }

  async rm(path: string, options: { recursive?: boolean } = { recursive: true }): Promise<void> {
    const [rel, f] = await this.#existing(path, false, 'rm');
    if (rel === '') throw fsError('EBUSY', 'rm', path);
    if (f.stat.type === 'dir' && !options.recursive && (await this.#names(rel)).length > 0) throw fsError('ENOTEMPTY', 'rm', path);
    await this.#remove(rel, f);
  }
}
