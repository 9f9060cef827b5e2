/**
 * The store's cache of layer tars for union containers: `<store>/union/cache/`, keyed by diffID.
 *
 * - `<hex>.tar`: a compressed layer's tar, decompressed ONCE (from the layout's blob, whose digest
 *   and the tar's diffID are verified while it streams: ImageLayer.tar()) into a temp file in the
 *   same directory, fsynced, then renamed into place. Every union container on that layer reads it.
 *   An uncompressed layer is read in place from the layout (its blob IS the tar): no copy.
 * - `<hex>.idx`: the tar's index (tar-index.ts: names, header fields, body offsets), so that opening
 *   a view reads one small file per layer instead of every tar header again. Written atomically
 *   after the tar; validated when read (format, diffID, the tar's size, every row's shape); a
 *   missing or invalid index is rebuilt from the tar.
 *
 * Concurrent fillers each write their own temp file and rename it over: the same bytes win.
 * No lock is needed to read or fill; `store gc` (pruneUnionCache) removes entries under the lock.
 */
import { LayerkitError, wrapError } from '../errors.ts';
import type { StorePort } from '../snapshot/types.ts';
import { newId } from '../snapshot/keys.ts';
import { indexTar, type IndexedEntry, type RangedReader, type TarIndex } from './tar-index.ts';
import type { TarLimits } from '../tar/limits.ts';

const FORMAT = 'layerkit.tar-index';
const VERSION = 1;

/** What the cache needs to know of a layer (ImageLayer has it). */
export interface CacheLayer {
  diffID: string;
  digest: string;
  compression: string;
  /** The blob, verified against its digest and size. */
  blob(): AsyncIterable<Uint8Array>;
  /** The uncompressed tar, verified against the diffID. */
  tar(): AsyncIterable<Uint8Array>;
}

export interface CachedLayer {
  reader: RangedReader;
  index: TarIndex;
  /** What this call had to do: nothing (hit), the index only, or the tar and the index. */
  filled: 'hit' | 'index' | 'tar';
}

function hexOf(diffID: string): string {
  return diffID.slice('sha256:'.length);
}

export function cacheTarPath(cacheDir: string, diffID: string): string {
  return `${cacheDir}/${hexOf(diffID)}.tar`;
}

export function cacheIndexPath(cacheDir: string, diffID: string): string {
  return `${cacheDir}/${hexOf(diffID)}.idx`;
}

function b64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return btoa(s);
}

function unb64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The index as compact JSON: a header and one array per entry. */
export function encodeTarIndex(diffID: string, index: TarIndex): Uint8Array {
  const rows = index.entries.map((e) => [
    e.path, e.kind, e.type, e.mode, e.uid, e.gid, e.mtime, e.linkname, e.devmajor, e.devminor, e.dataOffset, e.size,
    e.linkTarget ?? null, e.resolved ?? null, e.sharesWith ?? null,
    e.xattrs ? Object.fromEntries(Object.entries(e.xattrs).map(([k, v]) => [k, b64(v)])) : null,
  ]);
  return new TextEncoder().encode(JSON.stringify({ format: FORMAT, version: VERSION, diffID, tarSize: index.tarSize, entries: rows }));
}

const KINDS = new Set(['file', 'dir', 'whiteout', 'opaque']);
const TYPES = new Set(['file', 'dir', 'symlink', 'char', 'block', 'fifo', 'socket']);
const int = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Parse an index file; undefined when it is not a valid index of `diffID` over a tar of `tarSize` bytes. */
export function decodeTarIndex(bytes: Uint8Array, diffID: string, tarSize: number): TarIndex | undefined {
  let v: { format?: unknown; version?: unknown; diffID?: unknown; tarSize?: unknown; entries?: unknown };
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || v.format !== FORMAT || v.version !== VERSION || v.diffID !== diffID || v.tarSize !== tarSize || !Array.isArray(v.entries)) return undefined;
  const entries: IndexedEntry[] = [];
  for (const r of v.entries as unknown[]) {
    if (!Array.isArray(r) || r.length !== 16) return undefined;
    const [path, kind, type, mode, uid, gid, mtime, linkname, devmajor, devminor, dataOffset, size, linkTarget, resolved, sharesWith, xattrs] = r;
    if (typeof path !== 'string' || !KINDS.has(kind) || !TYPES.has(type) || !int(mode) || !int(uid) || !int(gid) || !Number.isSafeInteger(mtime)
      || typeof linkname !== 'string' || !int(devmajor) || !int(devminor) || !int(dataOffset) || !int(size) || dataOffset + size > tarSize
      || !(linkTarget === null || typeof linkTarget === 'string') || !(resolved === null || typeof resolved === 'boolean')
      || !(sharesWith === null || (int(sharesWith) && sharesWith < entries.length)) || !(xattrs === null || (typeof xattrs === 'object' && !Array.isArray(xattrs)))) {
      return undefined;
    }
    const e: IndexedEntry = { path, kind, type, mode, uid, gid, mtime, linkname, devmajor, devminor, dataOffset, size };
    if (linkTarget !== null) e.linkTarget = linkTarget;
    if (resolved !== null) e.resolved = resolved;
    if (sharesWith !== null) e.sharesWith = sharesWith;
    if (xattrs !== null) {
      const x: Record<string, Uint8Array> = {};
      for (const [k, s] of Object.entries(xattrs as Record<string, unknown>)) {
        if (typeof s !== 'string') return undefined;
        try {
          x[k] = unb64(s);
        } catch {
          return undefined;
        }
      }
      e.xattrs = x;
    }
    entries.push(e);
  }
  return { entries, tarSize };
}

/** Stream `chunks` into a temp file in `dir`, fsync it, rename it to `path`, fsync `dir`. */
export async function writeAtomic(port: StorePort, dir: string, path: string, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  const tmp = `${dir}/.tmp-${newId()}`;
  const t = await port.createTemp(tmp);
  try {
    for await (const c of chunks) await t.write(c);
    await t.finish();
    await port.rename(tmp, path);
  } catch (e) {
    await t.abort().catch(() => {});
    await port.remove(tmp).catch(() => {});
    throw e;
  }
  await port.syncDir(dir);
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

export interface OpenCachedOptions {
  /** The path of the layout's blob `digest` (an uncompressed layer is read there, through port.fs). */
  blobPath: (digest: string) => string;
  limits?: Partial<TarLimits>;
}

/** A reader over a layer's tar, as the cache holds it. */
export interface LayerTar {
  reader: RangedReader;
  tarSize: number;
  /** Whether this call decompressed the tar into the cache. */
  filled: boolean;
}

/**
 * A reader over `layer`'s tar: the cached tar of a compressed layer (decompressed now unless
 * `fill` is false: then undefined when it is not cached), the layout's blob of an uncompressed one.
 * The caller closes the reader.
 */
export async function openLayerTar(port: StorePort, cacheDir: string, layer: CacheLayer, options: OpenCachedOptions & { fill?: boolean }): Promise<LayerTar | undefined> {
  if (layer.compression === 'none') {
    const path = options.blobPath(layer.digest);
    const tarSize = (await port.fs.lstat(path)).size;
    return { reader: await port.fs.open(path), tarSize, filled: false };
  }
  const tarPath = cacheTarPath(cacheDir, layer.diffID);
  let st = await port.fs.lstat(tarPath).catch((e) => {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw wrapError(e, `union cache: ${tarPath}`);
  });
  let filled = false;
  if (!st) {
    if (options.fill === false) return undefined;
    await port.mkdirp(cacheDir);
    try {
      await writeAtomic(port, cacheDir, tarPath, layer.tar());
    } catch (e) {
      throw wrapError(e, `union cache: decompress layer ${layer.digest}`);
    }
    filled = true;
    st = await port.fs.lstat(tarPath);
  }
  return { reader: await port.fs.open(tarPath), tarSize: st.size, filled };
}

/**
 * A reader over `layer`'s tar and its index, from the cache in `cacheDir` (filled now if needed).
 * The caller closes the reader.
 */
export async function openCachedLayer(port: StorePort, cacheDir: string, layer: CacheLayer, options: OpenCachedOptions): Promise<CachedLayer> {
  const idxPath = cacheIndexPath(cacheDir, layer.diffID);
  const { reader, tarSize, filled: tarFilled } = (await openLayerTar(port, cacheDir, layer, options))!;
  let filled: CachedLayer['filled'] = tarFilled ? 'tar' : 'hit';
  try {
    const bytes = filled === 'tar' ? undefined : await port.readFile(idxPath);
    let index = bytes ? decodeTarIndex(bytes, layer.diffID, tarSize) : undefined;
    if (!index) {
      if (layer.compression === 'none' && filled === 'hit') {
        // The layout's blob is read in place: verify it (digest = diffID) once, when indexed.
        for await (const _ of layer.blob()) { /* verified by the iterator */ }
      }
      index = await indexTar(reader, { limits: options.limits });
      if (index.tarSize !== tarSize) {
        throw new LayerkitError('ERR_STORE_CORRUPT', `union cache: layer ${layer.diffID}: indexed ${index.tarSize} bytes of a ${tarSize}-byte tar`, { diffID: layer.diffID });
      }
      await port.mkdirp(cacheDir);
      await writeAtomic(port, cacheDir, idxPath, once(encodeTarIndex(layer.diffID, index)));
      if (filled === 'hit') filled = 'index';
    }
    return { reader, index, filled };
  } catch (e) {
    await reader.close().catch(() => {});
    throw e;
  }
}
