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
import { bytesReader } from '../../src/union/tar-index.ts';
import { commitView } from '../../src/union/commit.ts';
import type { TarItem } from '../../src/tar/writer.ts';
import { D, F, S, W } from '../apply/helpers.ts';
import { prng } from '../apply/prng.ts';
import { listing } from '../fs/fs-suite.ts';
import { nodeUpper, tarOf } from './helpers.ts';

const NAMES = ['a', 'b', 'c'];
/** A whole-second clock, the same on both sides (commit keeps whole seconds). */
const NOW = 2_000_000_000n * 1_000_000_000n;
const clock = () => NOW;

type G = ReturnType<typeof prng>;

const randomPath = (g: G, max = 3) => Array.from({ length: 1 + g.int(max) }, () => g.pick(NAMES)).join('/');

/** A random well-formed layer: parents before children, a name never both written and whited out. */
function randomLayer(g: G): TarItem[] {
  const items = new Map<string, TarItem>();
  const whiteouts = new Map<string, TarItem>();
  const t = { mtime: 1_500_000_000 + g.int(1000) };
  const parents = (p: string) => {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!items.has(d)) items.set(d, D(d, { ...t, mode: g.pick([0o755, 0o700]), uid: g.int(2) }));
    }
  };
  const n = 1 + g.int(7);
  for (let k = 0; k < n; k++) {
    const p = randomPath(g);
    const parts = p.split('/');
    // Names already used as a parent stay directories in this layer.
    if ([...items.keys()].some((q) => q.startsWith(`${p}/`)) || [...whiteouts.keys()].some((q) => q === p || q.startsWith(`${p}/`) || p.startsWith(`${q}/`))) continue;
    if (parts.slice(0, -1).some((_, i) => { const d = parts.slice(0, i + 1).join('/'); const it = items.get(d); return (it && it.header.type !== 'dir') || whiteouts.has(d); })) continue;
    const r = g.int(10);
    if (r < 2) {
      if (items.has(p)) continue;
      parents(p);
      whiteouts.set(p, W(`${parts.slice(0, -1).concat(`.wh.${parts.at(-1)}`).join('/')}`));
    } else if (r < 3) {
      parents(`${p}/x`);
      items.set(p, D(p, { ...t, mode: 0o755 }));
      items.set(`${p}/.wh..wh..opq`, W(`${p}/.wh..wh..opq`));
    } else if (r < 5) {
      parents(p);
      items.set(p, D(p, { ...t, mode: g.pick([0o755, 0o750]), uid: g.int(2) }));
    } else if (r < 6) {
      parents(p);
      items.set(p, S(p, g.pick(['a', 'b/c', '../a', 'missing']), t));
    } else {
      parents(p);
      items.set(p, F(p, `c${g.int(100)}`, { ...t, mode: g.pick([0o644, 0o600]), uid: g.int(2) }));
    }
  }
  // Tar order: by name, so a directory comes before everything below it (its opaque marker first).
  const key = (it: TarItem) => it.header.name.replace(/\/$/, '');
  return [...items.values(), ...whiteouts.values()].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
}

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
  test.each([...SEEDS.map((s) => [s, 'memory'] as const), ...SEEDS.slice(0, 8).map((s) => [s, 'node'] as const)])('seed %i, %s upper', async (seed, kind) => {
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
      const view = await openUnion({ layers: layers.map((b) => ({ blob: bytesReader(b) })), upper: upper.fs, upperRoot: upper.root });
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
