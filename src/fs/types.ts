/**
 * The FsLike port: the only way the core touches a filesystem. Adapters (node, memory, browser)
 * implement it; the core speaks Uint8Array and this interface, never node:fs.
 * It grows with the operations the core needs; every method is async, like fs/promises.
 *
 * Paths are '/'-separated strings handed to the adapter as they are. Errors are the adapter's own
 * (node-style objects with a string `code` such as 'ENOENT'); the core wraps them with context.
 */

/** An open file: positional reads into a caller-owned buffer (which may be a view of WASM memory). */
export interface FileHandleLike {
  /** Read up to `length` bytes at `position` into `buffer[offset..]`; resolves to bytes read (0 at EOF). */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/** The kinds of filesystem objects the core knows (same names as the entry model's EntryType). */
export type FileType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** The small stat every adapter has always provided. */
export interface StatLike {
  size: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** Everything a tree walk needs to know about one name (lstat: symlinks are not followed). */
export interface FileStat extends StatLike {
  type: FileType;
  /** Permission bits including setuid/setgid/sticky (st_mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** st_size (for symlinks the target length, for directories whatever the filesystem says). */
  size: number;
  /** Modification time, nanoseconds since the epoch. */
  mtimeNs: bigint;
  /** Inode number and device: together they identify the file on this machine (hardlinks). */
  ino: bigint;
  dev: bigint;
  nlink: number;
  /** Device numbers decoded from st_rdev (char/block devices; 0 otherwise). */
  devmajor: number;
  devminor: number;
}

/** The read side of a filesystem: enough to hash files and walk trees. */
export interface FsLike {
  open(path: string): Promise<FileHandleLike>;
  /** Stat without following a final symlink. */
  lstat(path: string): Promise<FileStat>;
  /** The names in a directory (no '.' or '..'), in no particular order. */
  readdir(path: string): Promise<string[]>;
  /** The target of a symlink, as stored. */
  readlink(path: string): Promise<string>;
  /**
   * Extended attributes of a name (not following a final symlink). Optional: adapters that cannot
   * read them omit it (the node adapter returns {}; see src/fs/node.ts), and the walk records none.
   */
  xattrs?(path: string): Promise<Record<string, Uint8Array>>;
  /**
   * Optional hint: `xattrs` is about to be asked for every name under `root` (a walk starts).
   * Adapters for which one call per name is dear read the whole tree at once.
   */
  prepareXattrs?(root: string): void;
}

/** A file open for writing in order (WritableFsLike.writeFileStream, MutableFsLike.createFile). */
export interface WriteHandleLike {
  /** Append all of `data`. */
  write(data: Uint8Array): Promise<void>;
  /** Close (writeFileStream: after making the bytes durable where the adapter can tell). */
  close(): Promise<void>;
  /** Close without caring about the bytes (after a failure); without it, close() is used. */
  abort?(): Promise<void>;
  /**
   * Optional metadata through the open file (fchown, fchmod, futimes): no path lookup. A file
   * applier uses them before close() when all three exist, else the path calls of MutableFsLike.
   */
  chown?(uid: number, gid: number): Promise<void>;
  chmod?(mode: number): Promise<void>;
  utimes?(mtimeNs: bigint): Promise<void>;
}

/** The write side the core needs (atomic saves of manifests: write a temp name, then rename). */
export interface WritableFsLike extends FsLike {
  /**
   * Optional: create (or truncate) a file to be written in pieces, so large saves stream instead of
   * being assembled in memory. Without it the core builds the bytes and calls writeFile.
   */
  writeFileStream?(path: string): Promise<WriteHandleLike>;
  /** Create or replace a file with `data`; resolves once the bytes are durable where the adapter can tell. */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /** Rename atomically, replacing an existing file at `to`. */
  rename(from: string, to: string): Promise<void>;
  /** Remove a file (used to clean up temp files after a failed save). */
  unlink(path: string): Promise<void>;
}

type StatFields = Omit<FileStat, 'isFile' | 'isDirectory' | 'isSymbolicLink'>;

/** A FileStat whose predicates live on the prototype (one object per stat, no closures). */
class FileStatRecord implements FileStat {
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  ino: bigint;
  dev: bigint;
  nlink: number;
  devmajor: number;
  devminor: number;
  constructor(f: StatFields) {
    this.type = f.type;
    this.mode = f.mode;
    this.uid = f.uid;
    this.gid = f.gid;
    this.size = f.size;
    this.mtimeNs = f.mtimeNs;
    this.ino = f.ino;
    this.dev = f.dev;
    this.nlink = f.nlink;
    this.devmajor = f.devmajor;
    this.devminor = f.devminor;
  }
  isFile(): boolean {
    return this.type === 'file';
  }
  isDirectory(): boolean {
    return this.type === 'dir';
  }
  isSymbolicLink(): boolean {
    return this.type === 'symlink';
  }
}

/** Build the StatLike predicates for a FileStat from its fields (adapters share this). */
export function fileStat(fields: StatFields): FileStat {
  return new FileStatRecord(fields);
}

/**
 * The mutating side the layer applier needs. Every method acts on the last component itself and
 * never follows a final symlink (the applier resolves parents itself, see src/oci/safe-path.ts);
 * errors are node-style objects with a string `code` (EEXIST, ENOENT, EPERM, ENOTSUP, ...).
 */
export interface MutableFsLike extends WritableFsLike {
  /** Create one directory (not recursive); EEXIST if the name exists. */
  mkdir(path: string, options?: { mode?: number }): Promise<void>;
  /** Create a new regular file (O_CREAT|O_EXCL|O_NOFOLLOW) and open it for writing. */
  createFile(path: string, mode: number): Promise<WriteHandleLike>;
  symlink(target: string, path: string): Promise<void>;
  /** A new name for `existing`, which is not followed if it is a symlink (link(2) on Linux). */
  link(existing: string, path: string): Promise<void>;
  /** A device node or fifo; EPERM where the process may not create devices. */
  mknod(path: string, type: 'char' | 'block' | 'fifo', options: { mode: number; major?: number; minor?: number }): Promise<void>;
  lchown(path: string, uid: number, gid: number): Promise<void>;
  /** chmod of a name the caller knows is not a symlink. */
  chmod(path: string, mode: number): Promise<void>;
  /** Set the modification (and access) time of the name itself, ns since the epoch. */
  lutimes(path: string, mtimeNs: bigint): Promise<void>;
  /** Remove a name; directories with everything below them. A final symlink is removed, not followed. */
  rm(path: string, options: { recursive: true }): Promise<void>;
  /**
   * Set extended attributes on a name (not following a final symlink). Optional; may reject with
   * ENOTSUP/EPERM per attribute (the error's `attr` names it) — callers tolerate that (A11).
   */
  setXattrs?(path: string, xattrs: Record<string, Uint8Array>): Promise<void>;
  /**
   * Optional: the xattrs of several names at once (not following final symlinks), keyed by the
   * path as given; names without any (or that cannot be read) may be missing. undefined: xattrs cannot be read here.
   */
  xattrsOfMany?(paths: string[]): Promise<Map<string, Record<string, Uint8Array>> | undefined>;
  /** Optional: remove extended attributes of a name (not following a final symlink). */
  removeXattrs?(path: string, names: string[]): Promise<void>;
}
