/**
 * The OCI layer writer: changes -> plan (layer-plan.ts) -> tar (src/tar) -> compression -> sink,
 * with diffID (sha256 of the tar) and digest (sha256 of the blob) computed while streaming (G12).
 * File content is read through FsLike from the new root in bounded pieces; nothing holds a whole
 * file or the layer in memory.
 */
import type { Change, Entry } from '../tree/entry.ts';
import type { FsLike } from '../fs/types.ts';
import type { Sha256Like } from '../hash/engines.ts';
import { LayerkitError, wrapError } from '../errors.ts';
import { packTar, type TarItem } from '../tar/writer.ts';
import type { TarHeader } from '../tar/header.ts';
import { planLayer, type OldTreeSummary, type PlanItem } from './layer-plan.ts';
import { checkLevel, compressor, normalizeGzipHeader, type CompressFn } from './compression.ts';
import { layerMediaType, type Compression } from './media-types.ts';

export interface LayerOptions {
  /** Changes in comparePaths order (diffEntries output, or any source of Change). */
  changes: Iterable<Change>;
  /** The new tree, sorted by comparePaths (parents' metadata, hardlink groups). */
  newEntries: Iterable<Entry>;
  /** The old tree, sorted: enables opaque markers where they are equivalent and smaller (G3). */
  oldEntries?: Iterable<Entry>;
  /** Instead of oldEntries (streaming callers): see PlanOptions.oldSummary. */
  oldSummary?: OldTreeSummary;
  /** Set false to write only `.wh.` whiteouts (umoci style). Default true. */
  opaque?: boolean;
  /** Where file contents are read from. */
  fs: FsLike;
  /** Directory of the new tree (entry paths are relative to it). */
  root: string;
  /** Default 'none'. */
  compression?: Compression;
  /** gzip 0-9, zstd 1-22; default: the compressor's default (gzip 6, zstd 3). */
  level?: number;
  /** SOURCE_DATE_EPOCH in seconds: later mtimes are written as this (G11). */
  sourceDateEpoch?: number;
  /** Which xattrs go into the layer (G8). Default: defaultXattrFilter. */
  xattrFilter?: (name: string) => boolean;
  /** Override the compression port (default: the platform's, see setCompressor). */
  compress?: CompressFn;
  /** Override the SHA-256 (default: sha256Engine() from src/hash/engines.ts). */
  sha256?: () => Sha256Like;
  /** Bytes per file read (default 1 MiB). */
  readSize?: number;
  /**
   * Check that each file is still what its entry says (size, mtime to the nanosecond, mode, owner)
   * before and after its bytes are read: ERR_FILE_CHANGED otherwise, so a header and a body never
   * come from two versions of a file. For entries walked from the same files (diff, commit);
   * without it only the size is checked, and entries may carry metadata of their own.
   */
  checkUnchanged?: boolean;
}

export interface LayerResult {
  /** sha256 of the uncompressed tar, "sha256:<hex>". */
  diffID: string;
  /** sha256 of the blob as written to the sink. */
  digest: string;
  /** Blob size in bytes. */
  size: number;
  mediaType: string;
  /** Uncompressed tar size. */
  tarSize: number;
}

/** Where blob bytes go: an async callback (awaited per chunk) or a WritableStream (closed at the end). */
export type LayerSink = ((chunk: Uint8Array) => Promise<void> | void) | WritableStream<Uint8Array>;

/**
 * G8: every xattr except host- or filesystem-bound ones that must not travel between machines:
 * security.selinux (a host label), system.nfs4_acl, and overlayfs internals (trusted.overlay.*,
 * user.overlay.*). security.capability and POSIX ACLs are kept. (umoci's policy.)
 */
export function defaultXattrFilter(name: string): boolean {
  return name !== 'security.selinux' && name !== 'system.nfs4_acl'
    && !name.startsWith('trusted.overlay.') && !name.startsWith('user.overlay.');
}

const DEFAULT_READ = 1024 * 1024;

/** Write one layer blob to `sink`; resolves with its identities once the last byte was accepted. */
export async function writeLayer(options: LayerOptions, sink: LayerSink): Promise<LayerResult> {
  const compression = options.compression ?? 'none';
  if (compression !== 'none') checkLevel(compression, options.level);
  return writeTarBlob(layerTar(options), options, sink);
}

/**
 * Any tar stream -> blob: diffID (tar) and digest (blob) computed while streaming, compressed as
 * asked, written to `sink` (shared by writeLayer and flatten).
 */
export async function writeTarBlob(
  tarStream: AsyncIterable<Uint8Array>,
  options: Pick<LayerOptions, 'compression' | 'level' | 'compress' | 'sha256'>,
  sink: LayerSink,
): Promise<LayerResult> {
  const compression = options.compression ?? 'none';
  if (compression !== 'none') checkLevel(compression, options.level);
  const newHash = options.sha256 ?? (await defaultSha256());
  const tarHash = newHash();
  // Uncompressed: the blob is the tar, hash it once.
  const blobHash = compression === 'none' ? undefined : newHash();
  let tarSize = 0;
  let size = 0;

  const tar = tap(tarStream, (chunk) => {
    tarHash.update(chunk);
    tarSize += chunk.length;
  });
  let blob: AsyncIterable<Uint8Array> = tar;
  if (compression !== 'none') {
    blob = (options.compress ?? compressor())(tar, compression, options.level);
    if (compression === 'gzip') blob = normalizeGzipHeader(blob);
  }

  const out = toSinkFn(sink);
  try {
    for await (const chunk of blob) {
      blobHash?.update(chunk);
      size += chunk.length;
      await out.write(chunk);
    }
  } catch (e) {
    await out.abort(e);
    throw e;
  }
  await out.close();
  const diffID = `sha256:${hex(tarHash.digest())}`;
  return {
    diffID,
    digest: blobHash ? `sha256:${hex(blobHash.digest())}` : diffID,
    size,
    mediaType: layerMediaType(compression),
    tarSize,
  };
}

/** The uncompressed layer tar as a stream of chunks (no hashing, no compression). */
export function layerTar(options: LayerOptions): AsyncGenerator<Uint8Array> {
  if (options.sourceDateEpoch !== undefined && (!Number.isSafeInteger(options.sourceDateEpoch) || options.sourceDateEpoch < 0)) {
    throw new LayerkitError('ERR_OUT_OF_RANGE', `sourceDateEpoch must be a non-negative integer of seconds, got ${options.sourceDateEpoch}`, { sourceDateEpoch: options.sourceDateEpoch });
  }
  const plan = planLayer(options);
  return packTar(tarItems(plan, options));
}

function* tarItems(plan: PlanItem[], o: LayerOptions): Generator<TarItem> {
  const filter = o.xattrFilter ?? defaultXattrFilter;
  const readSize = o.readSize ?? DEFAULT_READ;
  for (const item of plan) {
    switch (item.kind) {
      case 'whiteout':
      case 'opaque':
        // G10: whiteouts carry mtime 0; mode 0 and root ownership as containerd and moby write them.
        yield { header: { name: item.path, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 } };
        break;
      case 'link':
        yield { header: { ...headerOf(item.path, item.entry, o.sourceDateEpoch, filter), type: 'link', size: 0, linkname: item.target } };
        break;
      case 'entry': {
        const e = item.entry;
        if (e.type === 'socket') break; // G9 (the plan drops them already)
        const header = headerOf(item.path, e, o.sourceDateEpoch, filter);
        yield e.type === 'file'
          ? { header, body: readFile(o.fs, joinPath(o.root, item.path), item.path, e, readSize, o.checkUnchanged === true) }
          : { header };
        break;
      }
    }
  }
}

function headerOf(path: string, e: Entry, sde: number | undefined, filter: (name: string) => boolean): TarHeader {
  // G7: whole seconds, truncated (floor), never rounded; G11: clamp.
  let mtime = Number(e.mtimeNs / 1_000_000_000n - (e.mtimeNs < 0n && e.mtimeNs % 1_000_000_000n !== 0n ? 1n : 0n));
  if (sde !== undefined && mtime > sde) mtime = sde;
  const h: TarHeader = {
    name: e.type === 'dir' ? `${path}/` : path,
    type: e.type === 'socket' ? 'file' : e.type,
    mode: e.mode & 0o7777,
    uid: e.uid,
    gid: e.gid,
    size: e.type === 'file' ? e.size : 0,
    mtime,
  };
  if (e.type === 'symlink') h.linkname = e.linkname ?? '';
  if (e.type === 'char' || e.type === 'block') {
    h.devmajor = e.devmajor ?? 0;
    h.devminor = e.devminor ?? 0;
  }
  if (e.xattrs) {
    const kept: Record<string, Uint8Array> = {};
    let any = false;
    for (const [k, v] of Object.entries(e.xattrs)) {
      if (filter(k)) {
        kept[k] = v;
        any = true;
      }
    }
    if (any) h.xattrs = kept;
  }
  return h;
}

/**
 * Exactly `size` bytes of the file, in fresh buffers (consumers may hold them). Before the first
 * byte and after the last, the file must still be a regular file of that size and, when `strict`
 * (checkUnchanged), have the entry's mtime to the nanosecond, mode and owner (what its tar header
 * says); it must not end early nor have anything past `size`: otherwise ERR_FILE_CHANGED, never a
 * layer whose header and content come from two versions of the file. (A rewrite of the same size
 * in the same clock tick keeps the mtime and cannot be seen; see Entry.racy.)
 */
async function* readFile(fs: FsLike, full: string, path: string, e: Entry, readSize: number, strict: boolean): AsyncGenerator<Uint8Array> {
  const size = e.size;
  const changed = (what: string, data: Record<string, unknown>): LayerkitError =>
    new LayerkitError('ERR_FILE_CHANGED', `pack ${path}: ${what} while it was being written to the layer; snapshot again`, { path, expectedSize: size, ...data });
  const check = async (when: string): Promise<void> => {
    let st;
    try {
      st = await fs.lstat(full);
    } catch (err) {
      throw wrapError(err, `pack ${path}`);
    }
    if (!st.isFile()) throw changed(`it is no longer a regular file (${when})`, {});
    if (st.size !== size) throw changed(`its size changed to ${st.size} (${when})`, { size: st.size });
    if (!strict) return;
    if (st.mtimeNs !== e.mtimeNs) throw changed(`it was modified (${when}: mtime ${st.mtimeNs} ns, the trees were compared at ${e.mtimeNs})`, { mtimeNs: String(st.mtimeNs) });
    if (st.mode !== e.mode || st.uid !== e.uid || st.gid !== e.gid) {
      throw changed(`its mode or owner changed (${when})`, { mode: st.mode, uid: st.uid, gid: st.gid });
    }
  };
  await check('before reading it');
  let fh: Awaited<ReturnType<FsLike['open']>>;
  try {
    fh = await fs.open(full);
  } catch (e) {
    throw wrapError(e, `pack ${path}`);
  }
  /** Nothing past `size`, and the file as it was: before the last bytes are handed on. */
  const atEnd = async (): Promise<void> => {
    if ((await readAt(fh, new Uint8Array(1), 0, 1, size, path)) > 0) throw changed('it grew', {});
    await check('after reading it');
  };
  try {
    let pos = 0;
    while (pos < size) {
      const want = Math.min(readSize, size - pos);
      const buf = new Uint8Array(want);
      let got = 0;
      while (got < want) {
        const n = await readAt(fh, buf, got, want - got, pos + got, path);
        if (n === 0) throw changed(`it shrank to ${pos + got} bytes`, { size: pos + got });
        got += n;
      }
      pos += want;
      if (pos === size) await atEnd();
      yield buf;
    }
    if (size === 0) await atEnd();
  } finally {
    await fh.close();
  }
}

async function readAt(fh: { read(b: Uint8Array, o: number, l: number, p: number): Promise<number> }, buf: Uint8Array, off: number, len: number, pos: number, path: string): Promise<number> {
  try {
    return await fh.read(buf, off, len, pos);
  } catch (e) {
    throw wrapError(e, `pack ${path}`);
  }
}

function joinPath(root: string, rel: string): string {
  return root.endsWith('/') ? root + rel : `${root}/${rel}`;
}

async function* tap(source: AsyncIterable<Uint8Array>, fn: (chunk: Uint8Array) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    fn(chunk);
    yield chunk;
  }
}

interface SinkFns {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(reason: unknown): Promise<void>;
}

function toSinkFn(sink: LayerSink): SinkFns {
  if (typeof sink === 'function') {
    return { write: async (c) => { await sink(c); }, close: async () => {}, abort: async () => {} };
  }
  const w = sink.getWriter();
  return {
    write: async (c) => {
      await w.ready;
      await w.write(c);
    },
    close: () => w.close(),
    abort: (reason) => w.abort(reason).catch(() => {}),
  };
}

/** The platform's SHA-256 engine, loaded on first use (keeps this module free of the WASM import). */
async function defaultSha256(): Promise<() => Sha256Like> {
  const { sha256Engine } = await import('../hash/engines.ts');
  const engine = sha256Engine();
  return () => engine.create();
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
