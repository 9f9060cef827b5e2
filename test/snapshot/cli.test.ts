// `layerkit snapshots` / `layerkit store` as users run them (the built CLI): outputs, help, exit codes.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { tempDir } from '../fixtures/tools.ts';

const d = tempDir('layerkit-cli-store-');
afterAll(() => d.dispose());
const store = `${d.path}/s`;
const cli = (...args: string[]) => spawnSync(process.execPath, [new URL('../../bin/layerkit.js', import.meta.url).pathname, ...args], { encoding: 'utf8', env: { ...process.env, LAYERKIT_STORE: store } });

describe('layerkit snapshots / store', () => {
  it('prepare, commit, view, info, ls, usage, check, rm', () => {
    const p = cli('snapshots', 'prepare', 'a', '--label', 'team=x');
    expect(p.status, p.stderr).toBe(0);
    writeFileSync(`${p.stdout.trim()}/f`, 'hello');
    const c = cli('snapshots', 'commit', 'base', 'a');
    expect(c.status, c.stderr).toBe(0);
    const digest = c.stdout.trim();
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(readFileSync(`${store}/blobs/sha256/${digest.slice(7)}`).length).toBeGreaterThan(0);
    const v = cli('snapshots', 'view', 'v', 'base');
    expect(readFileSync(`${v.stdout.trim()}/f`, 'utf8')).toBe('hello');
    const info = JSON.parse(cli('snapshots', 'info', 'base').stdout);
    expect(info).toMatchObject({ key: 'base', kind: 'committed', labels: { team: 'x' }, blob: { digest } });
    expect(JSON.parse(cli('snapshots', 'ls', '--json').stdout)).toEqual([{ key: 'base', parent: null, kind: 'committed' }, { key: 'v', parent: 'base', kind: 'view' }]);
    const u = cli('store', 'usage');
    expect(u.stdout).toMatch(/the same trees as full copies/);
    const ck = cli('store', 'check');
    expect(ck.status).toBe(0);
    expect(ck.stdout).toMatch(/^consistent: 2 snapshots, 1 blobs, 0 errors/m);
    expect(cli('snapshots', 'rm', 'base').status).toBe(3);
    expect(cli('snapshots', 'rm', 'v', 'base').status).toBe(0);
    expect(cli('snapshots', 'ls', '--json').stdout.trim()).toBe('[]');
  });

  it('usage errors exit 2; help exits 0', () => {
    expect(cli('snapshots', 'commit', 'onlyone').status).toBe(2);
    expect(cli('snapshots', 'frobnicate').status).toBe(2);
    expect(cli('store', 'init', '--materialize', 'magic').status).toBe(2);
    const h = cli('snapshots', '--help');
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('prepare KEY [PARENT]');
    expect(cli('store', '--help').stdout).toContain('hardlink');
    const r = spawnSync(process.execPath, [new URL('../../bin/layerkit.js', import.meta.url).pathname, 'snapshots', 'ls'], { encoding: 'utf8', env: { ...process.env, LAYERKIT_STORE: '' } });
    expect(r.status).toBe(2);
  });
});
