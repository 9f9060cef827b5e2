// Container locks (container-locks/<name>.lock): `container cp` (and rm-path, mkdir, mv), commit
// and rm of one container take turns; a held lock is waited for (ERR_CONTAINER_LOCKED, exit 4,
// when the wait runs out); a lock left by a killed process is broken and `store check` reports it
// as a leftover until then. Both kinds of container. Needs root (owners in the image).
import { describe, it, expect, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import '../../src/platform/node.ts';
import { cliHarness } from './harness.ts';
import { makeTree, dir, file } from '../fixtures/trees.ts';
import { openStore } from '../../src/platform/store-node.ts';
import { acquireLock } from '../../src/fs/lock-file.ts';
import { nodeLockPort } from '../../src/fs/node-lock.ts';
import { commitContainer } from '../../src/api/container.ts';
import { nodeStoreFs } from '../../src/fs/node-store.ts';
import { nodeFs } from '../../src/fs/node.ts';

const { work, store, layout, bin, cli, ok, fails, checkClean } = cliHarness('layerkit-ct-lock-');
const isRoot = process.getuid?.() === 0;

function cliAsync(...args: string[]): Promise<{ status: number | null; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [bin, ...args], { stdio: 'ignore', env: { ...process.env, LAYERKIT_STORE: store } });
    c.on('close', (status) => resolve({ status, ms: Date.now() - t0 }));
  });
}

const lockOf = (name: string) => join(store, 'container-locks', `${name}.lock`);

beforeAll(() => {
  makeTree(join(work, 'base'), { '.': dir(), 'etc/hosts': file('127.0.0.1 localhost\n') });
  fs.mkdirSync(join(work, 'empty'));
  fs.writeFileSync(join(work, 'note'), 'note\n');
  ok(cli('image', 'init', layout));
  ok(cli('image', 'add-layer', '-q', `${layout}:base`, '--diff', join(work, 'empty'), join(work, 'base')));
  ok(cli('container', 'create', `${layout}:base`, '--name', 'farm'));
  ok(cli('container', 'create', `${layout}:base`, '--union', '--name', 'union'));
});

describe.skipIf(!isRoot)('container locks', () => {
  for (const name of ['farm', 'union']) {
    it(`${name}: cp waits while another process holds the container; then goes on; no lock file is left`, async () => {
      const s = await openStore(store);
      fs.mkdirSync(join(store, 'container-locks'), { recursive: true });
      const held = await acquireLock(s.port, s.containerLockPath(name), 'test holds it', 1000);
      const run = cliAsync('container', 'cp', join(work, 'note'), `${name}:/etc/note`);
      await new Promise((r) => setTimeout(r, 700));
      expect(fs.existsSync(lockOf(name))).toBe(true);
      await held.release();
      const r = await run;
      expect(r.status).toBe(0);
      expect(r.ms).toBeGreaterThanOrEqual(700);
      expect(ok(cli('container', 'diff', name))).toContain('A /etc/note');
      expect(fs.existsSync(lockOf(name))).toBe(false);
      checkClean();
    });

    it(`${name}: commit while the lock is held past the wait: ERR_CONTAINER_LOCKED naming the holder; the layout is unchanged`, async () => {
      const s = await openStore(store, { lockTimeoutMs: 200 });
      fs.mkdirSync(join(store, 'container-locks'), { recursive: true });
      const held = await acquireLock(s.port, s.containerLockPath(name), 'test holds it', 1000);
      const before = fs.readFileSync(join(layout, 'index.json'), 'utf8');
      try {
        await expect(commitContainer(s, { layoutFs: nodeStoreFs, treeFs: nodeFs } as never, name, layout, `${name}-c`))
          .rejects.toMatchObject({ code: 'ERR_CONTAINER_LOCKED', message: expect.stringContaining('test holds it') });
      } finally {
        await held.release();
      }
      expect(fs.readFileSync(join(layout, 'index.json'), 'utf8')).toBe(before);
      ok(cli('container', 'commit', name, `${layout}:${name}-c`));
    });
  }

  it('a lock left by a killed process: store check reports it, the next command breaks it', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.mkdirSync(join(store, 'container-locks'), { recursive: true });
    fs.writeFileSync(lockOf('farm'), JSON.stringify({ pid: Number(dead.stdout), host: nodeLockPort.self().host, op: 'container write farm', acquired: new Date().toISOString() }));
    const r = JSON.parse(ok(cli('store', 'check', '--json')));
    expect(r.errors).toEqual([]);
    expect(r.leftovers.map((l: { kind: string; path: string }) => [l.kind, l.path])).toEqual([['stale-lock', lockOf('farm')]]);
    ok(cli('container', 'mkdir', 'farm', '/srv2'));
    expect(fs.existsSync(lockOf('farm'))).toBe(false);
    checkClean();
  });

  it('store check --repair removes a stale container lock; a container that does not exist makes no lock file', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.writeFileSync(lockOf('union'), JSON.stringify({ pid: Number(dead.stdout), host: nodeLockPort.self().host, op: 'container commit union', acquired: new Date().toISOString() }));
    ok(cli('store', 'check', '--repair'));
    checkClean();
    fails(cli('container', 'mkdir', 'nope', '/x'), 3, 'ERR_CONTAINER_NOT_FOUND');
    expect(fs.readdirSync(join(store, 'container-locks'))).toEqual([]);
    ok(cli('container', 'rm', 'farm'));
    expect(fs.readdirSync(join(store, 'container-locks'))).toEqual([]);
  });
});
