/**
 * Open a union view over layer blobs: each blob's tar is indexed (compressed blobs decompressed
 * once into the cache first: random access needs it), the stack resolved, the upper's markers read.
 */
import type { MutableFsLike } from '../fs/types.ts';
import type { TarLimits } from '../tar/limits.ts';
import type { DecompressFn } from '../oci/decompress.ts';
import { indexTar, uncompressedReader, type RangedReader, type TarCache } from './tar-index.ts';
import { LowerTree, type LowerLayer } from './lower.ts';
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
}

export async function openUnion(o: OpenUnionOptions): Promise<UnionView> {
  const lowers: LowerLayer[] = [];
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
  return UnionView.open({ lower: new LowerTree(lowers), upper: o.upper, upperRoot: o.upperRoot });
}
