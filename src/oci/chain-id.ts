/**
 * ChainIDs (image-spec config.md, "Layer ChainID"): the identity of a stack of layers.
 *   ChainID(L0) = DiffID(L0)
 *   ChainID(L0|...|Ln) = sha256(ChainID(L0|...|Ln-1) + " " + DiffID(Ln))
 */
import type { Sha256Like } from '../hash/engines.ts';
import { newSha256, parseDigest, sha256Digest } from './digest.ts';

/** The ChainID of every prefix of `diffIDs`: result[i] identifies layers 0..i applied in order. */
export function chainIDs(diffIDs: readonly string[], create: () => Sha256Like = newSha256): string[] {
  const out: string[] = [];
  let chain: string | undefined;
  for (const [i, d] of diffIDs.entries()) {
    parseDigest(d, `diffID ${i}`);
    chain = chain === undefined ? d : sha256Digest(new TextEncoder().encode(`${chain} ${d}`), create);
    out.push(chain);
  }
  return out;
}
