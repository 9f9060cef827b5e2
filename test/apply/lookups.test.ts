/**
 * What apply looks at: creating a name never needs an lstat (EEXIST says when one is there), a
 * directory the layer made resolves without one, a listed directory's earlier mtime is not looked
 * up, and settling listed directories looks again only if a directory or a symlink was removed
 * during the layer. Counted on a MemoryFs: a fresh unpack of N directories
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

  it('after a directory is removed in the layer, pending directories are looked at again when settled (one may be gone)', async () => {
    // a chain of 20 listed directories, still pending when a directory inside it is removed
    const chain = Array.from({ length: 20 }, (_, i) => Array.from({ length: i + 1 }, (_, k) => `c${k}`).join('/'));
    const deepest = chain[19]!;
    const { fs, lstats } = counting();
    await fs.mkdir('/t');
    await applyLayers([{ blob: [await layer(...chain.map((d, i) => D(d, { mtime: 1000 + i })), D(`${deepest}/x`), F(`${deepest}/x/f`, 'x'), W(`${deepest}/.wh.x`))] }], '/t', { fs });
    expect(lstats()).toBeGreaterThanOrEqual(20);
    expect((await fs.readdir(`/t/${deepest}`)).includes('x')).toBe(false);
    for (const [i, d] of chain.entries()) expect((await fs.lstat(`/t/${d}`)).mtimeNs).toBe(BigInt(1000 + i) * 1_000_000_000n);
  });
});

describe('apply: descriptors', () => {
  it('a layer that replaces 400 files of a lower one leaves no descriptor open (it used to leak one per replaced file: EMFILE past ulimit -n)', async () => {
    const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { nodeFs } = await import('../../src/fs/node.ts');
    const dir = mkdtempSync(join(tmpdir(), 'layerkit-fds-'));
    try {
      const names = Array.from({ length: 400 }, (_, i) => `f${i}`);
      const l1 = await layer(...names.map((n) => F(n, 'old')));
      const l2 = await layer(...names.map((n) => F(n, 'new!')));
      const fds = () => readdirSync('/proc/self/fd').length;
      const before = fds();
      await applyLayers([{ blob: [l1] }, { blob: [l2] }], dir, { fs: nodeFs });
      expect(fds()).toBe(before);
      const { readFileSync } = await import('node:fs');
      expect(readFileSync(join(dir, 'f399'), 'utf8')).toBe('new!');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('apply: opaque markers and the names of the same layer', () => {
  async function listing(layers: Uint8Array[]): Promise<string[]> {
    const fs = new MemoryFs();
    await fs.mkdir('/t');
    await applyLayers(layers.map((l) => ({ blob: [l] })), '/t', { fs });
    const out: string[] = [];
    const walk = async (d: string, rel: string): Promise<void> => {
      for (const n of (await fs.readdir(d)).sort()) {
        const r = rel ? `${rel}/${n}` : n;
        out.push(r);
        if ((await fs.lstat(`${d}/${n}`)).type === 'dir') await walk(`${d}/${n}`, r);
      }
    };
    await walk('/t', '');
    return out;
  }

  it('a marker after the children, on a directory this layer made: all of them stay', async () => {
    expect(await listing([await layer(D('x'), F('x/a', 'a'), D('x/sub'), F('x/sub/b', 'b'), W('x/.wh..wh..opq'))]))
      .toEqual(['x', 'x/a', 'x/sub', 'x/sub/b']);
  });

  it("on a lower directory the layer lists again: lower names go; the layer's files, directories and their contents stay", async () => {
    const l1 = await layer(D('p'), F('p/lower', 'l'), D('p/old'), F('p/old/x', 'x'));
    const l2 = await layer(D('p'), D('p/new'), F('p/new/f', 'f'), F('p/top', 't'), W('p/.wh..wh..opq'));
    expect(await listing([l1, l2])).toEqual(['p', 'p/new', 'p/new/f', 'p/top']);
  });

  it('a parent the layer did not list but needed (made on the way) stays with what is in it (same-layer names are never hidden)', async () => {
    const l1 = await layer(D('r'), F('r/lower', 'l'));
    const l2 = await layer(F('r/auto/deep/f', 'f'), W('r/.wh..wh..opq'));
    expect(await listing([l1, l2])).toEqual(['r', 'r/auto', 'r/auto/deep', 'r/auto/deep/f']);
  });
});
