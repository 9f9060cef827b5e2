import { describe, it, expect } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import '../../src/platform/node.ts';
import { chainIDs } from '../../src/oci/chain-id.ts';
import { wasmSha256Engine } from '../../src/hash/engines.ts';

// The spec formula, written out independently with node:crypto.
function specChain(diffIDs: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIDs) {
    out.push(out.length === 0 ? d : 'sha256:' + createHash('sha256').update(`${out[out.length - 1]} ${d}`).digest('hex'));
  }
  return out;
}

const randomDiffID = () => 'sha256:' + randomBytes(32).toString('hex');

describe('chainIDs (image-spec config.md)', () => {
  it('the first ChainID is the first DiffID; no layers, no ChainIDs', () => {
    const d = randomDiffID();
    expect(chainIDs([d])).toEqual([d]);
    expect(chainIDs([])).toEqual([]);
  });

  it('matches the formula for stacks of 1..40 random layers, with both SHA-256 engines', () => {
    for (let n = 1; n <= 40; n++) {
      const ids = Array.from({ length: n }, randomDiffID);
      const want = specChain(ids);
      expect(chainIDs(ids)).toEqual(want);
      expect(chainIDs(ids, () => wasmSha256Engine.create())).toEqual(want);
    }
  });

  it('a literal two-layer vector (hash input spelled out)', () => {
    const a = 'sha256:' + 'a'.repeat(64);
    const b = 'sha256:' + 'b'.repeat(64);
    const input = `sha256:${'a'.repeat(64)} sha256:${'b'.repeat(64)}`;
    expect(input.length).toBe(71 * 2 + 1);
    expect(chainIDs([a, b])[1]).toBe('sha256:' + createHash('sha256').update(input, 'latin1').digest('hex'));
    // order matters
    expect(chainIDs([b, a])[1]).not.toBe(chainIDs([a, b])[1]);
  });

  it('refuses malformed diffIDs', () => {
    expect(() => chainIDs(['sha256:xyz'])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_DIGEST' }));
    expect(() => chainIDs([randomDiffID(), 'md5:' + 'a'.repeat(32)])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_DIGEST' }));
  });
});
