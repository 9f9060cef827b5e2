/**
 * The lower stack of an image, from the store's union cache (`<store>/union/cache/`):
 *
 * - `<chainID hex>.lower`: the image's layers resolved once into a lower table (lower-table.ts),
 *   keyed by the chain ID of its top layer. A later open reads its trailer and page directory and
 *   then only the pages the command asks for, and opens each layer's tar without reading it: the
 *   cost of opening a view no longer grows with the number of names in the image.
 * - When the table is missing or does not validate (other layers, other tar sizes, a damaged
 *   header), the layers' tars and indexes (layer-cache.ts) are opened or filled, the stack is
 *   resolved in memory (LowerTree, used for this open) and the table is written atomically for the
 *   next one. Concurrent builders write their own temp files; the same bytes win the rename.
 */
import { wrapError } from '../errors.ts';
import type { StorePort } from '../snapshot/types.ts';
import { openCachedLayer, openLayerTar, writeAtomic, type CacheLayer, type CachedLayer, type LayerTar, type OpenCachedOptions } from './layer-cache.ts';
import { LowerTree, type LowerStack } from './lower.ts';
import { encodeLowerTable, LowerTable, type TableLayer } from './lower-table.ts';

export interface CachedLower {
  lower: LowerStack;
  /** Per layer, what this open had to do to its tar and index ('hit' also when the table made them unneeded). */
  layers: CachedLayer['filled'][];
  /** 'hit': read from the table; 'built': resolved from the layers, and the table written; 'none': no layers. */
  table: 'hit' | 'built' | 'none';
  /** Close the layer readers and the table. */
  close(): Promise<void>;
}

export function cacheLowerPath(cacheDir: string, chainID: string): string {
  return `${cacheDir}/${chainID.slice('sha256:'.length)}.lower`;
}

async function closeAll(readers: { close(): Promise<void> }[]): Promise<void> {
  for (const r of readers) await r.close().catch(() => {});
}

async function* chunksOf(parts: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* parts;
}

/** Open the lower table at `path` over already cached tars, or undefined (tar not cached, table missing or invalid). */
async function openTable(port: StorePort, cacheDir: string, path: string, layers: readonly CacheLayer[], options: OpenCachedOptions): Promise<CachedLower | undefined> {
  const st = await port.fs.lstat(path).catch((e) => {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw wrapError(e, `union cache: ${path}`);
  });
  if (!st) return undefined;
  const tars: LayerTar[] = [];
  try {
    for (const l of layers) {
      const t = await openLayerTar(port, cacheDir, l, { ...options, fill: false });
      if (!t) {
        await closeAll(tars.map((x) => x.reader));
        return undefined;
      }
      tars.push(t);
    }
    const reader = await port.fs.open(path);
    const expected: TableLayer[] = layers.map((l, i) => ({ diffID: l.diffID, tarSize: tars[i]!.tarSize }));
    const table = await LowerTable.open(reader, st.size, tars.map((t, i) => ({ reader: t.reader, name: layers[i]!.digest })), expected, path);
    if (!table) {
      await reader.close().catch(() => {});
      await closeAll(tars.map((x) => x.reader));
      return undefined;
    }
    return {
      lower: table, layers: layers.map(() => 'hit'), table: 'hit',
      close: () => closeAll([table, ...tars.map((x) => x.reader)]),
    };
  } catch (e) {
    await closeAll(tars.map((x) => x.reader));
    throw e;
  }
}

/**
 * The lower stack of `layers` (bottom first; `chainID`: the top layer's chain ID, null when there
 * are none), through the cache in `cacheDir` (filled as needed). Close it after use.
 */
export async function openCachedLower(port: StorePort, cacheDir: string, layers: readonly CacheLayer[], chainID: string | null, options: OpenCachedOptions): Promise<CachedLower> {
  if (layers.length === 0 || chainID === null) {
    return { lower: new LowerTree([]), layers: [], table: 'none', close: async () => {} };
  }
  const path = cacheLowerPath(cacheDir, chainID);
  const hit = await openTable(port, cacheDir, path, layers, options);
  if (hit) return hit;
  const opened: CachedLayer[] = [];
  try {
    for (const l of layers) opened.push(await openCachedLayer(port, cacheDir, l, options));
    const tree = new LowerTree(opened.map((o, i) => ({ reader: o.reader, index: o.index, name: layers[i]!.digest })));
    const expected: TableLayer[] = layers.map((l, i) => ({ diffID: l.diffID, tarSize: opened[i]!.index.tarSize }));
    try {
      await writeAtomic(port, cacheDir, path, chunksOf(encodeLowerTable(tree.nodes(), expected)));
    } catch (e) {
      throw wrapError(e, `union cache: write ${path}`);
    }
    return { lower: tree, layers: opened.map((o) => o.filled), table: 'built', close: () => closeAll(opened.map((o) => o.reader)) };
  } catch (e) {
    await closeAll(opened.map((o) => o.reader));
    throw e;
  }
}
