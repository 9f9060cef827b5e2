/** The external sort (src/oci/external-sort.ts) and scratch files (src/oci/scratch.ts). */
import { describe, expect, test } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExternalSorter, type Codec } from '../../src/oci/external-sort.ts';
import { memoryScratch, storeScratch, type Scratch } from '../../src/oci/scratch.ts';
import { nodeStoreFs } from '../../src/fs/node-store.ts';
import { prng } from '../apply/prng.ts';

interface Item { key: string; n: number; blob: Uint8Array }

const codec: Codec<Item> = {
  encode(x, w) {
    w.str(x.key);
    w.f64(x.n);
    w.bytes(x.blob);
  },
  decode: (r) => ({ key: r.str(), n: r.f64(), blob: r.bytes() }),
  size: (x) => 40 + x.key.length * 2 + x.blob.length,
};
const compare = (a: Item, b: Item) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.n - b.n);

function items(seed: number, count: number): Item[] {
  const g = prng(seed);
  return Array.from({ length: count }, (_, n) => ({
    key: Array.from({ length: g.int(12) }, () => g.pick(['a', 'b', '\0', 'é', '😀', 'z'])).join(''),
    n,
    blob: Uint8Array.from({ length: g.int(g.chance(0.01) ? 70000 : 20) }, () => g.int(256)),
  }));
}

async function sortAll(xs: Item[], scratch: Scratch, runItems: number, runBytes?: number): Promise<{ out: Item[]; runs: number }> {
  const s = new ExternalSorter<Item>({ compare, codec, scratch, runItems, runBytes });
  try {
    for (const x of xs) await s.add(x);
    const out: Item[] = [];
    for await (const x of s.sorted()) out.push(x);
    return { out, runs: s.runs };
  } finally {
    await s.dispose();
  }
}

describe('external sort', () => {
  test('one run: sorted in memory, nothing written', async () => {
    const xs = items(1, 500);
    let created = 0;
    const scratch: Scratch = { create: () => (created++, memoryScratch().create()) };
    const { out, runs } = await sortAll(xs, scratch, 1000);
    expect(out).toEqual([...xs].sort(compare));
    expect([runs, created]).toEqual([0, 0]);
  });

  test('many runs (more than the fan-in, so runs are merged into longer ones first), items spanning read chunks', async () => {
    const xs = items(2, 3000);
    const { out, runs } = await sortAll(xs, memoryScratch(), 17);
    expect(runs).toBeGreaterThan(0);
    expect(out.length).toBe(xs.length);
    expect(out).toEqual([...xs].sort(compare));
  });

  test('runBytes starts a run before runItems', async () => {
    const xs = items(3, 300);
    const s = new ExternalSorter<Item>({ compare, codec, scratch: memoryScratch(), runItems: 1e6, runBytes: 2000 });
    for (const x of xs) await s.add(x);
    expect(s.runs).toBeGreaterThan(3);
    const out: Item[] = [];
    for await (const x of s.sorted()) out.push(x);
    expect(out).toEqual([...xs].sort(compare));
    await s.dispose();
  });

  test('files through the store port: same order, every scratch file removed after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lk-xsort-'));
    try {
      const xs = items(4, 2000);
      const { out } = await sortAll(xs, storeScratch(nodeStoreFs, `${dir}/scratch`), 100);
      expect(out).toEqual([...xs].sort(compare));
      expect(await readdir(`${dir}/scratch`)).toEqual([]);
      // Dropped part-way (a consumer that stops early): removed too.
      const s = new ExternalSorter<Item>({ compare, codec, scratch: storeScratch(nodeStoreFs, `${dir}/scratch`), runItems: 100 });
      for (const x of xs) await s.add(x);
      expect((await readdir(`${dir}/scratch`)).length).toBe(20);
      for await (const x of s.sorted()) if (x) break;
      await s.dispose();
      expect(await readdir(`${dir}/scratch`)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
