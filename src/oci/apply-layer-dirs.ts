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
 * Memory does not grow with the size of the layer for these: at most PENDING_MAX directories are
 * pending (their listed mode and time, or their time before the changes below them); past that the
 * least recently changed one is settled (GNU tar settles a directory when extraction leaves it; a
 * bounded set of recent ones also spares layers out of tree order a lookup per entry). A directory
 * changes only when a name directly in it is made or removed, and every change is preceded by
 * touch(), which makes the directory pending again if it was settled (its time is looked up and
 * put back again), so the result does not depend on when a directory is settled. The re-listed
 * directories' xattrs are settled 1024 at a time. A listed directory its owner cannot write into
 * (no u+wx) waits until the end of the layer (at most PENDING_MAX of them; past that the oldest is
 * set), so an unprivileged apply can still write below it; a directory without u+wx that the layer
 * comes back into (set already, or a lower layer's) is made writable while pending and gets its
 * mode and time back when settled. Of the made directories only the outermost are kept
 * (everything below one is the layer's). What still grows with the layer: the names it writes
 * into directories that existed before it (#written, for opaque markers that come after them),
 * 8 bytes a name (name-set.ts): 32 MB at the default maxEntries.
 *
 * Directories are looked up again by name when settled, unless no directory or symlink was
 * removed during the layer (RootResolver.generation): then every directory seen is still where it was.
 */
import { codeOf } from '../errors.ts';
import type { MutableFsLike } from '../fs/types.ts';
import type { RootResolver } from './safe-path.ts';
import type { ApplyXattrs, RelistedDir } from './apply-xattrs.ts';
import { NameSet } from './name-set.ts';

export class LayerDirs {
  readonly #fs: MutableFsLike;
  readonly #root: string;
  readonly #paths: RootResolver;
  readonly #generation: number;
  readonly #xattrs: ApplyXattrs | undefined;
  readonly #rootless: () => boolean;
  /** Names this layer wrote whose directory it did not make (8 bytes a name, name-set.ts). */
  readonly #written = new NameSet();
  /** Host paths no opaque marker of this layer may remove. */
  readonly #keep: ReadonlySet<string>;
  /** The outermost directories this layer made (host paths): everything below one is the layer's. */
  readonly #made = new Set<string>();
  /** Last answer of #inMade for a parent (names come in tree order: siblings ask the same). */
  #lastParent = '';
  #lastParentMade = false;
  /**
   * Pending directories (rel names), least recently changed first: the mtime before the first
   * change below, or null (listed, or it did not exist).
   */
  readonly #touched = new Map<string, bigint | null>();
  /** The directory touched last (the most recent in #touched). */
  #lastTouched: string | undefined;
  /** Listed directories in #touched: [mode, mtime ns], set when settled. */
  readonly #listed = new Map<string, [number, bigint]>();
  /** Listed directories without u+wx: name -> [mode, mtime ns], set at the end of the layer. */
  readonly #readOnly = new Map<string, [number, bigint]>();
  /** Directories listed again, their xattrs not yet settled: [name, the xattr names the entry sets, whether its owner was recorded]. */
  #relisted: [string, Set<string>, boolean][] = [];

  /**
   * `keep`: host paths no opaque marker of this layer may remove (the incomplete marker).
   * `xattrs`: drops the stale xattrs of re-listed directories (undefined: xattrs are not applied).
   * `rootless`: whether ownership is being recorded instead of applied (asked when settling).
   */
  constructor(fs: MutableFsLike, root: string, paths: RootResolver, keep: readonly string[], xattrs: ApplyXattrs | undefined, rootless: () => boolean) {
    this.#fs = fs;
    this.#root = root;
    this.#paths = paths;
    this.#generation = paths.generation;
    this.#keep = new Set(keep);
    this.#xattrs = xattrs;
    this.#rootless = rootless;
  }

  /** The layer made the directory `host` (for its entry, or as a missing parent). */
  made(host: string): void {
    if (this.#inMade(host)) return; // below an outer one
    this.#made.add(host);
    this.#lastParent = '';
  }

  /** The layer wrote `host` (anything but a directory it made). */
  wrote(host: string): void {
    const k = host.lastIndexOf('/');
    const parent = k > 0 ? host.slice(0, k) : '/';
    if (parent !== this.#lastParent) {
      this.#lastParentMade = this.#madeOrBelow(parent);
      this.#lastParent = parent;
    }
    if (!this.#lastParentMade) this.#written.add(host);
  }

  /** For an opaque marker: 'whole' (the layer made it), 'written' (look inside), or 'lower' (remove it). */
  ownerOf(host: string): 'whole' | 'written' | 'lower' {
    return this.#madeOrBelow(host) ? 'whole' : this.#keep.has(host) || this.#written.has(host) ? 'written' : 'lower';
  }

  /** `host` is a made directory or below one. */
  #madeOrBelow(host: string): boolean {
    return this.#made.has(host) || this.#inMade(host);
  }

  /** Some directory above `host` is a made one. */
  #inMade(host: string): boolean {
    if (this.#made.size === 0) return false;
    for (let k = host.lastIndexOf('/'); k > 0; k = host.lastIndexOf('/', k - 1)) {
      if (this.#made.has(host.slice(0, k))) return true;
    }
    return false;
  }

  /** The layer lists directory `rel`: `mode` and `mtimeNs` are set when it is settled. */
  listed(rel: string, mode: number, mtimeNs: bigint): Promise<void> | undefined {
    // (listed twice: the later entry stands)
    if ((mode & 0o300) !== 0o300 && rel !== '') {
      // its owner could not write below it: set at the end (or when PENDING_MAX are waiting)
      this.#readOnly.delete(rel);
      this.#readOnly.set(rel, [mode, mtimeNs]);
      this.#listed.delete(rel);
      if (this.#readOnly.size > PENDING_MAX) return this.#settleReadOnly(this.#readOnly.keys().next().value!);
    } else {
      this.#listed.set(rel, [mode, mtimeNs]);
      this.#readOnly.delete(rel);
    }
    // its time is set after the changes below it: the one before them is neither looked up
    // (touch) nor put back
    this.#recent(rel, null);
    this.#lastTouched = rel;
    return undefined;
  }

  /** The layer lists directory `rel` again, over an existing one; xattrs settled 1024 at a time. */
  relisted(rel: string, xattrNames: Set<string>, owned: boolean): Promise<void> | undefined {
    if (!this.#xattrs) return undefined;
    this.#relisted.push([rel, xattrNames, owned]);
    return this.#relisted.length >= 1024 ? this.#settleXattrs() : undefined;
  }

  /**
   * A name directly in the parent of `rel` is about to be made or removed (an entry, the target of
   * a whiteout, `dir/-` for an opaque marker): the parent, and the directories above it up to a
   * pending one (missing ones are made on the way), become pending with their mtimes before the
   * change. Nothing to wait for (undefined) when the parent is pending already.
   */
  touch(rel: string): Promise<void> | undefined {
    const k = rel.lastIndexOf('/');
    const parent = k < 0 ? '' : rel.slice(0, k);
    if (this.#touched.size >= PENDING_MAX) return this.#touchSlow(rel, parent);
    if (parent === this.#lastTouched) return undefined;
    const t = this.#touched.get(parent);
    if (t === undefined) return this.#touchSlow(rel, parent);
    this.#recent(parent, t);
    this.#lastTouched = parent;
    return undefined;
  }

  async #touchSlow(rel: string, parent: string): Promise<void> {
    if (this.#touched.size >= PENDING_MAX) await this.#evict(rel);
    const add: [string, bigint | null][] = [];
    for (let dir = parent; ; ) {
      const t = this.#touched.get(dir);
      if (t !== undefined) {
        this.#recent(dir, t); // it may gain a directory made on the way
        break;
      }
      const st = await this.#stat(dir);
      if (st && (st.mode & 0o300) !== 0o300 && dir !== '' && !this.#readOnly.has(dir)) {
        // its owner cannot write into it (a read-only directory of a lower layer, or one of this
        // layer's settled already): writable until settled, then its mode and time put back
        try {
          await this.#fs.chmod(st.host, st.mode | 0o300);
          this.#listed.set(dir, [st.mode, st.mtimeNs]);
        } catch (e) {
          if (codeOf(e) !== 'EPERM') throw e; // another owner's: the write below it decides
        }
      }
      add.push([dir, st?.mtimeNs ?? null]);
      if (dir === '') break;
      const k = dir.lastIndexOf('/');
      dir = k < 0 ? '' : dir.slice(0, k);
    }
    for (let i = add.length - 1; i >= 0; i--) this.#touched.set(add[i]![0], add[i]![1]);
    this.#lastTouched = parent;
  }

  /** `dir` is pending with `t` and the most recently changed (last in #touched's order). */
  #recent(dir: string, t: bigint | null): void {
    this.#touched.delete(dir);
    this.#touched.set(dir, t);
  }

  /** Settle the least recently changed half of the pending directories, except those above `rel`. */
  async #evict(rel: string): Promise<void> {
    const victims: string[] = [];
    for (const dir of this.#touched.keys()) {
      if (victims.length >= PENDING_MAX / 2) break;
      if (!isBelow(rel, dir)) victims.push(dir);
    }
    for (const dir of victims) await this.#settle(dir);
  }

  /** Settle the pending directory `rel`: its listed mode and time, or its old time back. */
  async #settle(rel: string): Promise<void> {
    const t = this.#touched.get(rel);
    this.#touched.delete(rel);
    if (this.#lastTouched === rel) this.#lastTouched = undefined;
    const listed = this.#listed.get(rel);
    if (listed) {
      this.#listed.delete(rel);
      const host = await this.#now(rel);
      if (host === null) return; // removed or replaced later in the layer
      await this.#fs.chmod(host, listed[0]);
      await this.#fs.lutimes(host, listed[1]);
    } else if (t !== null && t !== undefined) {
      const host = await this.#now(rel);
      if (host !== null) await this.#fs.lutimes(host, t);
    }
  }

  async #settleXattrs(): Promise<void> {
    const list = this.#relisted;
    this.#relisted = [];
    if (!this.#xattrs || list.length === 0) return;
    const dirs: RelistedDir[] = [];
    const rootless = this.#rootless();
    for (const [rel, keep, owned] of list) {
      const host = await this.#now(rel);
      if (host !== null) dirs.push({ host, rel, keep, ownerRecorded: rootless && owned });
    }
    await this.#xattrs.dropStale(dirs);
  }

  /**
   * After the layer: stale xattrs off the re-listed directories not settled yet, the pending
   * directories settled (innermost first), then the read-only listed ones' modes and times.
   */
  async finish(): Promise<void> {
    await this.#settleXattrs();
    for (const dir of [...this.#touched.keys()]) await this.#settle(dir);
    for (const rel of [...this.#readOnly.keys()]) await this.#settleReadOnly(rel);
  }

  /** Set the listed mode and time of the read-only directory `rel`. */
  async #settleReadOnly(rel: string): Promise<void> {
    const [mode, t] = this.#readOnly.get(rel)!;
    this.#readOnly.delete(rel);
    // no longer pending: a change below it later makes it writable again first (#touchSlow)
    this.#touched.delete(rel);
    if (this.#lastTouched === rel) this.#lastTouched = undefined;
    const host = await this.#now(rel);
    if (host === null) return; // removed or replaced later in the layer
    await this.#fs.chmod(host, mode);
    await this.#fs.lutimes(host, t);
  }

  /** Host path of the directory `rel` as the target is now (null: gone, or not a directory). */
  async #now(rel: string): Promise<string | null> {
    if (this.#paths.generation === this.#generation) return rel === '' ? this.#root : this.#paths.name(rel, false);
    return (await this.#stat(rel))?.host ?? null;
  }

  async #stat(rel: string): Promise<{ host: string; mode: number; mtimeNs: bigint } | null> {
    const host = rel === '' ? this.#root : await this.#paths.name(rel, false);
    if (host === null) return null;
    try {
      const st = await this.#fs.lstat(host);
      return st.type === 'dir' ? { host, mode: st.mode, mtimeNs: st.mtimeNs } : null;
    } catch (err) {
      if (codeOf(err) === 'ENOENT' || codeOf(err) === 'ENOTDIR') return null;
      throw err;
    }
  }
}

/** Pending directories at most (~150 bytes each), before the least recently changed half is settled. */
export const PENDING_MAX = 8192;

/** `rel` is below the directory `dir` (every name is below the root ''). */
function isBelow(rel: string, dir: string): boolean {
  return dir === '' || (rel.length > dir.length && rel.charCodeAt(dir.length) === 47 && rel.startsWith(dir));
}
