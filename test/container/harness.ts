/** The built CLI run against one temporary store and layout, as the container CLI tests use it. */
import { afterAll, expect } from 'vitest';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../fixtures/tools.ts';

export function cliHarness(prefix: string) {
  const d = tempDir(prefix);
  afterAll(() => d.dispose());
  const work = d.path;
  const store = join(work, 'store');
  const layout = join(work, 'layout');
  const bin = new URL('../../bin/layerkit.js', import.meta.url).pathname;
  const cli = (...args: string[]): SpawnSyncReturns<string> =>
    spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, LAYERKIT_STORE: store } });
  const ok = (r: SpawnSyncReturns<string>): string => {
    expect(r.status, `${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const fails = (r: SpawnSyncReturns<string>, status: number, code: string): void => {
    expect(r.status, r.stderr).toBe(status);
    expect(r.stderr).toContain(`layerkit: ${code}:`);
  };
  /** `store check` is clean: consistent, and no leftovers either. */
  const checkClean = (): void => {
    const r = JSON.parse(ok(cli('store', 'check', '--json')));
    expect(r.errors).toEqual([]);
    expect(r.leftovers).toEqual([]);
  };
  return { work, store, layout, bin, cli, ok, fails, checkClean };
}
