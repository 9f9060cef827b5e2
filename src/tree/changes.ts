/**
 * Change detection: two sorted entry lists -> the minimal list of changes, in containerd order
 * (comparePaths: children right after their parent). The diff knows nothing about tar; the layer
 * writer (src/oci/layer-writer.ts) turns the result into a changeset.
 *
 * The merge is one loop over two sorted arrays (`mergeChanges`) so it can be swapped for a kernel
 * over packed entry tables without touching the callers.
 */
import type { Change, Entry } from './entry.ts';
import { comparePaths } from './entry.ts';
import { LayerkitError } from '../errors.ts';

/** A change as the diff reports it. */
export interface TreeChange extends Change {
  /**
   * The old entry was a directory that is gone (delete) or replaced by a non-directory (modify):
   * its old descendants are implicitly gone and are not listed (G2).
   */
  subtree?: true;
}

/**
 * The changes from `oldEntries` to `newEntries`. Both must be sorted by comparePaths with no path
 * twice. The root ('') and sockets (never written to layers, G9) are ignored on both sides, so a
 * file that became a socket is a delete.
 */
export function diffEntries(
  oldEntries: Iterable<Entry>,
  newEntries: Iterable<Entry>,
  merge: (old: readonly Entry[], cur: readonly Entry[]) => TreeChange[] = mergeChanges,
): TreeChange[] {
  return merge(toSortedArray(oldEntries, 'old'), toSortedArray(newEntries, 'new'));
}

function toSortedArray(entries: Iterable<Entry>, side: string): Entry[] {
  const out: Entry[] = [];
  let prev: string | undefined;
  for (const e of entries) {
    if (prev !== undefined && comparePaths(prev, e.path) >= 0) {
      throw new LayerkitError('ERR_INVALID_ARG', `${side} entries are not sorted: "${prev}" before "${e.path}"`, {
        side, previous: prev, path: e.path,
      });
    }
    prev = e.path;
    if (e.path === '' || e.type === 'socket') continue;
    out.push(e);
  }
  return out;
}

/** The merge loop: both arrays sorted, no root, no sockets. */
export function mergeChanges(old: readonly Entry[], cur: readonly Entry[]): TreeChange[] {
  const out: TreeChange[] = [];
  let i = 0;
  let j = 0;
  while (i < old.length || j < cur.length) {
    const c = i === old.length ? 1 : j === cur.length ? -1 : comparePaths(old[i].path, cur[j].path);
    if (c < 0) {
      const o = old[i++];
      if (o.type === 'dir') {
        out.push({ kind: 'delete', path: o.path, old: o, subtree: true });
        i = skipDescendants(old, i, o.path);
      } else {
        out.push({ kind: 'delete', path: o.path, old: o });
      }
    } else if (c > 0) {
      const n = cur[j++];
      out.push({ kind: 'add', path: n.path, new: n });
    } else {
      const o = old[i++];
      const n = cur[j++];
      if (o.type === 'dir' && n.type !== 'dir') {
        out.push({ kind: 'modify', path: n.path, old: o, new: n, subtree: true });
        i = skipDescendants(old, i, o.path);
      } else if (!sameEntry(o, n)) {
        out.push({ kind: 'modify', path: n.path, old: o, new: n });
      }
    }
  }
  return out;
}

/** Index of the first entry after `from` that is not below `dir` (descendants are contiguous). */
function skipDescendants(list: readonly Entry[], from: number, dir: string): number {
  const prefix = dir + '/';
  let k = from;
  while (k < list.length && list[k].path.startsWith(prefix)) k++;
  return k;
}

/**
 * Whether two entries at one path are the same for a layer. Directories: type, mode, owner,
 * xattrs (mtime and size are not a change, G4). Everything else also: link target, device numbers,
 * mtime in nanoseconds, size, and the content hash when both sides have one. Inode numbers are not
 * compared: same content and metadata is unchanged even when the file was rewritten.
 *
 * A regular file with equal size and mtime whose mtimes both have zero nanoseconds, and no hashes
 * on both sides, counts as changed: the timestamps may have been truncated (tar, second-resolution
 * filesystems), so two writes in one second would look equal (containerd compares bytes here).
 * The same holds when either side is racy (Entry.racy: its mtime was under a second old when it
 * was looked at, so a later write in the same tick kept it; git's racily clean entries).
 * Change detection settles both by hashing exactly those files.
 */
export function sameEntry(a: Entry, b: Entry): boolean {
  if (a.type !== b.type || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return false;
  if (!sameXattrs(a.xattrs, b.xattrs)) return false;
  if (a.type === 'dir') return true;
  if ((a.linkname ?? '') !== (b.linkname ?? '')) return false;
  if ((a.devmajor ?? 0) !== (b.devmajor ?? 0) || (a.devminor ?? 0) !== (b.devminor ?? 0)) return false;
  if (a.mtimeNs !== b.mtimeNs) return false;
  if (a.type !== 'file') return true;
  if (a.size !== b.size) return false;
  if (a.blake3 && b.blake3) return sameBytes(a.blake3, b.blake3);
  return !timeUndecided(a) && !timeUndecided(b);
}

/** A file whose mtime cannot vouch for its content: a whole second (maybe truncated), or racy. */
export function timeUndecided(e: Entry): boolean {
  return e.mtimeNs % 1_000_000_000n === 0n || e.racy === true;
}

function sameXattrs(a: Record<string, Uint8Array> | undefined, b: Record<string, Uint8Array> | undefined): boolean {
  const ka = a ? Object.keys(a) : [];
  const kb = b ? Object.keys(b) : [];
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    const vb = b![k];
    if (vb === undefined || !sameBytes(a![k], vb)) return false;
  }
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}
