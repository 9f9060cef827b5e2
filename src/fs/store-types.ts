/**
 * The write side a content store needs (OCI image layouts): files created exclusively and
 * written in pieces (blobs can be any size), synced, then renamed into place; directories made
 * and synced. Adapters: src/fs/node-store.ts (node:fs), src/fs/memory-store.ts (MemoryFs).
 */
import type { FsLike } from './types.ts';
import type { LockPort } from './lock-file.ts';

/** A file open for writing, from its start. */
export interface WritableFileLike {
  /** Write all of `chunk` after what was written before. */
  write(chunk: Uint8Array): Promise<void>;
  /** Make the bytes durable (fsync) where the adapter can. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreFsLike extends FsLike {
  /** Create a new file; fails (code 'EEXIST') if the name exists. */
  createFile(path: string): Promise<WritableFileLike>;
  /** Rename atomically, replacing an existing file at `to`. */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Make a directory and its missing parents; no error if it exists. */
  mkdirp(path: string): Promise<void>;
  /** Make a directory's entries (a rename into it) durable: fsync of the directory. */
  syncDir(path: string): Promise<void>;
  /**
   * Lock files shared with other processes (src/fs/lock-file.ts), for read-modify-write of an
   * index. Without it (an in-memory store: one process) updates are not locked.
   */
  readonly lock?: LockPort;
}
