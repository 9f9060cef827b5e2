/**
 * The FsLike port: the only way the core touches a filesystem. Adapters (node, memory, browser)
 * implement it; the core speaks Uint8Array and this interface, never node:fs.
 * It grows with the operations the core needs; every method is async, like fs/promises.
 */

/** An open file: positional reads into a caller-owned buffer (which may be a view of WASM memory). */
export interface FileHandleLike {
  /** Read up to `length` bytes at `position` into `buffer[offset..]`; resolves to bytes read (0 at EOF). */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

export interface StatLike {
  size: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

export interface FsLike {
  open(path: string): Promise<FileHandleLike>;
  lstat(path: string): Promise<StatLike>;
}
