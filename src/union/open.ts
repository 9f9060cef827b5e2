/**
 * Open a union view over layer blobs: each blob's tar is indexed (compressed blobs decompressed
 * once into the cache first: random access needs it), the stack resolved, the upper's markers read.
 */
import type { MutableFsLike } from '../fs/types.ts';
import type { TarLimits } from '../tar/limits.ts';
import type { DecompressFn } from '../oci/decompress.ts';
import { indexTar, uncompressedReader, type RangedReader, type TarCache } from './tar-index.ts';
import { LowerTree, type IndexedLayer, type LowerStack } from './lower.ts';
import { encodeLowerTable, LowerTable } from './lower-table.ts';
import { UnionView } from './view.ts';
import { wrapError } from '../errors.ts';

export interface UnionLayerSource {
  /** Positional reader over the blob (compressed or not). */
  blob: RangedReader;
  name?: string;
  /** Where a compressed blob's tar is kept (default: memory); called for compressed blobs only. */
  cache?: TarCache;
}

export interface OpenUnionOptions {
  /** Bottom first. */
  layers: readonly UnionLayerSource[];
  upper: MutableFsLike;
  upperRoot: string;
  limits?: Partial<TarLimits>;
  decompress?: DecompressFn;
  /**
   * Keep the resolved lower stack as a table (lower-table.ts) in this cache and look names up
   * there on demand, instead of holding every name in memory for the view's life.
   */
  lowerCache?: TarCache;
  /** Page size of that table (tests). */
  lowerPageBytes?: number;
}

export async function openUnion(o: OpenUnionOptions): Promise<UnionView> {
  const lowers: IndexedLayer[] = [];
  for (let i = 0; i < o.layers.length; i++) {
    const l = o.layers[i]!;
    const name = l.name ?? `#${i + 1}`;
    try {
      const { reader } = await uncompressedReader(l.blob, { cache: l.cache, decompress: o.decompress });
      lowers.push({ reader, index: await indexTar(reader, { limits: o.limits }), name });
    } catch (e) {
      throw wrapError(e, `union: index layer ${name}`);
    }
  }
  let lower: LowerStack = new LowerTree(lowers);
  if (o.lowerCache) {
    const tree = lower as LowerTree;
    const layers = lowers.map((l, i) => ({ diffID: `layer ${i}`, tarSize: l.index.tarSize }));
    let size = 0;
    const chunks = async function* (): AsyncGenerator<Uint8Array> {
      for (const c of encodeLowerTable(tree.nodes(), layers, { pageBytes: o.lowerPageBytes })) {
        size += c.length;
        yield c;
      }
    };
    const reader = await o.lowerCache.store(chunks());
    const table = await LowerTable.open(reader, size, lowers.map(({ reader, name }) => ({ reader, name })), layers);
    if (!table) throw new Error('union: the lower table just written does not open');
    lower = table;
  }
  return UnionView.open({ lower, upper: o.upper, upperRoot: o.upperRoot });
}
