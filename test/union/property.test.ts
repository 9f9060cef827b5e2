/**
 * Property test on seeded random stacks and random operations: the union view over the layer
 * tars, and a MemoryFs holding the same stack extracted by applyLayers, are given the same
 * operations. Every operation must end the same way on both (same error code or success), the
 * trees must be equal after every step, and the view's committed layer applied on top of the
 * stack must reproduce the view's tree.
 */
import { describe, expect, test } from 'vitest';
import '../../src/platform/node.ts';
import { MemoryFs } from '../../src/fs/memory.ts';
import type { MutableFsLike } from '../../src/fs/types.ts';
import { applyLayers } from '../../src/oci/apply.ts';
import { openUnion } from '../../src/union/open.ts';
import { bytesReader, memoryTarCache } from '../../src/union/tar-index.ts';
import { commitView } from '../../src/union/commit.ts';
import { prng } from '../apply/prng.ts';
import { randomLayer, randomPath, type G } from './random-layer.ts';
import { listing } from '../fs/fs-suite.ts';
import { nodeUpper, tarOf, TEST_PAGE_BYTES } from './helpers.ts';

/** A whole-second clock, the same on both sides (commit keeps whole seconds). */
const NOW = 2_000_000_000n * 1_000_000_000n;
const clock = () => NOW;

type Op = { name: string; run: (fs: MutableFsLike) => Promise<unknown> };

function randomOp(g: G): Op {
  const p = `/${randomPath(g)}`;
  const q = `/${randomPath(g)}`;
  const enc = new TextEncoder();
  switch (g.int(11)) {
    case 0: case 1: {
      const c = `w${g.int(100)}`;
      return { name: `writeFile ${p} ${c}`, run: (fs) => fs.writeFile(p, enc.encode(c)) };
    }
    case 2: return { name: `unlink ${p}`, run: (fs) => fs.unlink(p) };
    case 3: return { name: `rm ${p}`, run: (fs) => fs.rm(p, { recursive: true }) };
    case 4: return { name: `mkdir ${p}`, run: (fs) => fs.mkdir(p, { mode: 0o755 }) };
    case 5: case 6: return { name: `rename ${p} ${q}`, run: (fs) => fs.rename(p, q) };
    case 7: {
      const t = g.pick(['a', 'c/b', 'missing']);
      return { name: `symlink ${t} ${p}`, run: (fs) => fs.symlink(t, p) };
    }
    case 8: {
      const m = g.pick([0o700, 0o644, 0o751]);
      return { name: `chmod ${p} ${m.toString(8)}`, run: (fs) => fs.chmod(p, m) };
    }
    case 9: {
      const u = g.int(3);
      return { name: `lchown ${p} ${u}`, run: (fs) => fs.lchown(p, u, u) };
    }
    default: return { name: `link ${p} ${q}`, run: (fs) => fs.link(p, q) };
  }
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
}

async function commitBytes(fs: Parameters<typeof commitView>[0]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await commitView(fs, (c) => void parts.push(c.slice()));
  const out = new Uint8Array(parts.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of parts) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

describe('union view == extracted copy under random operations; commit + apply == view', () => {
  const SEEDS = Array.from({ length: Number(process.env.UNION_SEEDS ?? 60) }, (_, i) => i + 1);
  // 'table': a memory upper over the lower stack read from a lower table with tiny pages.
  const kinds = [...SEEDS.map((s) => [s, 'memory'] as const), ...SEEDS.slice(0, 8).map((s) => [s, 'node'] as const), ...SEEDS.slice(0, 30).map((s) => [s, 'table'] as const)];
  test.each(kinds)('seed %i, %s upper', async (seed, kind) => {
    const g = prng(seed);
    const upper = kind === 'node' ? nodeUpper() : { fs: new MemoryFs({ now: clock }), root: '/', dispose() {} };
    // A node upper has the real clock: times are compared only where the memory clock makes them equal.
    const times = kind === 'node' ? { mtimes: false as const } : {};
    try {
      const layers: Uint8Array[] = [];
      const nLayers = 1 + g.int(4);
      for (let i = 0; i < nLayers; i++) layers.push(await tarOf(randomLayer(g)));

      const ref = new MemoryFs({ now: clock });
      await applyLayers(layers.map((b) => ({ blob: [b] })), '/', { fs: ref });
      const view = await openUnion({
        layers: layers.map((b) => ({ blob: bytesReader(b) })), upper: upper.fs, upperRoot: upper.root,
        ...(kind === 'table' ? { lowerCache: memoryTarCache, lowerPageBytes: TEST_PAGE_BYTES } : {}),
      });
      const log: string[] = [];
      expect(await listing(view, '', times)).toEqual(await listing(ref, '', times));

      const nOps = 1 + g.int(Number(process.env.UNION_OPS ?? 12));
      for (let k = 0; k < nOps; k++) {
        const op = randomOp(g);
        const [a, b] = [await outcome(op.run(ref)), await outcome(op.run(view))];
        log.push(`${op.name}: ${a}`);
        expect(b, `${log.join('\n')}\n(view answered ${b})`).toBe(a);
        expect(await listing(view, '', times), log.join('\n')).toEqual(await listing(ref, '', times));
      }

      const layer = await commitBytes(view);
      const again = new MemoryFs({ now: clock });
      await applyLayers([...layers, layer].map((b) => ({ blob: [b] })), '/', { fs: again });
      expect(await listing(again, '', { mtimes: 'seconds' }), log.join('\n')).toEqual(await listing(view, '', { mtimes: 'seconds' }));
    } finally {
      upper.dispose();
    }
  });
});
