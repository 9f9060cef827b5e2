/**
 * What apply looks at: creating a name never needs an lstat (EEXIST says when one is there), a
 * directory the layer made resolves without one, a listed directory's earlier mtime is not looked
 * up, and the end-of-layer pass over listed directories looks again only if a directory or a
 * symlink was removed during the layer. Counted on a MemoryFs: a fresh unpack of N directories
 * and N files costs a constant number of lstat calls, and a removal brings the checks back.
 */
import { describe, expect, it } from 'vitest';
import '../../src/platform/node.ts';
import { MemoryFs } from '../../src/fs/memory.ts';
import { applyLayers } from '../../src/oci/apply.ts';
import { D, F, W, layer } from './helpers.ts';

function counting(): { fs: MemoryFs; lstats: () => number } {
  const fs = new MemoryFs();
  let n = 0;
  const lstat = fs.lstat.bind(fs);
  fs.lstat = async (p: string) => {
    n++;
    return lstat(p);
  };
  return { fs, lstats: () => n };
}

const tree = (n: number) => Array.from({ length: n }, (_, i) => [D(`d${i}`, { mtime: 1000 + i }), D(`d${i}/e`), F(`d${i}/e/f`, 'x')]).flat();

describe('apply: lookups', () => {
  it('a fresh unpack of 300 directories and 150 files: a constant number of lstat calls, not one per entry', async () => {
    for (const n of [10, 150]) {
      const { fs, lstats } = counting();
      await fs.mkdir('/t');
      await applyLayers([{ blob: [await layer(...tree(n))] }], '/t', { fs });
      expect(lstats()).toBeLessThan(8);
      // and the directories' times were still set after the layer
      expect((await fs.lstat(`/t/d${n - 1}`)).mtimeNs).toBe(BigInt(1000 + n - 1) * 1_000_000_000n);
    }
  });

  it('after a directory is removed in the layer, listed directories are looked at again (one may be gone)', async () => {
    const { fs, lstats } = counting();
    await fs.mkdir('/t');
    await applyLayers([{ blob: [await layer(...tree(20), W('.wh.d3'))] }], '/t', { fs });
    expect(lstats()).toBeGreaterThanOrEqual(40);
    expect((await fs.readdir('/t')).includes('d3')).toBe(false);
    expect((await fs.lstat('/t/d4')).mtimeNs).toBe(1004_000_000_000n);
  });
});
