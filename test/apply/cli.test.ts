/**
 * `layerkit apply` through the built CLI (dist/: run `npm run build` first): exit codes, and an
 * unprivileged run (setpriv to 65534) proving rootless ownership recording and device skipping.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync, readdirSync, lstatSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodeRootlessOwner } from '../../src/oci/rootless.ts';
import { F, L, layer } from './helpers.ts';
import { tempDir } from '../fixtures/tools.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/layerkit.js');
const tmp = tempDir('layerkit-apply-cli-');
chmodSync(tmp.path, 0o755);
afterAll(() => tmp.dispose());

function cli(args: string[], as: string[] = []) {
  const argv = [...as, process.execPath, BIN, ...args];
  return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
}

describe('layerkit apply (CLI)', () => {
  test('--help exits 0 and documents the verb; the top-level help lists it', () => {
    const r = cli(['apply', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: layerkit apply');
    expect(cli(['--help']).stdout).toContain('apply LAYER... --to DIR');
  });

  test('usage errors exit 2', () => {
    expect(cli(['apply', '--to', join(tmp.path, 'u')]).status).toBe(2);
    expect(cli(['apply', 'x.tar']).status).toBe(2);
  });

  test('exit codes: unsafe 7, corrupt 6, incomplete target 6, digest mismatch 6; success removes the marker', async () => {
    const evil = join(tmp.path, 'evil.tar');
    writeFileSync(evil, await layer(F('../escape', 'x')));
    const r = cli(['apply', evil, '--to', join(tmp.path, 'e')]);
    expect(r.status).toBe(7);
    expect(r.stderr).toMatch(/ERR_UNSAFE_PATH: .*"\.\.\/escape" leaves the target root/);
    expect(existsSync(join(tmp.path, 'escape'))).toBe(false);
    // The failed target is marked; another apply refuses it, --force goes on.
    const good = join(tmp.path, 'good.tar');
    writeFileSync(good, await layer(F('a', 'x'), L('b', 'a')));
    const again = cli(['apply', good, '--to', join(tmp.path, 'e')]);
    expect(again.status).toBe(6);
    expect(again.stderr).toContain('ERR_TARGET_INCOMPLETE');
    expect(cli(['apply', good, '--to', join(tmp.path, 'e'), '--force', '-q']).status).toBe(0);
    expect(readdirSync(join(tmp.path, 'e')).sort()).toEqual(['a', 'b']);

    const cut = join(tmp.path, 'cut.tar');
    writeFileSync(cut, (await layer(F('a', 'x'.repeat(3000)))).subarray(0, 1500));
    const c = cli(['apply', cut, '--to', join(tmp.path, 'c')]);
    expect(c.status).toBe(6);
    expect(c.stderr).toContain('ERR_LAYER_TRUNCATED');

    const d = cli(['apply', good, '--to', join(tmp.path, 'd'), '--digest', `sha256:${'a'.repeat(64)}`]);
    expect(d.status).toBe(6);
    expect(d.stderr).toContain('ERR_DIGEST_MISMATCH');
    expect(existsSync(join(tmp.path, 'd', '.layerkit-incomplete'))).toBe(true);

    const big = cli(['apply', good, '--to', join(tmp.path, 'm'), '--max-entries', '1']);
    expect(big.status).toBe(7);
    expect(big.stderr).toContain('ERR_LIMIT_EXCEEDED');
  });

  const isRoot = process.getuid?.() === 0;
  test.skipIf(!isRoot)('unprivileged (setpriv 65534): ownership recorded in user.rootlesscontainers, devices skipped', () => {
    const src = join(tmp.path, 'rsrc');
    mkdirSync(join(src, 'dev'), { recursive: true });
    mkdirSync(join(src, 'app'));
    execFileSync('mknod', [join(src, 'dev/null'), 'c', '1', '3']);
    writeFileSync(join(src, 'app/owned'), 'o');
    chownSync(join(src, 'app/owned'), 1001, 5);
    writeFileSync(join(src, 'root'), 'r');
    chmodSync(join(src, 'app'), 0o555);
    const tar = join(tmp.path, 'rootless.tar.zst');
    execFileSync('sh', ['-c', `tar -C "${src}" --numeric-owner -cf - . | zstd -q -c > "${tar}"`]);
    chmodSync(tar, 0o644);
    const target = join(tmp.path, 'r65534');
    mkdirSync(target);
    chownSync(target, 65534, 65534);
    const r = cli(['apply', tar, '--to', join(target, 'rootfs'), '--json'], ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']);
    expect(r.stderr).toContain('dev/null: char device 1:3 skipped');
    expect(r.status).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res).toMatchObject({ rootless: true, devicesSkipped: 1, ownershipRecorded: 1 });
    const rootfs = join(target, 'rootfs');
    expect(readdirSync(join(rootfs, 'dev'))).toEqual([]);
    expect(lstatSync(join(rootfs, 'app/owned')).uid).toBe(65534);
    expect(lstatSync(join(rootfs, 'app')).mode & 0o7777).toBe(0o555);
    const hex = execFileSync('getfattr', ['--only-values', '-n', 'user.rootlesscontainers', join(rootfs, 'app/owned')]);
    expect(decodeRootlessOwner(new Uint8Array(hex))).toEqual({ uid: 1001, gid: 5 });
    expect(spawnSync('getfattr', ['-n', 'user.rootlesscontainers', join(rootfs, 'root')]).status).not.toBe(0);
  });
});

describe('layerkit flatten (CLI)', () => {
  test('flatten two GNU-tar-style layers; applying the result equals applying both', async () => {
    const { D: Dir, W: Wh } = await import('./helpers.ts');
    const l1 = join(tmp.path, 'f1.tar');
    const l2 = join(tmp.path, 'f2.tar.gz');
    writeFileSync(l1, await layer(Dir('d'), F('d/a', 'one'), F('d/b', 'b')));
    const { gzipSync } = await import('node:zlib');
    writeFileSync(l2, gzipSync(await layer(Dir('d'), Wh('d/.wh.b'), F('d/a', 'two'))));
    const outFile = join(tmp.path, 'flat.tar.zst');
    const r = cli(['flatten', l1, l2, '-o', outFile, '-q']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(cli(['apply', outFile, '--to', join(tmp.path, 'flat-out'), '-q']).status).toBe(0);
    expect(cli(['apply', l1, l2, '--to', join(tmp.path, 'stack-out'), '-q']).status).toBe(0);
    const ls = (d: string) => execFileSync('find', ['.', '-printf', '%y %m %p %s\n'], { cwd: d, encoding: 'utf8' }).split('\n').sort();
    expect(ls(join(tmp.path, 'flat-out'))).toEqual(ls(join(tmp.path, 'stack-out')));
    expect(readdirSync(join(tmp.path, 'flat-out/d'))).toEqual(['a']);
    expect(cli(['flatten', '--help']).status).toBe(0);
    expect(cli(['flatten', l1]).status).toBe(2);
  });
});
