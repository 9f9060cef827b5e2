/** Seeded random well-formed layers over a few names (whiteouts, opaque directories, symlinks), for the union property tests. */
import type { TarItem } from '../../src/tar/writer.ts';
import { D, F, S, W } from '../apply/helpers.ts';
import type { prng } from '../apply/prng.ts';

const NAMES = ['a', 'b', 'c'];
export type G = ReturnType<typeof prng>;

export const randomPath = (g: G, max = 3) => Array.from({ length: 1 + g.int(max) }, () => g.pick(NAMES)).join('/');

/** A random well-formed layer: parents before children, a name never both written and whited out. */
export function randomLayer(g: G): TarItem[] {
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
