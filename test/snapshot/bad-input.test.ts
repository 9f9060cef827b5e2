// Concurrency (several processes on one store) and stores edited by hand: clear errors with
// stable codes, and check says what is wrong.
import { describe, it, expect, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import { writeFileSync, readFileSync, rmSync, mkdirSync, readdirSync } from 'node:fs';
import { checkStore } from '../../src/snapshot/check.ts';
import { openStore, sha256File, nodeStorePort } from '../../src/platform/store-node.ts';
import { encodeJson } from '../../src/snapshot/record.ts';
import { newStore } from './helpers.ts';
import { tempDir } from '../fixtures/tools.ts';

const CLI = new URL('../../bin/layerkit.js', import.meta.url).pathname;
const disposers: Array<() => void> = [];
afterEach(() => { while (disposers.length) disposers.pop()!(); });

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args]);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => { stdout += d; });
    c.stderr.on('data', (d) => { stderr += d; });
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function setup() {
  const s = await newStore();
  disposers.push(s.dispose);
  return s.store;
}

describe('several processes on one store', () => {
  it('two processes racing to prepare one key: one wins, the other gets ERR_SNAPSHOT_EXISTS', async () => {
    const store = await setup();
    await store.prepare('a');
    await store.commit('base', 'a');
    for (let round = 0; round < 3; round++) {
      const rs = await Promise.all([0, 1].map(() => cli(['snapshots', '--store', store.root, 'prepare', `k${round}`, 'base'])));
      expect(rs.map((r) => r.code).sort()).toEqual([0, 3]);
      expect(rs.find((r) => r.code === 3)!.stderr).toContain('ERR_SNAPSHOT_EXISTS');
    }
    expect((await checkStore(store, { sha256File })).ok).toBe(true);
  });

  it('four processes committing different snapshots at once all succeed, serialised by the lock', async () => {
    const store = await setup();
    for (let i = 0; i < 4; i++) {
      const m = await store.prepare(`a${i}`);
      writeFileSync(`${m.path}/f`, `content ${i}`);
    }
    const rs = await Promise.all([0, 1, 2, 3].map((i) => cli(['snapshots', '--store', store.root, 'commit', `c${i}`, `a${i}`])));
    expect(rs.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    expect(new Set(rs.map((r) => r.stdout.trim())).size).toBe(4);
    const report = await checkStore(store, { sha256File });
    expect(report).toMatchObject({ ok: true, snapshots: 4, blobs: 4, leftovers: [] });
  });

  it('a lock held by a live process is waited for, then ERR_STORE_LOCKED naming it', async () => {
    const s = await newStore({ lockTimeoutMs: 200 });
    disposers.push(s.dispose);
    writeFileSync(s.store.lockPath, encodeJson({ ...nodeStorePort.self(), op: 'test holds it', acquired: new Date().toISOString() }));
    await expect(s.store.prepare('a')).rejects.toMatchObject({ code: 'ERR_STORE_LOCKED', message: expect.stringContaining('test holds it') });
    rmSync(s.store.lockPath);
    await s.store.prepare('a');
  });

  it('a stale lock (its process is gone) is broken, and the dead process\'s leftovers collected', async () => {
    const store = await setup();
    const dead = await new Promise<number>((resolve) => {
      const c = spawn(process.execPath, ['-e', '0']);
      c.on('close', () => resolve(c.pid!));
    });
    writeFileSync(store.lockPath, encodeJson({ pid: dead, host: nodeStorePort.self().host, op: 'commit x', acquired: new Date().toISOString() }));
    mkdirSync(`${store.snapshotsDir}/0123456789abcdef`);
    writeFileSync(`${store.blobsDir}/${'ab'.repeat(32)}`, 'junk');
    const before = await checkStore(store, { sha256File });
    expect(before.ok).toBe(true);
    expect(before.leftovers.map((l) => l.kind).sort()).toEqual(['orphan-blob', 'orphan-tree', 'stale-lock']);
    // check broke the lock but left the rest; a stale lock again, then a mutation recovers.
    writeFileSync(store.lockPath, encodeJson({ pid: dead, host: nodeStorePort.self().host, op: 'commit x', acquired: new Date().toISOString() }));
    await store.prepare('a');
    expect(readdirSync(store.snapshotsDir)).toHaveLength(1);
    expect(readdirSync(store.blobsDir)).toHaveLength(0);
    expect((await checkStore(store, { sha256File })).leftovers).toEqual([]);
  });
});

describe('a store edited by hand', () => {
  async function committedStore() {
    const store = await setup();
    const m = await store.prepare('a');
    writeFileSync(`${m.path}/f`, 'x');
    await store.commit('base', 'a');
    await store.prepare('child', 'base');
    return store;
  }
  const kinds = async (store: Awaited<ReturnType<typeof setup>>) => (await checkStore(store, { sha256File })).errors.map((e) => e.kind);

  it('a record that is not JSON: ERR_STORE_CORRUPT naming the file; check reports it', async () => {
    const store = await committedStore();
    writeFileSync(store.metaPath('child'), '{ not json');
    await expect(store.list()).rejects.toMatchObject({ code: 'ERR_STORE_CORRUPT', message: expect.stringContaining('child.json') });
    expect(await kinds(store)).toEqual(['bad-record']);
  });

  it('a record whose key does not match its file name, or with an unknown kind', async () => {
    const store = await committedStore();
    const rec = JSON.parse(readFileSync(store.metaPath('child'), 'utf8'));
    writeFileSync(store.metaPath('child'), JSON.stringify({ ...rec, key: 'other' }));
    await expect(store.stat('base')).rejects.toMatchObject({ code: 'ERR_STORE_CORRUPT' });
    writeFileSync(store.metaPath('child'), JSON.stringify({ ...rec, kind: 'weird' }));
    expect(await kinds(store)).toEqual(['bad-record']);
  });

  it('a cycle of parents, and a parent that is not committed', async () => {
    const store = await committedStore();
    const base = JSON.parse(readFileSync(store.metaPath('base'), 'utf8'));
    writeFileSync(store.metaPath('base'), JSON.stringify({ ...base, parent: 'child' }));
    const k = await kinds(store);
    expect(k).toContain('cycle');
    expect(k).toContain('parent-kind');
    // The API refuses to build on it rather than guessing.
    const r = await cli(['store', '--store', store.root, 'check']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('ERR_STORE_CORRUPT');
    expect(r.stdout).toContain('error cycle');
  });

  it('a missing or altered blob, a missing tree', async () => {
    const store = await committedStore();
    const base = await store.stat('base');
    writeFileSync(store.blobPath(base.blob!.digest), Buffer.alloc(base.blob!.size, 1));
    expect(await kinds(store)).toEqual(['blob-digest']);
    rmSync(store.blobPath(base.blob!.digest));
    expect(await kinds(store)).toEqual(['missing-blob']);
    rmSync((await store.stat('child')).path, { recursive: true });
    expect((await kinds(store)).sort()).toEqual(['missing-blob', 'missing-tree']);
  });

  it('a store of another version, a directory that is no store', async () => {
    const store = await committedStore();
    const cfg = JSON.parse(readFileSync(store.configPath, 'utf8'));
    writeFileSync(store.configPath, JSON.stringify({ ...cfg, version: 99 }));
    await expect(openStore(store.root)).rejects.toMatchObject({ code: 'ERR_STORE_VERSION' });
    const d = tempDir();
    disposers.push(d.dispose);
    writeFileSync(`${d.path}/something`, 'x');
    await expect(openStore(d.path)).rejects.toMatchObject({ code: 'ERR_NOT_A_STORE' });
    await expect(openStore(`${d.path}/missing`, { create: false })).rejects.toMatchObject({ code: 'ERR_NOT_A_STORE' });
    const r = await cli(['snapshots', '--store', d.path, 'ls']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('ERR_NOT_A_STORE');
  });
});

describe('sharing: N containers on one image cost N read-write layers, not N copies', () => {
  it('usage figures of 10 active snapshots on one committed tree', async () => {
    const store = await setup();
    const m = await store.prepare('img');
    for (let i = 0; i < 40; i++) writeFileSync(`${m.path}/f${i}`, Buffer.alloc(16384, i));
    await store.commit('image', 'img');
    for (let i = 0; i < 10; i++) {
      const c = await store.prepare(`ctr${i}`, 'image');
      if (store.config.materialize.active !== 'hardlink') continue;
      writeFileSync(`${c.path}/own`, Buffer.alloc(4096, 7));
    }
    const u = await store.storeUsage();
    const image = u.snapshots.find((x) => x.key === 'image')!.usage;
    expect(image.size).toBeGreaterThanOrEqual(40 * 16384);
    if (store.config.materialize.active === 'hardlink') {
      for (let i = 0; i < 10; i++) {
        const own = await store.usage(`ctr${i}`);
        // the root directory and the one file written: nothing of the image
        expect(own.inodes).toBe(2);
        expect(own.size).toBeLessThan(16384);
      }
      expect(u.trees.size).toBeLessThan(image.size + 10 * 16384);
      expect(u.copies.size).toBeGreaterThan(11 * 40 * 16384);
    }
  });
});
