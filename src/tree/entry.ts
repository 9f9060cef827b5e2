/**
 * The entry model shared by snapshots, change detection, the layer writer and apply.
 * Paths are relative to the tree root, '/'-separated, with no leading '/' or './' and no trailing
 * '/'; the root itself is the empty path ''.
 */

export type EntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

export interface Entry {
  path: string;
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of content (regular files; 0 otherwise). */
  size: number;
  /** Modification time in nanoseconds since the epoch. */
  mtimeNs: bigint;
  /** Symlink target. */
  linkname?: string;
  /** Device numbers (char/block). */
  devmajor?: number;
  devminor?: number;
  /**
   * Hardlink identity: entries of one tree with the same non-zero `inode` are names of one file.
   * Live walks use `${dev}:${ino}`-derived ids; manifests store them renumbered (1, 2, ...) in
   * path order so saved snapshots do not depend on the machine.
   */
  inode?: number;
  /** Link count as seen by the walk (files). */
  nlink?: number;
  /** Extended attributes (name -> value). */
  xattrs?: Record<string, Uint8Array>;
  /** BLAKE3-256 of the content (regular files), when known. */
  blake3?: Uint8Array;
  /**
   * Regular files: the mtime was less than RACY_WINDOW_NS before the moment the walk looked at the
   * file (or after it). A write in the same timestamp tick leaves mtime and size as they were, so
   * this mtime cannot vouch for the content: comparisons read it (git's "racily clean" entries).
   */
  racy?: true;
}

/**
 * How recent an mtime makes a file racy: one second covers filesystems with second timestamps and
 * kernels whose file clock lags the wall clock by a tick (Linux stamps files with a coarse clock:
 * two writes within ~4 ms get the same nanoseconds).
 */
export const RACY_WINDOW_NS = 1_000_000_000n;

/** Whether an mtime seen at `nowNs` is racy (see Entry.racy). */
export function isRacyMtime(mtimeNs: bigint, nowNs: bigint): boolean {
  return mtimeNs > nowNs - RACY_WINDOW_NS;
}

export type ChangeKind = 'add' | 'modify' | 'delete';

/** One change between two trees: `old` is absent for add, `new` is absent for delete. */
export interface Change {
  kind: ChangeKind;
  path: string;
  old?: Entry;
  new?: Entry;
}

/**
 * Path order used everywhere (containerd's): the byte order of the UTF-8 paths, in which '/' sorts
 * before every other byte, so a directory's children come right after it and before its siblings
 * ("a", "a/b", "a-b" rather than "a", "a-b", "a/b"). UTF-8 byte order is code point order; UTF-16
 * code units differ from it only for U+E000..U+FFFF against surrogate pairs, fixed up here.
 */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 47) return -1;
    if (y === 47) return 1;
    return codePointRank(x) < codePointRank(y) ? -1 : 1;
  }
  return a.length - b.length;
}

/** Sort sibling names (no '/') in UTF-8 byte order. */
export function compareNames(a: string, b: string): number {
  return comparePaths(a, b);
}

/** A UTF-16 code unit's rank in code point order: surrogates (pairs, >= U+10000) above U+FFFF. */
function codePointRank(c: number): number {
  if (c < 0xd800) return c;
  return c >= 0xe000 ? c - 0x800 : c + 0x2000;
}
