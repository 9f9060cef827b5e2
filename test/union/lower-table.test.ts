/**
 * The lower table (src/union/lower-table.ts) against the in-memory LowerTree it is written from:
 * every name and every directory listing the same, on random stacks and page sizes; and what
 * open() and a page read do with files that are not a valid table of the expected layers.
 */
import { describe, expect, it } from 'vitest';
import '../../src/platform/node.ts';
import { LowerTree, type IndexedLayer } from '../../src/union/lower.ts';
import { encodeLowerTable, LowerTable, type TableLayer } from '../../src/union/lower-table.ts';
import { bytesReader, indexTar } from '../../src/union/tar-index.ts';
import { D, F } from '../apply/helpers.ts';
import { prng } from '../apply/prng.ts';
import { tarOf } from './helpers.ts';
import { randomLayer } from './random-layer.ts';

async function treeOf(tars: Uint8Array[]): Promise<{ tree: LowerTree; layers: TableLayer[] }> {
  const indexed: IndexedLayer[] = [];
  for (const t of tars) {
    const reader = bytesReader(t);
    indexed.push({ reader, index: await indexTar(reader) });
  }
  return { tree: new LowerTree(indexed), layers: indexed.map((l, i) => ({ diffID: `sha256:${String(i).padStart(64, '0')}`, tarSize: l.index.tarSize })) };
}

async function tableOf(tree: LowerTree, layers: TableLayer[], pageBytes?: number): Promise<{ table: LowerTable; bytes: Uint8Array }> {
  const bytes = new Uint8Array(Buffer.concat([...encodeLowerTable(tree.nodes(), layers, { pageBytes })]));
  const table = await LowerTable.open(bytesReader(bytes), bytes.length, tree.layers, layers);
  expect(table).toBeDefined();
  return { table: table!, bytes };
}

describe('lower table', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])('gives the tree\'s answers for every name and directory (seed %i)', async (seed) => {
    const g = prng(seed);
    const tars: Uint8Array[] = [];
    for (let i = 0, n = 1 + g.int(5); i < n; i++) tars.push(await tarOf(randomLayer(g)));
    const { tree, layers } = await treeOf(tars);
    for (const pageBytes of [1, 120, 4096]) {
      const { table } = await tableOf(tree, layers, pageBytes);
      expect(table.size).toBe(tree.size);
      for (const n of tree.nodes()) {
        expect(await table.get(n.path), n.path).toEqual(n);
        expect((await table.children(n.path)).sort(), n.path).toEqual((await tree.children(n.path)).sort());
        // Names that are not there: a sibling and a child of a file.
        expect(await table.get(`${n.path}x`)).toEqual(await tree.get(`${n.path}x`));
        expect(await table.children(`${n.path}/nope`)).toEqual([]);
      }
    }
  });

  it('reads a file body from the layer tar the table points into', async () => {
    const { tree, layers } = await treeOf([await tarOf([D('d'), F('d/f', 'first')]), await tarOf([F('d/f', 'second version')])]);
    const { table } = await tableOf(tree, layers, 1);
    const node = (await table.get('d/f'))!;
    const buf = new Uint8Array(32);
    const n = await table.read(node, buf, 0, buf.length, 0);
    expect(new TextDecoder().decode(buf.subarray(0, n))).toBe('second version');
    expect(await table.children('')).toEqual(['d']);
    expect(await table.children('d')).toEqual(['f']);
  });

  it('holds the names of a big directory across many pages, in a bounded page cache', async () => {
    const items = [D('big'), ...Array.from({ length: 3000 }, (_, i) => F(`big/f${i}`, `${i}`)), F('z', 'z')];
    const { tree, layers } = await treeOf([await tarOf(items)]);
    const { table, bytes } = await tableOf(tree, layers, 512);
    expect(bytes.length).toBeGreaterThan(100 * 512);
    expect((await table.children('big')).length).toBe(3000);
    expect((await table.get('big'))!.childCount).toBe(3000);
    expect((await table.get('big/f2999'))!.size).toBe(4);
    expect((await table.children('')).sort()).toEqual(['big', 'z']);
  });

  it('is not opened for other layers, or when its trailer or header is damaged', async () => {
    const { tree, layers } = await treeOf([await tarOf([F('a', 'a')])]);
    const { bytes } = await tableOf(tree, layers);
    const open = (b: Uint8Array, expected = layers) => LowerTable.open(bytesReader(b), b.length, tree.layers, expected);
    expect(await open(bytes, [{ ...layers[0]!, diffID: `sha256:${'f'.repeat(64)}` }])).toBeUndefined();
    expect(await open(bytes, [{ ...layers[0]!, tarSize: layers[0]!.tarSize + 512 }])).toBeUndefined();
    expect(await open(bytes, [])).toBeUndefined();
    expect(await open(bytes.subarray(0, bytes.length - 1))).toBeUndefined();
    expect(await open(new Uint8Array(0))).toBeUndefined();
    const badMagic = bytes.slice();
    badMagic[badMagic.length - 1] ^= 1;
    expect(await open(badMagic)).toBeUndefined();
    const badHeader = bytes.slice();
    badHeader[badHeader.length - 10] ^= 0x20; // inside the JSON header
    expect(await open(badHeader)).toBeUndefined();
    expect(await open(bytes)).toBeDefined();
  });

  it('refuses a page whose bytes were changed with ERR_STORE_CORRUPT', async () => {
    const { tree, layers } = await treeOf([await tarOf([D('d'), F('d/f', 'x')])]);
    const { bytes } = await tableOf(tree, layers);
    const bad = bytes.slice();
    bad[10] ^= 1; // inside the first page (the root's record)
    const table = (await LowerTable.open(bytesReader(bad), bad.length, tree.layers, layers))!;
    expect(table).toBeDefined(); // the header is intact: pages are checked when read
    await expect(table.get('d')).rejects.toMatchObject({ code: 'ERR_STORE_CORRUPT' });
    await expect(table.verify()).rejects.toMatchObject({ code: 'ERR_STORE_CORRUPT' });
    const good = (await LowerTable.open(bytesReader(bytes), bytes.length, tree.layers, layers))!;
    await expect(good.verify()).resolves.toBeUndefined();
  });
});
