/**
 * The snapshotter's model (containerd's snapshots.Snapshotter): snapshots are named by a key,
 * unique across kinds. prepare(key, parent) makes an ACTIVE (read-write) snapshot, view(key,
 * parent) a VIEW (read-only), commit(name, key) turns an active snapshot into a COMMITTED one
 * (read-only, a possible parent, with its layer blob); remove is refused while children exist.
 */
import type { FsLike } from '../fs/types.ts';
import type { LockPort } from '../fs/lock-file.ts';

export type Kind = 'active' | 'view' | 'committed';

/**
 * How a snapshot's directory was filled from its parent's:
 * - reflink: every regular file cloned (copy-on-write extents; the filesystem shares the blocks)
 * - hardlink: a farm of hardlinks to the parent's files; writes must go through the snapshot
 *   writer, which copies a shared file up before its first change (see src/platform/snapshot-writer.ts)
 * - copy: a plain copy of every file
 * - empty: no parent, nothing to copy
 */
export type Materialize = 'reflink' | 'hardlink' | 'copy' | 'empty';

/** The layer blob of a committed snapshot (the diff of its parent's tree to its own). */
export interface BlobRef {
  /** sha256 of the stored (compressed) blob: its name under blobs/sha256/. */
  digest: string;
  /** sha256 of the uncompressed tar. */
  diffID: string;
  size: number;
  mediaType: string;
}

/** Disk a snapshot costs on its own: what is not shared with its parent (containerd's Usage). */
export interface Usage {
  /** Bytes of the inodes of the snapshot that are not its parent's (st_blocks x 512). */
  size: number;
  /** Inodes of the snapshot that are not its parent's. */
  inodes: number;
}

/** The per-snapshot metadata record, stored as meta/<encoded key>.json. */
export interface SnapshotRecord {
  version: 1;
  key: string;
  kind: Kind;
  /** Directory name under snapshots/ (random; a commit keeps the active snapshot's). */
  id: string;
  parent?: string;
  labels: Record<string, string>;
  /** ISO 8601. */
  created: string;
  updated: string;
  materialize: Materialize;
  /** Committed snapshots only. */
  blob?: BlobRef;
  /** Committed snapshots only: usage measured at commit (committed content never changes). */
  usage?: Usage;
}

export interface SnapshotInfo extends SnapshotRecord {
  /** The snapshot's directory (its "mount"): read-write for active, read-only by contract otherwise. */
  path: string;
}

/** A snapshot's directory as handed to a user (containerd returns mounts; here a plain directory). */
export interface Mount {
  path: string;
  readOnly: boolean;
  materialize: Materialize;
}

/** Who holds the lock: enough to tell whether that process still lives. */
export type { LockOwner } from '../fs/lock-file.ts';

/** A file being written under a temporary name: bytes, then sync + close, then the caller renames it. */
export interface TempFile {
  write(chunk: Uint8Array): Promise<void>;
  /** fsync and close. */
  finish(): Promise<void>;
  /** Close (if open) and remove. */
  abort(): Promise<void>;
}

/**
 * Everything the store core asks of the platform (src/platform/store-node.ts implements it).
 * Paths are absolute '/'-joined strings. "Missing" results are explicit (undefined, false, []):
 * any other failure is thrown as the platform's error and wrapped by the core.
 */
export interface StorePort extends LockPort {
  /** Read side for the diff (layer blobs are made with src/api/diff.ts). */
  readonly fs: FsLike;
  /** Write `data` to `tmp`, fsync it, rename it to `path`, fsync `path`'s directory. */
  writeFileAtomic(path: string, data: Uint8Array, tmp: string): Promise<void>;
  /** Names in a directory, sorted; [] when it does not exist. */
  readdir(path: string): Promise<string[]>;
  mkdirp(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  syncDir(path: string): Promise<void>;
  createTemp(path: string): Promise<TempFile>;
  /** Which ways of sharing file content work in `dir` (probed with real files there). */
  probe(dir: string): Promise<{ reflink: boolean; hardlink: boolean }>;
  /** Fill the empty directory `dst` with a copy of the tree `src`, files shared as `method` says. */
  materialize(src: string, dst: string, method: 'reflink' | 'hardlink' | 'copy'): Promise<void>;
  /** Bytes (st_blocks x 512) and inodes under `dir`, each inode once, leaving out inodes also found under `except`. */
  usage(dir: string, except?: string): Promise<Usage>;
  /** Apparent size of the files under `dir` (what a full copy would cost), and its inode count. */
  apparent(dir: string): Promise<Usage>;
}
