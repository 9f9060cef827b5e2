// The snapshotter's semantics, in the spirit of containerd's snapshots/testsuite: every case runs
// against each materialisation method this filesystem supports (hardlink and copy here; reflink
// where the filesystem clones).
import { describe, it, expect, afterEach } from 'vitest';
import { writeFileSync } from 'node:fs';
import { openWriter } from '../../src/platform/snapshot-writer.ts';
import { nodeStorePort } from '../../src/platform/store-node.ts';
import type { SnapshotStore } from '../../src/snapshot/store.ts';
import { newStore, layerEntries, treeOf } from './helpers.ts';

const disposers: Array<() => void> = [];
afterEach(() => { while (disposers.length) disposers.pop()!(); });

async function setup(method: 'hardlink' | 'copy') {
  const s = await newStore({ materialize: method });
  disposers.push(s.dispose);
  return s.store;
}

/** prepare(key, parent), apply fn through the writer, commit as name. */
async function layer(store: SnapshotStore, name: string, parent: string | undefined, fn: (w: Awaited<ReturnType<typeof openWriter>>) => Promise<void>) {
  await store.prepare(`${name}-active`, parent);
  await fn(await openWriter(store, `${name}-active`));
  return store.commit(name, `${name}-active`);
}

const probe = await nodeStorePort.probe('/tmp');
const methods = (['hardlink', 'copy'] as const).filter((m) => m === 'copy' || probe.hardlink);

describe.each(methods)('snapshotter (%s)', (method) => {
  it('prepare -> active, commit -> committed with a layer blob; stat, list and mounts', async () => {
    const store = await setup(method);
    expect(store.config.materialize.active).toBe(method);
    const m = await store.prepare('a');
    expect(m).toMatchObject({ readOnly: false, materialize: 'empty' });
    writeFileSync(`${m.path}/hello`, 'hi\n');
    expect((await store.stat('a')).kind).toBe('active');
    const c = await store.commit('base', 'a', { labels: { 'x': 'y' } });
    expect(c).toMatchObject({ kind: 'committed', key: 'base', labels: { x: 'y' } });
    expect(c.blob!.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    await expect(store.stat('a')).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_NOT_FOUND' });
    const names = (await layerEntries(store, 'base')).map((e) => e.header.name);
    expect(names).toEqual(['hello']);
    const child = await store.prepare('c1', 'base');
    expect(child.materialize).toBe(method);
    expect(treeOf(child.path)).toEqual(treeOf(c.path));
    expect((await store.list()).map((i) => [i.key, i.kind, i.parent])).toEqual([['base', 'committed', undefined], ['c1', 'active', 'base']]);
  });

  it('deleted files stay gone in children; the layer has the whiteout', async () => {
    const store = await setup(method);
    await layer(store, 'l1', undefined, async (w) => { await w.writeFile('foo', 'x'); await w.writeFile('bar', 'y'); });
    await layer(store, 'l2', 'l1', async (w) => { await w.remove('foo'); });
    const names = (await layerEntries(store, 'l2')).map((e) => e.header.name);
    expect(names).toEqual(['.wh.foo']);
    const v = await store.view('v', 'l2');
    expect(Object.keys(treeOf(v.path))).toEqual(['bar']);
    const c = await layer(store, 'l3', 'l2', async (w) => { await w.writeFile('baz', 'z'); });
    expect(Object.keys(treeOf(c.path))).toEqual(['bar', 'baz']);
  });

  it('a file updated twice within one second is seen as changed (content decides)', async () => {
    const store = await setup(method);
    const t = 1_700_000_000;
    await layer(store, 'l1', undefined, async (w) => { await w.writeFile('f', 'aaaa'); await w.utimes('f', t, t); });
    const c = await layer(store, 'l2', 'l1', async (w) => { await w.writeFile('f', 'bbbb'); await w.utimes('f', t, t); });
    const e = await layerEntries(store, 'l2');
    expect(e.map((x) => [x.header.name, x.body.toString()])).toEqual([['f', 'bbbb']]);
    expect(treeOf(c.path).f).toContain('bbbb');
    expect(treeOf((await store.stat('l1')).path).f).toContain('aaaa');
  });

  it('a lower directory removed and re-created hides the old children', async () => {
    const store = await setup(method);
    await layer(store, 'l1', undefined, async (w) => {
      await w.mkdir('d'); await w.writeFile('d/a', '1'); await w.writeFile('d/b', '2');
    });
    const c = await layer(store, 'l2', 'l1', async (w) => {
      await w.remove('d'); await w.mkdir('d', 0o700); await w.writeFile('d/c', '3');
    });
    expect(treeOf(c.path)).toEqual({ d: 'dir 700 0:0', 'd/c': 'file 644 0:0 3' });
    const names = (await layerEntries(store, 'l2')).map((e) => e.header.name).sort();
    // Both old children gone: one opaque marker (or their whiteouts), then the new child.
    expect(names).toEqual(['d/', 'd/.wh..wh..opq', 'd/c']);
    const v = await store.view('v', 'l2');
    expect(treeOf(v.path)).toEqual(treeOf(c.path));
  });

  it('a chown-only change is a layer entry and leaves the parent as it was', async () => {
    const store = await setup(method);
    const p = await layer(store, 'l1', undefined, async (w) => { await w.writeFile('f', 'data'); await w.mkdir('d'); });
    await layer(store, 'l2', 'l1', async (w) => { await w.chown('f', 1234, 5678); await w.chown('d', 42, 43); });
    const e = await layerEntries(store, 'l2');
    expect(e.map((x) => [x.header.name, x.header.uid, x.header.gid])).toEqual([['d/', 42, 43], ['f', 1234, 5678]]);
    expect(treeOf(p.path)).toEqual({ d: 'dir 755 0:0', f: 'file 644 0:0 data' });
  });

  it('rename: the old name is whited out, the new one written', async () => {
    const store = await setup(method);
    await layer(store, 'l1', undefined, async (w) => { await w.mkdir('a'); await w.writeFile('a/f', 'x'); });
    const c = await layer(store, 'l2', 'l1', async (w) => { await w.rename('a', 'b'); });
    expect(Object.keys(treeOf(c.path))).toEqual(['b', 'b/f']);
    expect((await layerEntries(store, 'l2')).map((e) => e.header.name)).toEqual(['.wh.a', 'b/', 'b/f']);
  });

  it('a committed snapshot never changes when a child is written (every writer operation)', async () => {
    const store = await setup(method);
    const base = await layer(store, 'base', undefined, async (w) => {
      await w.writeFile('f', 'orig'); await w.writeFile('g', 'g'); await w.symlink('f', 's'); await w.link('g', 'g2');
      await w.utimes('f', 1_600_000_000, 1_600_000_000);
    });
    const before = treeOf(base.path);
    const beforeMtime = (await nodeStorePort.fs.lstat(`${base.path}/f`)).mtimeNs;
    await store.prepare('c', 'base');
    const w = await openWriter(store, 'c');
    await w.chmod('f', 0o600);
    await w.chown('g', 7, 7);
    await w.utimes('g2', 1, 1);
    await w.chown('s', 9, 9);
    await w.writeFile('f', 'changed');
    await w.link('f', 'f2');
    await w.writeFile('g2', 'more');
    expect(treeOf(base.path)).toEqual(before);
    expect((await nodeStorePort.fs.lstat(`${base.path}/f`)).mtimeNs).toBe(beforeMtime);
    const cw = treeOf((await store.stat('c')).path);
    expect(cw.f).toBe('file 600 0:0 changed');
    expect(cw.g).toBe('file 644 7:7 g');
  });

  it('a view cannot be written, nor committed; a committed snapshot cannot be written', async () => {
    const store = await setup(method);
    await layer(store, 'base', undefined, async (w) => { await w.writeFile('f', 'x'); });
    const v = await store.view('v', 'base');
    expect(v.readOnly).toBe(true);
    await expect(openWriter(store, 'v')).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_READONLY' });
    await expect(openWriter(store, 'base')).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_READONLY' });
    await expect(store.commit('x', 'v')).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_KIND' });
    await expect(store.commit('x', 'base')).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_KIND' });
    expect(treeOf(v.path)).toEqual({ f: 'file 644 0:0 x' });
  });

  it('a stack of 128 layers', async () => {
    const store = await setup(method);
    let parent: string | undefined;
    for (let i = 0; i < 128; i++) {
      await layer(store, `l${i}`, parent, async (w) => {
        await w.writeFile(`f${i}`, `${i}`);
        await w.writeFile('top', `layer ${i}`);
        if (i > 0) await w.remove(`f${i - 1}`);
      });
      parent = `l${i}`;
    }
    const v = await store.view('top-view', 'l127');
    expect(treeOf(v.path)).toEqual({ f127: 'file 644 0:0 127', top: 'file 644 0:0 layer 127' });
    expect((await layerEntries(store, 'l127')).map((e) => e.header.name)).toEqual(['.wh.f126', 'f127', 'top']);
    expect((await store.list()).length).toBe(129);
  }, 120_000);

  it('bad input: unknown keys, key reuse across kinds, removing a parent, non-committed parents', async () => {
    const store = await setup(method);
    await expect(store.stat('nope')).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_NOT_FOUND' });
    await expect(store.prepare('a', 'nope')).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_NOT_FOUND' });
    await expect(store.remove('nope')).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_NOT_FOUND' });
    await expect(store.commit('x', 'nope')).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_NOT_FOUND' });
    await expect(store.prepare('')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(store.prepare('a\nb')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await store.prepare('a');
    await expect(store.prepare('a')).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_EXISTS' });
    await expect(store.view('a')).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_EXISTS' });
    await expect(store.prepare('b', 'a')).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_KIND' });
    await store.commit('base', 'a');
    await expect(store.commit('base', 'base')).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_KIND' });
    await store.prepare('a2');
    await expect(store.commit('base', 'a2')).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_EXISTS' });
    await store.prepare('c', 'base');
    await store.view('v', 'base');
    await expect(store.remove('base')).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_HAS_CHILDREN', data: { children: ['c', 'v'] } });
    await expect(store.view('w', 'c')).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_KIND' });
    await store.remove('c');
    await store.remove('v');
    await store.remove('base');
    expect((await store.list()).map((i) => i.key)).toEqual(['a2']);
    // A key is free again once removed, whatever kind it was.
    await store.view('base');
    expect((await store.stat('base')).kind).toBe('view');
  });

  it('keys with any characters map to one record each', async () => {
    const store = await setup(method);
    const keys = ['default/1/sha256:abc', '.hidden', '..', 'a b', 'ünï', 'x%2F'];
    for (const k of keys) await store.prepare(k);
    expect((await store.list()).map((i) => i.key).sort()).toEqual([...keys].sort());
  });
});
