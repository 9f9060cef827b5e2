/**
 * The writes a container (or active snapshot) takes, with paths relative to its root: the one
 * shape of the snapshot writer (hardlink farms: copy-up before a write, src/platform/
 * snapshot-writer.ts) and of the union writer (through a union view, src/api/union-container.ts),
 * so the CLI's cp, rm-path, mkdir and mv drive either.
 */
/** What a file is written from: bytes, text, or chunks streamed in order (memory stays one chunk). */
export type FileData = Uint8Array | string | AsyncIterable<Uint8Array>;

export interface TreeWriter {
  writeFile(path: string, data: FileData, options?: { mode?: number }): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  mkdir(path: string, mode?: number): Promise<void>;
  /** Remove a file, link or whole directory. */
  remove(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  /** A new name for an existing file inside the tree. */
  link(existing: string, path: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  chown(path: string, uid: number, gid: number): Promise<void>;
  /** Times in seconds (integers are exact; fractions lose sub-microsecond digits). */
  utimes(path: string, atime: number, mtime: number): Promise<void>;
}
