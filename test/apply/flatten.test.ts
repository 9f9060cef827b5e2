/**
 * Property test on seeded random stacks of well-formed layers (G1, G4: parents written before
 * children): applying the stack gives the tree a plain model of A4-A8 predicts, and
 * flatten(stack) applied gives the same tree as the stack applied (content, type, mode, owner,
 * mtime, link targets, hardlink counts). Both onto an empty target and onto a non-empty base.
 */
import { describe, expect, test } from 'vitest';
import '../../src/platform/node.ts';
import { applyLayers } from '../../src/oci/apply.ts';
import { flattenLayers } from '../../src/oci/flatten.ts';
import { SortedStackRef } from '../../src/ref/stack-sorted.ts';
import { MemoryFs } from '../../src/fs/memory.ts';
import type { TarItem } from '../../src/tar/writer.ts';
import { comparePaths } from '../../src/tree/entry.ts';
import { readTar } from '../../src/tar/reader.ts';
import { collect } from '../fixtures/tools.ts';
import { D, F, L, S, W, layer } from './helpers.ts';
import { prng } from './prng.ts';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeScratch, type Scratch } from '../../src/oci/scratch.ts';
import { nodeStoreFs } from '../../src/fs/node-store.ts';

interface Node { type: 'file' | 'dir' | 'symlink'; mode: number; uid: number; mtime: number; content: string; inode: number }

const NAMES = ['a', 'b', 'c', 'a.x'];

/** The model: a Map of path -> node, applying a layer's items in order. */
function modelApply(tree: Map<string, Node>, items: TarItem[], nextInode: { n: number }): void {
  const written = new Set<string>();
  const dec = new TextDecoder();
  const removeTree = (p: string) => {
    for (const k of [...tree.keys()]) if (k === p || k.startsWith(`${p}/`)) tree.delete(k);
  };
  for (const { header: h, body } of items) {
    const path = h.name.replace(/\/$/, '');
    const base = path.split('/').pop()!;
    const dir = path.split('/').slice(0, -1).join('/');
    if (base === '.wh..wh..opq') {
      const keep = (k: string): boolean => {
        const rel = dir === '' ? k : k.slice(dir.length + 1);
        const parts = rel.split('/');
        for (let i = 1; i <= parts.length; i++) if (!written.has((dir === '' ? '' : `${dir}/`) + parts.slice(0, i).join('/'))) return false;
        return true;
      };
      for (const k of [...tree.keys()]) if ((dir === '' || k.startsWith(`${dir}/`)) && !keep(k)) tree.delete(k);
      continue;
    }
    if (base.startsWith('.wh.')) {
      removeTree((dir ? `${dir}/` : '') + base.slice(4));
      continue;
    }
    const old = tree.get(path);
    if (h.type === 'dir' && old?.type === 'dir') {
      Object.assign(old, { mode: h.mode, uid: h.uid, mtime: h.mtime });
    } else {
      removeTree(path);
      if (h.type === 'link') {
        tree.set(path, tree.get(h.linkname!)!);
      } else {
        const content = h.type === 'file' ? dec.decode((body as Uint8Array[])[0]) : h.type === 'symlink' ? h.linkname! : '';
        tree.set(path, { type: h.type as Node['type'], mode: h.mode, uid: h.uid, mtime: h.mtime, content, inode: nextInode.n++ });
      }
    }
    written.add(path);
  }
}

/** A random well-formed layer against the model's current tree. */
function randomLayer(g: ReturnType<typeof prng>, tree: Map<string, Node>): TarItem[] {
  const items = new Map<string, TarItem>();
  const taken = new Set<string>(); // whiteout targets and entry names: never both (G1)
  const t = () => 1_500_000_000 + g.int(1000);
  const parents = (p: string) => {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!items.has(d)) items.set(d, D(d, { mode: g.pick([0o755, 0o700, 0o555]), uid: g.int(3), mtime: t() }));
      taken.add(d);
    }
  };
  const randomPath = () => Array.from({ length: 1 + g.int(3) }, () => g.pick(NAMES)).join('/');
  const existing = [...tree.keys()];
  const ops = 1 + g.int(8);
  let linked = false; // an opaque marker could remove a hardlink's lower target: not both in one layer
  let opaque = false;
  for (let k = 0; k < ops; k++) {
    const op = g.int(10);
    const p = op < 7 || existing.length === 0 ? randomPath() : g.pick(existing);
    if (items.has(p) || taken.has(p) || [...taken].some((x) => x.startsWith(`${p}/`))) continue;
    const anc = p.split('/').slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join('/'));
    if (anc.some((a) => taken.has(a) && items.get(a)?.header.type !== 'dir')) continue;
    if (op < 4) {
      parents(p);
      items.set(p, F(p, `c${g.int(5)}`, { mode: g.pick([0o644, 0o600, 0o4755]), uid: g.int(3), mtime: t() }));
    } else if (op < 5) {
      parents(p);
      items.set(p, D(p, { mode: 0o755, uid: g.int(3), mtime: t() }));
    } else if (op < 6) {
      parents(p);
      items.set(p, S(p, g.pick(['a', '../b', '/c']), { mtime: t() }));
    } else if (op < 7) {
      // hardlink to a file of the lower tree that this layer leaves alone
      if (opaque) continue;
      const files = existing.filter((x) => tree.get(x)!.type === 'file' && !items.has(x) && ![...taken].some((y) => x === y || x.startsWith(`${y}/`)));
      if (files.length === 0) continue;
      const target = g.pick(files);
      if (p === target || p.startsWith(`${target}/`) || target.startsWith(`${p}/`)) continue;
      const parts = target.split('/');
      if (parts.slice(0, -1).some((_, i) => items.has(parts.slice(0, i + 1).join('/')))) continue;
      parents(p);
      items.set(p, L(p, target));
      taken.add(target);
      linked = true;
    } else if (op < 9) {
      const parts = p.split('/');
      const wh = [...parts.slice(0, -1), `.wh.${parts.at(-1)}`].join('/');
      parents(p);
      items.set(wh, W(wh));
    } else {
      if (linked) continue;
      opaque = true;
      const d = tree.get(p)?.type === 'dir' ? p : '';
      if (d) parents(`${d}/x`);
      const marker = d ? `${d}/.wh..wh..opq` : '.wh..wh..opq';
      items.set(marker, W(marker));
    }
    taken.add(p);
  }
  return [...items.entries()].sort((x, y) => comparePaths(x[0], y[0])).map(([, v]) => v);
}

async function listing(fs: MemoryFs, root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    for (const n of (await fs.readdir(d)).sort()) {
      const p = `${d}/${n}`;
      const r = rel ? `${rel}/${n}` : n;
      const st = await fs.lstat(p);
      let c = '';
      if (st.type === 'file') {
        const h = await fs.open(p);
        const b = new Uint8Array(st.size);
        await h.read(b, 0, st.size, 0);
        c = new TextDecoder().decode(b);
      } else if (st.type === 'symlink') c = await fs.readlink(p);
      out.push(`${r} ${st.type} ${st.type === 'symlink' ? '' : st.mode.toString(8)} ${st.uid} ${st.mtimeNs / 1_000_000_000n} n${st.nlink} ${c}`);
      if (st.type === 'dir') await walk(p, r);
    }
  };
  await walk(root, '');
  return out;
}

function modelListing(tree: Map<string, Node>): string[] {
  const nlink = new Map<number, number>();
  for (const n of tree.values()) nlink.set(n.inode, (nlink.get(n.inode) ?? 0) + 1);
  return [...tree.keys()].sort(comparePaths).map((k) => {
    const n = tree.get(k)!;
    return `${k} ${n.type} ${n.type === 'symlink' ? '' : n.mode.toString(8)} ${n.uid} ${n.mtime} n${n.type === 'dir' ? 'D' : nlink.get(n.inode)} ${n.content}`;
  });
}

async function applyTo(blobs: Uint8Array[], base?: Uint8Array): Promise<MemoryFs> {
  const fs = new MemoryFs();
  await fs.mkdir('/t');
  if (base) await applyLayers([{ blob: [base] }], '/t', { fs });
  await applyLayers(blobs.map((b) => ({ blob: [b] })), '/t', { fs });
  return fs;
}

describe('flatten property: random stacks', () => {
  test('stack applied == model; flatten(stack) applied == stack applied (kernel and reference survivors)', async () => {
    let checked = 0;
    let refused = 0;
    const base = await layer(D('a'), F('a/a', 'base'), D('b'), D('b/b'), F('b/b/c', 'base'), F('c', 'base'), S('a.x', 'a'));
    for (let seed = 1; seed <= 150; seed++) {
      const g = prng(seed);
      const tree = new Map<string, Node>();
      const ino = { n: 1 };
      const layersItems: TarItem[][] = [];
      const n = 1 + g.int(6);
      for (let i = 0; i < n; i++) {
        const items = randomLayer(g, tree);
        layersItems.push(items);
        modelApply(tree, items, ino);
      }
      const blobs = await Promise.all(layersItems.map((items) => layer(...items)));
      const stacked = await applyTo(blobs);
      const got = await listing(stacked, '/t');
      expect(got.map((l) => l.replace(/ n\d+ /, (m) => (l.split(' ')[1] === 'dir' ? ' nD ' : m))), `seed ${seed}`).toEqual(modelListing(tree));

      let flat: Uint8Array;
      try {
        const chunks: Uint8Array[] = [];
        const r = await flattenLayers(blobs.map((b) => ({ blob: () => [b] })), (c) => void chunks.push(c.slice()), { stackPass: seed % 2 ? undefined : () => new SortedStackRef(), runRecords: seed % 3 === 0 ? 3 : undefined });
        flat = Buffer.concat(chunks);
        expect(r.written).toBeLessThanOrEqual(r.records);
      } catch (e) {
        if ((e as { code?: string }).code === 'ERR_UNSUPPORTED' && /hardlink/.test((e as Error).message)) {
          refused++;
          continue;
        }
        throw e;
      }
      const names: string[] = [];
      for await (const e of readTar([flat])) names.push(e.name);
      if (process.env.DEBUG_FLATTEN === String(seed)) {
        for (const [i, items] of layersItems.entries()) console.log(i, items.map((x) => `${x.header.type}:${x.header.name}${x.header.linkname ? '->' + x.header.linkname : ''}`).join(' '));
        console.log('flat', names.join(' '));
      }
      expect(new Set(names).size, `seed ${seed}: no name twice`).toBe(names.length);
      const flatFs = await applyTo([flat]).catch((e) => {
        throw new Error(`seed ${seed}: flattened layer: ${(e as Error).message}`);
      });
      expect(await listing(flatFs, '/t'), `seed ${seed}: flattened onto empty`).toEqual(got);
      expect(await listing(await applyTo([flat], base), '/t'), `seed ${seed}: flattened onto a base`).toEqual(await listing(await applyTo(blobs, base), '/t'));
      checked++;
    }
    expect(checked).toBeGreaterThan(120);
    expect(refused).toBeLessThan(30);
  });

  test('flatten streams a compressed output and checks input digests', async () => {
    const l1 = await layer(D('d'), F('d/x', 'one'), F('d/y', 'y'));
    const l2 = await layer(D('d'), W('d/.wh.y'), F('d/x', 'two'));
    const out = await collect((async function* () {
      const chunks: Uint8Array[] = [];
      const r = await flattenLayers([{ blob: () => [l1] }, { blob: () => [l2] }], (c) => void chunks.push(c.slice()), { compression: 'gzip' });
      expect(r.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
      yield* chunks;
    })());
    const fs = await applyTo([out]);
    expect(await fs.readdir('/t/d')).toEqual(['x']);
    await expect(flattenLayers([{ blob: () => [l1], diffID: `sha256:${'1'.repeat(64)}` }], () => {})).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
  });

  test('a hardlink whose target a later layer replaces is refused with a clear error', async () => {
    const l1 = await layer(F('a', 'shared'), L('b', 'a'));
    const l2 = await layer(F('a', 'new'));
    await expect(flattenLayers([{ blob: () => [l1] }, { blob: () => [l2] }], () => {})).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
  });

  test('a hardlink to a name the stack does not hold before it is ERR_UNSAFE_LINK, naming the layer; one to a lower layer\'s file is kept', async () => {
    const l1 = await layer(F('a', 'shared'), F('é/ü', 'x'));
    // The target comes after the link in its own layer: not there when the link is applied.
    const bad = await layer(L('b', 'c'), F('c', 'late'));
    await expect(flattenLayers([{ blob: () => [l1] }, { blob: () => [bad], name: 'top' }], () => {}))
      .rejects.toMatchObject({ code: 'ERR_UNSAFE_LINK', message: expect.stringMatching(/flatten: layer top: hardlink "b" -> "c": the target does not exist/) });
    // Two bad links: the error names the first in stack order (the join meets them by target name).
    const two = await layer(L('z', 'y/nope'), L('b', 'a/nope'));
    for (const runRecords of [undefined, 1]) {
      await expect(flattenLayers([{ blob: () => [l1] }, { blob: () => [two], name: 'top' }], () => {}, { runRecords }))
        .rejects.toMatchObject({ code: 'ERR_UNSAFE_LINK', message: expect.stringMatching(/hardlink "z" -> "y\/nope"/) });
    }
    const good = await layer(L('b', 'a'), L('é/v', 'é/ü'));
    const chunks: Uint8Array[] = [];
    await flattenLayers([{ blob: () => [l1] }, { blob: () => [good] }], (c) => void chunks.push(c.slice()));
    const small: Uint8Array[] = [];
    await flattenLayers([{ blob: () => [l1] }, { blob: () => [good] }], (c) => void small.push(c.slice()), { runRecords: 1 });
    expect(Buffer.concat(small).equals(Buffer.concat(chunks))).toBe(true);
    const fs = await applyTo([Buffer.concat(chunks)]);
    expect((await fs.lstat('/t/b')).ino).toBe((await fs.lstat('/t/a')).ino);
    expect((await fs.lstat('/t/é/v')).ino).toBe((await fs.lstat('/t/é/ü')).ino);
  });

  test('the same bytes whatever the run size, scratch or pass (kernel, reference); scratch files removed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lk-flat-'));
    try {
      let created = 0;
      const files = storeScratch(nodeStoreFs, `${dir}/s`);
      const counting: Scratch = { create: () => (created++, files.create()) };
      for (let seed = 1; seed <= 60; seed++) {
        const g = prng(1000 + seed);
        const tree = new Map<string, Node>();
        const blobs = await Promise.all(Array.from({ length: 1 + g.int(5) }, () => layer(...randomLayer(g, tree))));
        const run = async (o: Parameters<typeof flattenLayers>[2]) => {
          const chunks: Uint8Array[] = [];
          try {
            await flattenLayers(blobs.map((b) => ({ blob: () => [b] })), (c) => void chunks.push(c.slice()), o);
          } catch (e) {
            return (e as { code: string }).code;
          }
          return Buffer.concat(chunks).toString('hex');
        };
        const want = await run({});
        expect(await run({ runRecords: 2, scratch: counting }), `seed ${seed}`).toBe(want);
        expect(await run({ runRecords: 5, stackPass: () => new SortedStackRef() }), `seed ${seed}`).toBe(want);
      }
      expect(created).toBeGreaterThan(60);
      expect(await readdir(`${dir}/s`)).toEqual([]);
      // A failure in pass 2 (the layer is not the same tar the second time) leaves no scratch file.
      const l1 = await layer(D('d'), F('d/x', 'one'), F('d/y', 'y'), D('e'), F('e/z', 'z'));
      const l2 = await layer(D('d'), F('d/x', 'two'));
      let opened = 0;
      await expect(flattenLayers([{ blob: () => [opened++ === 0 ? l1 : l2] }], () => {}, { runRecords: 2, scratch: files }))
        .rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
      expect(await readdir(`${dir}/s`)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
