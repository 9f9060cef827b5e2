/**
 * snapshot(fs, root): the sorted Entries of a tree, with content hashes, using a previous snapshot
 * as a stat cache.
 *
 * Deciding whether a previous hash can be reused (semantics.md, "Deciding changed"): a file is
 * re-hashed unless the previous entry at the same path is a regular file with a hash and the same
 * size, mtime (ns), mode, uid, gid, link count and hardlink identity. Hardlink identity is compared
 * without dev/ino (manifests do not store them): a name that is not hardlinked must not have been
 * before, and a hardlinked name must have been the first name of its group before too. Following
 * containerd, a previous mtime with zero nanoseconds is ambiguous (a filesystem or tool may have
 * truncated it), so such files are always re-hashed; so are files racy on either side (Entry.racy:
 * written less than a second before a walk saw them, so a later write may have kept the mtime).
 */
import type { FsLike } from '../fs/types.ts';
import { comparePaths, type Entry } from './entry.ts';
import { newWalkStats, walk, type WalkOptions, type WalkStats } from './walk.ts';
import { readManifestEntries, verifyManifest } from './manifest.ts';
import { timeUndecided } from './changes.ts';
import type { FileHasher, Sha256Factory } from './defaults.ts';

export interface SnapshotOptions {
  /**
   * The previous snapshot of this tree: its entries (sorted or not), a stream of them in path order
   * (readManifestFile), or its manifest bytes.
   */
  previous?: Iterable<Entry> | AsyncIterable<Entry> | Uint8Array;
  exclude?: WalkOptions['exclude'];
  /**
   * Content hasher (default BLAKE3 through the kernels). It must be the one the previous snapshot
   * used. false: no content hashes (metadata only; change detection hashes where it must).
   */
  hash?: FileHasher | false;
  /** Files hashed at once (default 4). */
  concurrency?: number;
  /** SHA-256 used to verify a previous manifest's checksum (default: the platform engine). */
  sha256?: Sha256Factory;
}

export type SnapshotStats = WalkStats;

export interface SnapshotResult {
  /** Every entry of the tree, the root ('') first, in comparePaths order. */
  entries: Entry[];
  /** files: regular files; hashed: read and hashed; reused: hash taken from `previous`; shared: later hardlink names. */
  stats: SnapshotStats;
}

/** May `prev`'s hash stand for `cur`'s content? (`prevLeader`: is prev the first name of its hardlink group) */
export function canReuseHash(prev: Entry, cur: Entry, prevLeader: boolean): boolean {
  if (prev.type !== 'file' || cur.type !== 'file' || !prev.blake3) return false;
  if (timeUndecided(prev) || timeUndecided(cur)) return false;
  if (prev.size !== cur.size || prev.mtimeNs !== cur.mtimeNs) return false;
  if (prev.mode !== cur.mode || prev.uid !== cur.uid || prev.gid !== cur.gid) return false;
  if ((prev.nlink ?? 1) !== (cur.nlink ?? 1)) return false;
  if (Boolean(prev.inode) !== Boolean(cur.inode)) return false;
  return !cur.inode || prevLeader;
}

/** Walks `previous` alongside the new walk (both in path order): O(1) memory per step. */
class PreviousCursor {
  readonly #it: Iterator<Entry> | AsyncIterator<Entry>;
  #head: IteratorResult<Entry> | undefined;
  readonly #leaders = new Map<number, string>();

  constructor(entries: Iterable<Entry> | AsyncIterable<Entry>) {
    this.#it = Symbol.asyncIterator in entries ? entries[Symbol.asyncIterator]() : entries[Symbol.iterator]();
  }

  /** The previous entry at `path`, if any, and whether it led its hardlink group. */
  async find(path: string): Promise<[Entry | undefined, boolean]> {
    this.#head ??= await this.#it.next();
    while (!this.#head.done) {
      const e = this.#head.value;
      const c = comparePaths(e.path, path);
      if (c > 0) break;
      if (e.inode && !this.#leaders.has(e.inode)) this.#leaders.set(e.inode, e.path);
      this.#head = await this.#it.next();
      if (c === 0) return [e, e.inode ? this.#leaders.get(e.inode) === e.path : false];
    }
    return [undefined, false];
  }
}

async function previousEntries(prev: Iterable<Entry> | AsyncIterable<Entry> | Uint8Array, sha256: Sha256Factory | undefined): Promise<Iterable<Entry> | AsyncIterable<Entry>> {
  if (prev instanceof Uint8Array) {
    await verifyManifest(prev, { sha256 });
    return readManifestEntries(prev);
  }
  if (Symbol.asyncIterator in prev) return prev; // a stream (readManifestFile): sorted by construction
  const arr = Array.isArray(prev) ? prev : [...prev];
  for (let i = 1; i < arr.length; i++) {
    if (comparePaths(arr[i - 1].path, arr[i].path) > 0) return [...arr].sort((a, b) => comparePaths(a.path, b.path));
  }
  return arr;
}

/**
 * The entries of a snapshot as they are walked, without holding them: what `snapshot` collects.
 * Progress goes to `stats` when given.
 */
export async function* snapshotEntries(fs: FsLike, root: string, options: SnapshotOptions = {}, stats: SnapshotStats = newWalkStats()): AsyncGenerator<Entry> {
  let reuse: WalkOptions['reuse'];
  if (options.previous) {
    const cursor = new PreviousCursor(await previousEntries(options.previous, options.sha256));
    reuse = async (cur) => {
      const [prev, leader] = await cursor.find(cur.path);
      return prev && canReuseHash(prev, cur, leader) ? prev.blake3 : undefined;
    };
  }
  yield* walk(fs, root, { exclude: options.exclude, hash: options.hash, concurrency: options.concurrency, reuse, stats });
}

export async function snapshot(fs: FsLike, root: string, options: SnapshotOptions = {}): Promise<SnapshotResult> {
  const stats = newWalkStats();
  const entries: Entry[] = [];
  for await (const e of snapshotEntries(fs, root, options, stats)) entries.push(e);
  return { entries, stats };
}
