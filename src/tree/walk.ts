/**
 * Walk a directory tree into Entries, streaming, in comparePaths order (a directory, then its
 * subtree, then its next sibling; the root itself first, as path '').
 *
 * Memory is bounded by depth x fan-out (one sorted name list per open directory, a few stats
 * prefetched ahead, a bounded queue of entries waiting for their hash), plus one small record per
 * hardlinked inode (needed to give every name of the file the same `inode` id). Regular files are
 * hashed by the injected FileHasher, `concurrency` at a time, without changing the output order.
 */
import type { FileStat, FsLike } from '../fs/types.ts';
import { compareNames, isRacyMtime, type Entry } from './entry.ts';
import { LayerkitError, wrapError } from '../errors.ts';
import { blake3FileHasher, type FileHasher } from './defaults.ts';

export interface WalkStats {
  /** Entries produced (the root included). */
  entries: number;
  /** Regular files. */
  files: number;
  /** Files whose content was read and hashed. */
  hashed: number;
  /** Files whose hash came from the `reuse` hook (a previous snapshot). */
  reused: number;
  /** Further names of a hardlinked file, which take the hash of its first name. */
  shared: number;
  /** Bytes of the files hashed (by stat size). */
  bytesHashed: number;
}

export function newWalkStats(): WalkStats {
  return { entries: 0, files: 0, hashed: 0, reused: 0, shared: 0, bytesHashed: 0 };
}

export interface WalkOptions {
  /**
   * Return true to leave a path out (a directory: with its whole subtree). Called after lstat, with
   * the path relative to the root; never called for the root. Excluded `.wh.*` names are no error.
   */
  exclude?: (path: string, stat: FileStat) => boolean;
  /** Content hasher for regular files (default: BLAKE3 through the kernels); false: no hashes. */
  hash?: FileHasher | false;
  /** Files hashed at once (default 4). */
  concurrency?: number;
  /**
   * Called in path order for the first name of each regular file, before hashing: return a hash
   * to use instead of reading the file (a stat cache), or undefined to hash it.
   */
  reuse?: (entry: Entry) => Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /** Counters, updated as the walk goes. */
  stats?: WalkStats;
}

/** lstat calls started ahead of the one being used, per directory. */
const STAT_LOOKAHEAD = 16;

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
}

interface Frame {
  rel: string;
  names: string[];
  next: number;
  stats: Promise<Settled<FileStat>>[];
}

interface Pending {
  entry: Entry;
  /** Settles when the entry's hash is known (undefined: nothing to wait for). */
  done: Promise<void> | undefined;
  ready: boolean;
  error?: unknown;
}

/** Join a root and a relative path with '/', whatever the root looks like ('/', 'x/', 'x'). */
export function joinPath(root: string, rel: string): string {
  if (rel === '') return root;
  return root.endsWith('/') ? root + rel : `${root}/${rel}`;
}

function childPath(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`;
}

/** Sort names the way comparePaths orders siblings (UTF-8 byte order). */
function sortNames(names: string[]): string[] {
  return names.sort(compareNames);
}

export async function* walk(fs: FsLike, root: string, options: WalkOptions = {}): AsyncGenerator<Entry> {
  const hasher = options.hash === false ? undefined : (options.hash ?? blake3FileHasher);
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const maxQueue = Math.max(64, concurrency * 16);
  const stats = options.stats ?? newWalkStats();
  const inodes = new Map<string, { id: number; hash: Promise<Uint8Array> | undefined }>();
  const queue: Pending[] = [];
  let inflight = 0;

  const fail = (e: unknown, rel: string) => wrapError(e, `walk ${rel === '' ? '.' : rel}`);
  fs.prepareXattrs?.(root);

  async function entryOf(rel: string, st: FileStat): Promise<Entry> {
    const e: Entry = { path: rel, type: st.type, mode: st.mode, uid: st.uid, gid: st.gid, size: st.type === 'file' ? st.size : 0, mtimeNs: st.mtimeNs };
    // After the lstat: the clock only moves forward from the moment the mtime was read.
    if (st.type === 'file' && isRacyMtime(st.mtimeNs, BigInt(Date.now()) * 1_000_000n)) e.racy = true;
    const abs = joinPath(root, rel);
    if (st.type === 'symlink') e.linkname = await fs.readlink(abs);
    if (st.type === 'char' || st.type === 'block') {
      e.devmajor = st.devmajor;
      e.devminor = st.devminor;
    }
    if (st.type !== 'dir') {
      e.nlink = st.nlink;
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        let rec = inodes.get(key);
        if (!rec) inodes.set(key, (rec = { id: inodes.size + 1, hash: undefined }));
        e.inode = rec.id;
      }
    }
    if (fs.xattrs) {
      const x = await fs.xattrs(abs);
      const names = Object.keys(x).sort();
      if (names.length > 0) {
        e.xattrs = {};
        for (const n of names) e.xattrs[n] = x[n];
      }
    }
    return e;
  }

  /** Queue an entry, starting its hash if it needs one. */
  async function enqueue(e: Entry, st: FileStat): Promise<void> {
    stats.entries++;
    const item: Pending = { entry: e, done: undefined, ready: true };
    queue.push(item);
    if (e.type !== 'file' || !hasher) return;
    stats.files++;
    const rec = e.inode ? inodes.get(`${st.dev}:${st.ino}`) : undefined;
    let hash: Promise<Uint8Array> | undefined = rec?.hash;
    if (hash) {
      stats.shared++;
    } else {
      let cached = options.reuse?.(e);
      if (cached instanceof Promise) cached = await cached;
      if (cached) {
        stats.reused++;
        e.blake3 = cached;
        hash = Promise.resolve(cached);
      } else {
        stats.hashed++;
        stats.bytesHashed += e.size;
        inflight++;
        hash = hasher(fs, joinPath(root, e.path)).finally(() => inflight--);
      }
      if (rec) rec.hash = hash;
    }
    if (e.blake3) return;
    item.ready = false;
    item.done = hash.then(
      (h) => { e.blake3 = h; item.ready = true; },
      (err: unknown) => { item.error = fail(err, e.path); item.ready = true; },
    );
  }

  function startStats(f: Frame): void {
    const end = Math.min(f.names.length, f.next + STAT_LOOKAHEAD);
    for (let i = f.stats.length; i < end; i++) f.stats.push(settle(fs.lstat(joinPath(root, childPath(f.rel, f.names[i])))));
  }

  async function openDir(rel: string): Promise<Frame> {
    let names: string[];
    try {
      names = sortNames(await fs.readdir(joinPath(root, rel)));
    } catch (e) {
      throw fail(e, rel);
    }
    const f: Frame = { rel, names, next: 0, stats: [] };
    startStats(f);
    return f;
  }

  try {
    let rootStat: FileStat;
    try {
      rootStat = await fs.lstat(root);
    } catch (e) {
      throw fail(e, '');
    }
    if (rootStat.type !== 'dir') {
      throw new LayerkitError('ERR_INVALID_ARG', `walk ${root}: not a directory (a ${rootStat.type})`, { path: root, type: rootStat.type });
    }
    try {
      await enqueue(await entryOf('', rootStat), rootStat);
    } catch (e) {
      throw fail(e, '');
    }
    const frames: Frame[] = [await openDir('')];

    while (frames.length > 0) {
      const f = frames[frames.length - 1];
      if (f.next >= f.names.length) {
        frames.pop();
        continue;
      }
      const i = f.next++;
      const name = f.names[i];
      const rel = childPath(f.rel, name);
      startStats(f);
      const settled = await f.stats[i];
      f.stats[i] = undefined as never; // let it be collected
      if (!settled.ok) throw fail(settled.error, rel);
      const st = settled.value;
      if (options.exclude?.(rel, st)) continue;
      if (name.startsWith('.wh.')) {
        throw new LayerkitError(
          'ERR_WHITEOUT_NAME',
          `walk ${rel}: names starting with ".wh." are reserved for whiteouts in OCI layers; rename the file or exclude it`,
          { path: rel },
        );
      }
      let e: Entry;
      try {
        e = await entryOf(rel, st);
      } catch (err) {
        throw fail(err, rel);
      }
      await enqueue(e, st);
      if (st.type === 'dir') frames.push(await openDir(rel));

      // Hand out what is ready; wait for the oldest hash when too much is in flight or queued.
      while (queue.length > 0 && (queue[0].ready || inflight >= concurrency || queue.length > maxQueue)) {
        const item = queue.shift()!;
        if (item.done) await item.done;
        if (item.error) throw item.error;
        yield item.entry;
      }
    }
    while (queue.length > 0) {
      const item = queue.shift()!;
      if (item.done) await item.done;
      if (item.error) throw item.error;
      yield item.entry;
    }
  } finally {
    // Early exit or error: let hashes in flight finish so no file stays open behind our back.
    await Promise.all(queue.map((q) => q.done));
  }
}
