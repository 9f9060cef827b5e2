/**
 * An index of one uncompressed layer tar: every entry's cleaned name, header fields and the offset
 * and size of its body inside the tar, in tar order. Built in one pass with the streaming tar
 * reader (PAX and GNU long names included, limits enforced); bodies are skipped, never held.
 * Content is then read straight from the tar at `dataOffset` through a ranged reader (the
 * FileHandleLike shape: positional reads; node: the tar file opened by the FsLike adapter;
 * memory: bytesReader over a Uint8Array). The index holds metadata and offsets only.
 *
 * Hardlinks: resolved to the body of the latest earlier entry of the same layer with the target's
 * name; a link whose target is not in this layer keeps `linkTarget` and the stack (stack.ts in
 * this folder) resolves it against the layers below.
 *
 * Compressed blobs: random access needs the uncompressed bytes, so uncompressedReader() detects
 * the compression by magic (src/oci/decompress.ts) and decompresses the blob ONCE into a cache (a
 * Uint8Array by default, or a file through a MutableFsLike); the index then points into that.
 */
import { LayerkitError } from '../errors.ts';
import type { FileHandleLike, FileType, MutableFsLike } from '../fs/types.ts';
import { readTar } from '../tar/reader.ts';
import type { TarLimits } from '../tar/limits.ts';
import { decompress, detectCompression, type DecompressFn } from '../oci/decompress.ts';
import type { Compression } from '../oci/media-types.ts';
import { cleanName } from '../oci/safe-path.ts';
import { parseWhiteout } from '../oci/whiteout.ts';
import type { StackKind } from '../oci/stack.ts';

/** A positional reader over bytes (an open tar file or a buffer): FileHandleLike's shape. */
export type RangedReader = FileHandleLike;

export interface IndexedEntry {
  /** Cleaned name ('' is the root); whiteout: the removed name; opaque: the directory. */
  path: string;
  /** As the stack kernel sees it: every non-directory (links included) is a 'file'. */
  kind: StackKind;
  /** The object's type (file/dir kinds); hardlinks resolved in this layer take their target's. */
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  /** Whole seconds, from the header. */
  mtime: number;
  /** Symlink target. */
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs?: Record<string, Uint8Array>;
  /** Body location in the uncompressed tar (regular files and resolved hardlinks). */
  dataOffset: number;
  size: number;
  /** A hardlink: the cleaned target name. `resolved` says whether this layer held the target. */
  linkTarget?: string;
  resolved?: boolean;
  /** For hardlinks resolved in this layer: the index (in `entries`) of the file they share. */
  sharesWith?: number;
}

export interface TarIndex {
  entries: IndexedEntry[];
  /** Bytes of tar read. */
  tarSize: number;
}

const CHUNK = 1024 * 1024;

/** Sequential chunks of a ranged reader from `start` to EOF. */
export async function* readerChunks(reader: RangedReader, start = 0, chunk = CHUNK): AsyncGenerator<Uint8Array> {
  let pos = start;
  for (;;) {
    const buf = new Uint8Array(chunk);
    const n = await reader.read(buf, 0, chunk, pos);
    if (n === 0) return;
    pos += n;
    yield buf.subarray(0, n);
  }
}

/** A ranged reader over bytes in memory. */
export function bytesReader(bytes: Uint8Array): RangedReader {
  return {
    async read(buffer, offset, length, position) {
      const src = bytes.subarray(Math.min(position, bytes.length), Math.min(position + length, bytes.length));
      buffer.set(src, offset);
      return src.length;
    },
    async close() {},
  };
}

/** Index an uncompressed layer tar read through `reader` (one sequential pass). */
export async function indexTar(reader: RangedReader, options: { limits?: Partial<TarLimits> } = {}): Promise<TarIndex> {
  const entries: IndexedEntry[] = [];
  /** Latest entry of this layer per name (hardlink targets). */
  const latest = new Map<string, number>();
  let tarSize = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const c of readerChunks(reader)) {
      tarSize += c.length;
      yield c;
    }
  }
  for await (const e of readTar(counted(), { limits: options.limits })) {
    const rel = cleanName(e.name);
    const base = {
      mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, linkname: '', devmajor: e.devmajor, devminor: e.devminor,
      dataOffset: 0, size: 0,
    };
    if (rel === '') {
      if (e.type !== 'dir') throw new LayerkitError('ERR_UNSAFE_PATH', `"${e.name}" would replace the root with a ${e.type}`, { name: e.name, type: e.type });
      entries.push({ ...base, path: '', kind: 'dir', type: 'dir', ...(e.xattrs ? { xattrs: e.xattrs } : {}) });
      latest.set('', entries.length - 1);
      continue;
    }
    const wh = parseWhiteout(rel);
    if (wh) {
      if (wh.kind === 'whiteout') entries.push({ ...base, path: wh.target, kind: 'whiteout', type: 'file' });
      else if (wh.kind === 'opaque') entries.push({ ...base, path: wh.dir, kind: 'opaque', type: 'dir' });
      continue; // 'meta' (aufs internals): nothing
    }
    const item: IndexedEntry = { ...base, path: rel, kind: e.type === 'dir' ? 'dir' : 'file', type: e.type === 'link' ? 'file' : e.type };
    if (e.xattrs) item.xattrs = e.xattrs;
    if (e.type === 'symlink') item.linkname = e.linkname;
    if (e.type === 'file') {
      item.dataOffset = e.dataOffset;
      item.size = e.size;
    }
    if (e.type === 'link') {
      const target = cleanName(e.linkname, 'hardlink target');
      if (target === '') throw new LayerkitError('ERR_UNSAFE_LINK', `hardlink "${e.name}" -> "${e.linkname}": the target is the root directory`, { name: e.name, linkname: e.linkname });
      item.linkTarget = target;
      const t = latest.get(target);
      const te = t === undefined ? undefined : entries[t]!;
      if (te && te.type === 'dir') throw new LayerkitError('ERR_UNSAFE_LINK', `hardlink "${e.name}" -> "${e.linkname}": the target is a directory`, { name: e.name, linkname: e.linkname });
      if (te) {
        // A8: a hardlink carries no metadata of its own: it is another name of the target's inode.
        Object.assign(item, { type: te.type, mode: te.mode, uid: te.uid, gid: te.gid, mtime: te.mtime, linkname: te.linkname, devmajor: te.devmajor, devminor: te.devminor, dataOffset: te.dataOffset, size: te.size });
        if (te.xattrs) item.xattrs = te.xattrs;
        item.resolved = true;
        item.sharesWith = te.sharesWith ?? t!;
      } else {
        item.resolved = false;
      }
    }
    latest.set(rel, entries.length);
    entries.push(item);
  }
  return { entries, tarSize };
}

/** Where a decompressed tar is kept for random access. */
export interface TarCache {
  /** Store the tar (consumed once) and return a reader over it. */
  store(tar: AsyncIterable<Uint8Array>): Promise<RangedReader>;
}

/** Keep decompressed tars in memory (browsers, tests, small layers). */
export const memoryTarCache: TarCache = {
  async store(tar) {
    const parts: Uint8Array[] = [];
    let n = 0;
    for await (const c of tar) {
      parts.push(c.slice());
      n += c.length;
    }
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return bytesReader(out);
  },
};

/** Keep decompressed tars as files `path` on a filesystem (streamed: memory stays at one chunk). */
export function fileTarCache(fs: MutableFsLike, path: string): TarCache {
  return {
    async store(tar) {
      const h = fs.writeFileStream ? await fs.writeFileStream(path) : await fs.createFile(path, 0o600);
      try {
        for await (const c of tar) await h.write(c);
      } catch (e) {
        await (h.abort ?? h.close).call(h);
        throw e;
      }
      await h.close();
      return fs.open(path);
    },
  };
}

/**
 * A reader over the uncompressed tar of a blob read through `blob`: the blob itself when it is
 * a plain tar, else the blob decompressed once into `cache` (default: memory).
 */
export async function uncompressedReader(
  blob: RangedReader,
  options: { cache?: TarCache; decompress?: DecompressFn } = {},
): Promise<{ reader: RangedReader; compression: Compression }> {
  const head = new Uint8Array(6);
  let got = 0;
  while (got < head.length) {
    const n = await blob.read(head, got, head.length - got, got);
    if (n === 0) break;
    got += n;
  }
  const compression = detectCompression(head.subarray(0, got));
  if (compression === 'none') return { reader: blob, compression };
  const reader = await (options.cache ?? memoryTarCache).store(decompress(readerChunks(blob), compression, options.decompress));
  return { reader, compression };
}
