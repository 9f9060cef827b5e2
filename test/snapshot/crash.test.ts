// Crash safety: a child process (the built CLI) prepares, commits or removes and is killed with
// SIGKILL after a seeded random delay, many times over. After every kill `store check` must find
// the store consistent, every snapshot committed before must be intact (record, tree, blob), and
// the interrupted operation must either have happened entirely or not at all.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { checkStore } from '../../src/snapshot/check.ts';
import { sha256File } from '../../src/platform/store-node.ts';
import { openWriter } from '../../src/platform/snapshot-writer.ts';
import type { SnapshotStore } from '../../src/snapshot/store.ts';
import { newStore, treeOf } from './helpers.ts';

const CLI = new URL('../../bin/layerkit.js', import.meta.url).pathname;

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Run the CLI; kill it after `killAfterMs` (if given). Resolves with its exit code or signal. */
function runCli(args: string[], killAfterMs?: number): Promise<{ code: number | null; signal: string | null; ms: number; stderr: string }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ms: performance.now() - t0, stderr });
    });
  });
}

let s: Awaited<ReturnType<typeof newStore>>;
let store: SnapshotStore;
beforeAll(async () => {
  s = await newStore();
  store = s.store;
});
afterAll(() => s.dispose());

describe('crash safety', () => {
  it('a child killed at random points of prepare/commit/remove leaves a consistent store, nothing committed lost', async () => {
    const rand = mulberry32(20240605);
    const committed = new Map<string, { tree: Record<string, string>; digest: string }>();
    const remember = async (key: string) => {
      const i = await store.stat(key);
      committed.set(key, { tree: treeOf(i.path), digest: i.blob!.digest });
    };
    // A base with some content, committed in-process.
    await store.prepare('a-base');
    const w = await openWriter(store, 'a-base');
    for (let i = 0; i < 50; i++) await w.writeFile(`f${i}`, `file ${i}\n`.repeat(i * 20));
    await w.mkdir('d');
    for (let i = 0; i < 20; i++) await w.writeFile(`d/g${i}`, `g${i}`);
    await store.commit('base', 'a-base');
    await remember('base');

    // How long one committing child takes, to spread the kills over its whole life.
    await store.prepare('a-time', 'base');
    const timed = await runCli(['snapshots', '--store', store.root, 'commit', 'timed', 'a-time']);
    expect(timed.code, timed.stderr).toBe(0);
    await remember('timed');
    const span = timed.ms * 1.3;

    const outcomes = { completed: 0, killed: 0, leftovers: 0 };
    const deadline = Date.now() + 22_000;
    let i = 0;
    for (; Date.now() < deadline && i < 60; i++) {
      const parents = [...committed.keys()];
      const parent = parents[Math.floor(rand() * parents.length)]!;
      const actives = (await store.list((x) => x.kind === 'active')).map((x) => x.key);
      const r = rand();
      let args: string[];
      let check: () => Promise<void>;
      if (r < 0.5) {
        // commit: an active snapshot with changes, committed by the child
        const key = `a${i}`;
        await store.prepare(key, parent);
        const wr = await openWriter(store, key);
        await wr.writeFile(`new${i}`, `added in ${i}\n`.repeat(100));
        await wr.remove(`f${i % 50}`).catch(() => {});
        await wr.chmod('d', 0o700 + (i % 8));
        const expected = treeOf((await store.stat(key)).path);
        args = ['commit', `c${i}`, key];
        check = async () => {
          const done = await store.stat(`c${i}`).catch(() => undefined);
          if (done) {
            expect(done.kind).toBe('committed');
            expect(treeOf(done.path)).toEqual(expected);
            await expect(store.stat(key)).rejects.toMatchObject({ code: 'ERR_SNAPSHOT_NOT_FOUND' });
            await remember(`c${i}`);
          } else {
            // Not committed: the active snapshot is still there, as it was.
            const a = await store.stat(key);
            expect(a.kind).toBe('active');
            expect(treeOf(a.path)).toEqual(expected);
          }
        };
      } else if (r < 0.8 || actives.length === 0) {
        const key = `p${i}`;
        args = ['prepare', key, parent];
        check = async () => {
          const done = await store.stat(key).catch(() => undefined);
          if (done) expect(treeOf(done.path)).toEqual(committed.get(parent)!.tree);
        };
      } else {
        const key = actives[Math.floor(rand() * actives.length)]!;
        args = ['rm', key];
        check = async () => {
          const still = await store.stat(key).catch(() => undefined);
          if (still) expect(still.kind).toBe('active');
        };
      }
      const res = await runCli(['snapshots', '--store', store.root, ...args], rand() * span);
      if (res.signal === 'SIGKILL') outcomes.killed++;
      else {
        expect(res.code, res.stderr).toBe(0);
        outcomes.completed++;
      }
      const report = await checkStore(store, { sha256File });
      expect(report.errors, JSON.stringify(report.errors)).toEqual([]);
      expect(report.ok).toBe(true);
      if (report.leftovers.length) outcomes.leftovers++;
      await check();
      // Everything committed so far is intact: record, tree and blob (check verified the digests).
      for (const [key, want] of committed) {
        const info = await store.stat(key);
        expect(info.blob!.digest).toBe(want.digest);
        expect(treeOf(info.path)).toEqual(want.tree);
      }
    }
    console.log(`crash test: ${i} runs, ${outcomes.killed} killed (${outcomes.leftovers} left leftovers), ${outcomes.completed} completed; ${committed.size} committed snapshots kept`);
    expect(outcomes.killed).toBeGreaterThan(0);
    expect(outcomes.completed).toBeGreaterThan(0);
    // The next mutation clears what the kills left; check --repair leaves nothing behind.
    await store.prepare('after');
    const final = await checkStore(store, { sha256File, repair: true });
    expect(final.ok).toBe(true);
    expect((await checkStore(store, { sha256File })).leftovers).toEqual([]);
  }, 60_000);
});
