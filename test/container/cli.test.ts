// `layerkit container` as users run it (the built CLI) on an image made with `layerkit image`:
// shared image snapshots, isolation, diff, commit checked by real umoci and oci-image-tool,
// rm, bad input with stable codes, and `store check` clean after every operation.
// Needs root (owners in the trees; umoci unpack without --rootless), umoci, oci-image-tool.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { cliHarness } from './harness.ts';
import { makeTree, scan, compareTrees, dir, file, symlink, hardlink, T2, type TreeSpec } from '../fixtures/trees.ts';

const { work, store, layout, cli, ok, fails, checkClean } = cliHarness('layerkit-container-');
function tool(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  expect(r.status, `${cmd} ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const BASE: TreeSpec = {
  '.': dir(),
  'etc/hosts': file('127.0.0.1 localhost\n'),
  'etc/passwd': file('root:x:0:0::/root:/bin/sh\n', { mode: 0o644 }),
  'etc/shadow': file('root:*:1::::::\n', { mode: 0o640, gid: 42 }),
  'usr/bin/tool': file('#!/bin/sh\necho tool\n', { mode: 0o755 }),
  'usr/bin/tool2': hardlink('usr/bin/tool'),
  'usr/lib/libx.so.1': file('ELF-ish bytes\n'),
  'usr/lib/libx.so': symlink('libx.so.1'),
  'var/lib/app/state': file('state 1\n', { uid: 1000, gid: 1000 }),
  'var/lib/app/deep/er/file': file('deep\n'),
  'home/user': dir({ uid: 1000, gid: 1000, mode: 0o700 }),
  'home/user/.profile': file('export A=1\n', { uid: 1000, gid: 1000 }),
};

let chain: string;

beforeAll(() => {
  makeTree(join(work, 'base'), BASE);
  fs.mkdirSync(join(work, 'empty'));
  ok(cli('image', 'init', layout));
  ok(cli('image', 'add-layer', '-q', `${layout}:base`, '--diff', join(work, 'empty'), join(work, 'base')));
  chain = JSON.parse(ok(cli('image', 'inspect', `${layout}:base`))).layers[0].chainID;
});

describe('layerkit container', () => {
  it('two containers on one image share its snapshot; writes in one do not show in the other', () => {
    expect(ok(cli('container', 'create', `${layout}:base`, '--name', 'a')).trim()).toBe('a');
    checkClean();
    expect(ok(cli('container', 'create', `${layout}:base`, '--name', 'b')).trim()).toBe('b');
    checkClean();
    // One committed snapshot (the layer, keyed by its chain ID) and two actives on it.
    const list = JSON.parse(ok(cli('snapshots', 'ls', '--json')));
    expect(list).toEqual([
      { key: 'container/a', parent: chain, kind: 'active' },
      { key: 'container/b', parent: chain, kind: 'active' },
      { key: chain, parent: null, kind: 'committed' },
    ]);
    const usage = JSON.parse(ok(cli('store', 'usage', '--json')));
    const own = (k: string) => usage.snapshots.find((s: { key: string }) => s.key === k).usage;
    // In a hardlink farm an active shares every file with the image: its own inodes are its directories.
    const dirs = [...scan(join(work, 'base')).values()].filter((n) => n.type === 'dir').length;
    if (usage.snapshots[0].materialize === 'hardlink') {
      expect(own('container/a').inodes).toBe(dirs);
      expect(own('container/b').inodes).toBe(dirs);
    }
    expect(usage.trees.size).toBeLessThan(usage.copies.size);

    const a = ok(cli('container', 'path', 'a')).trim();
    const b = ok(cli('container', 'path', 'b')).trim();
    fs.writeFileSync(join(work, 'hosts'), '10.0.0.1 a\n');
    ok(cli('container', 'cp', join(work, 'hosts'), 'a:/etc/hosts'));
    expect(fs.readFileSync(join(a, 'etc/hosts'), 'utf8')).toBe('10.0.0.1 a\n');
    expect(fs.readFileSync(join(b, 'etc/hosts'), 'utf8')).toBe('127.0.0.1 localhost\n');
    const image = JSON.parse(ok(cli('snapshots', 'info', chain))).path;
    expect(fs.readFileSync(join(image, 'etc/hosts'), 'utf8')).toBe('127.0.0.1 localhost\n');
    expect(ok(cli('container', 'diff', 'b'))).toBe('');
    checkClean();
  });

  it('diff lists A/C/D; a renamed directory is deleted and added (as overlayfs commits it)', () => {
    fs.writeFileSync(join(work, 'new.conf'), 'x=1\n');
    ok(cli('container', 'cp', join(work, 'new.conf'), 'a:etc/new.conf'));
    ok(cli('container', 'rm-path', 'a', '/usr/bin/tool2'));
    ok(cli('container', 'rm-path', 'a', 'var/lib/app/deep'));
    ok(cli('container', 'mv', 'a', 'home/user', 'home/user2'));
    ok(cli('container', 'mkdir', 'a', 'srv'));
    checkClean();
    expect(ok(cli('container', 'diff', 'a')).trim().split('\n')).toEqual([
      'C /etc/hosts',
      'A /etc/new.conf',
      'D /home/user',
      'A /home/user2',
      'A /home/user2/.profile',
      'A /srv',
      'D /usr/bin/tool2',
      'D /var/lib/app/deep',
    ]);
    expect(JSON.parse(ok(cli('container', 'diff', 'a', '--json')))).toEqual({
      added: ['/etc/new.conf', '/home/user2', '/home/user2/.profile', '/srv'],
      changed: ['/etc/hosts'],
      deleted: ['/home/user', '/usr/bin/tool2', '/var/lib/app/deep'],
    });
    // The image and the other container are untouched.
    const b = ok(cli('container', 'path', 'b')).trim();
    expect(compareTrees(scan(join(work, 'base')), scan(b), { ignoreMtime: new Set(['.']) })).toEqual([]);
  });

  it('commit: a new image in the layout whose umoci unpack equals the container; oci-image-tool accepts it', () => {
    const digest = ok(cli('container', 'commit', 'a', `${layout}:v2`, '--message', 'edit hosts')).trim();
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    checkClean();
    const img = JSON.parse(ok(cli('image', 'inspect', `${layout}:v2`)));
    expect(img.manifest.digest).toBe(digest);
    expect(img.layers.length).toBe(2);
    expect(img.layers[0].chainID).toBe(chain);
    expect(img.history.at(-1)).toMatchObject({ created_by: 'layerkit container commit a', comment: 'edit hosts' });
    expect(img.history.length).toBe(2);
    // The base tag still names the old image.
    expect(JSON.parse(ok(cli('image', 'inspect', `${layout}:base`))).layers.length).toBe(1);

    const out = join(work, 'unpack-v2');
    tool('umoci', ['unpack', '--image', `${layout}:v2`, out]);
    const a = ok(cli('container', 'path', 'a')).trim();
    // The root directory's own metadata is not in the layers (umoci makes rootfs itself).
    expect(compareTrees(scan(a), scan(join(out, 'rootfs')), { ignoreMtime: new Set(['.']) })).toEqual([]);

    // oci-image-tool on a copy whose index names only v2 (it mishandles 3+ refs; see test/e2e/image-tools.test.ts).
    const copy = join(work, 'validate');
    fs.cpSync(layout, copy, { recursive: true });
    const index = JSON.parse(fs.readFileSync(join(copy, 'index.json'), 'utf8'));
    index.manifests = index.manifests.filter((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'] === 'v2');
    fs.writeFileSync(join(copy, 'index.json'), JSON.stringify(index));
    tool('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=v2', copy]);
  });

  it('a container on the committed image reuses the base layer snapshot and unpacks only the new one', () => {
    const r = cli('container', 'create', `${layout}:v2`, '--name', 'c');
    ok(r);
    expect(r.stderr).toMatch(/: reused/);
    expect(r.stderr.match(/: unpacked/g)?.length).toBe(1);
    checkClean();
    const c = ok(cli('container', 'path', 'c')).trim();
    const a = ok(cli('container', 'path', 'a')).trim();
    expect(compareTrees(scan(a), scan(c), { ignoreMtime: new Set(['.']) })).toEqual([]);
    expect(ok(cli('container', 'diff', 'c'))).toBe('');
    const ls = JSON.parse(ok(cli('container', 'ls', '--json')));
    expect(ls.map((x: { name: string }) => x.name)).toEqual(['a', 'b', 'c']);
    expect(ls[2].image).toMatchObject({ layout, tag: 'v2' });
  });

  it('bad input: stable codes and exit statuses, nothing changed', () => {
    fails(cli('container', 'diff', 'nope'), 3, 'ERR_CONTAINER_NOT_FOUND');
    fails(cli('container', 'rm', 'nope'), 3, 'ERR_CONTAINER_NOT_FOUND');
    fails(cli('container', 'commit', 'nope', `${layout}:x`), 3, 'ERR_CONTAINER_NOT_FOUND');
    fails(cli('container', 'create', `${layout}:base`, '--name', 'a'), 3, 'ERR_CONTAINER_EXISTS');
    fails(cli('container', 'create', `${layout}:base`, '--name=-bad/name'), 3, 'ERR_INVALID_ARG');
    fails(cli('container', 'create', `${layout}:nosuchtag`, '--name', 'z'), 3, 'ERR_TAG_NOT_FOUND');
    fails(cli('container', 'create', `${work}/not-a-layout:base`, '--name', 'z'), 3, 'ERR_NOT_A_LAYOUT');
    fails(cli('container', 'commit', 'a', `${layout}:bad tag!`), 3, 'ERR_INVALID_TAG');
    fails(cli('container', 'commit', 'a', `${layout}:-x`), 3, 'ERR_INVALID_TAG');
    fails(cli('snapshots', 'rm', 'container/b'), 3, 'ERR_CONTAINER_SNAPSHOT');
    fails(cli('snapshots', 'rm', chain), 3, 'ERR_SNAPSHOT_HAS_CHILDREN');
    fails(cli('container', 'rm-path', 'a', '../../etc'), 7, 'ERR_SNAPSHOT_PATH');
    expect(cli('container', 'commit', 'a').status).toBe(2);
    expect(cli('container', 'frob').status).toBe(2);
    expect(cli('container', '--help').stdout).toContain('hardlink');
    expect(JSON.parse(ok(cli('container', 'ls', '--json'))).length).toBe(3);
    checkClean();
  });

  it('rm leaves the image snapshots and the other containers; store gc then removes unused layer snapshots', () => {
    const b = ok(cli('container', 'path', 'b')).trim();
    const before = scan(b);
    ok(cli('container', 'rm', 'a'));
    checkClean();
    expect(fs.existsSync(b)).toBe(true);
    expect(compareTrees(before, scan(b))).toEqual([]);
    expect(JSON.parse(ok(cli('snapshots', 'info', chain))).kind).toBe('committed');
    expect(JSON.parse(ok(cli('container', 'ls', '--json'))).map((x: { name: string }) => x.name)).toEqual(['b', 'c']);
    // Both layer snapshots are in use: gc removes nothing.
    expect(JSON.parse(ok(cli('store', 'gc', '--json')))).toEqual([]);
    ok(cli('container', 'rm', 'c'));
    const v2top = JSON.parse(ok(cli('image', 'inspect', `${layout}:v2`))).layers[1].chainID;
    expect(JSON.parse(ok(cli('store', 'gc', '--json')))).toEqual([v2top]);
    checkClean();
    ok(cli('container', 'rm', 'b'));
    expect(JSON.parse(ok(cli('store', 'gc', '--json')))).toEqual([chain]);
    expect(JSON.parse(ok(cli('snapshots', 'ls', '--json')))).toEqual([]);
    checkClean();
  });

  it('an interrupted create or rm (snapshot without record) is a leftover that create or check --repair removes', () => {
    ok(cli('container', 'create', `${layout}:base`, '--name', 'x'));
    ok(cli('container', 'create', `${layout}:base`, '--name', 'y'));
    // What a kill between the two steps leaves: the labelled snapshot, no record.
    fs.rmSync(join(store, 'containers', 'x.json'));
    fs.rmSync(join(store, 'containers', 'y.json'));
    const r = JSON.parse(ok(cli('store', 'check', '--json')));
    expect(r.errors).toEqual([]);
    expect(r.leftovers.map((l: { kind: string }) => l.kind)).toEqual(['orphan-container-snapshot', 'orphan-container-snapshot']);
    ok(cli('container', 'create', `${layout}:base`, '--name', 'x')); // takes the name back
    expect(JSON.parse(ok(cli('store', 'check', '--repair', '--json'))).repaired).toBe(1);
    checkClean();
    expect(JSON.parse(ok(cli('snapshots', 'ls', '--json'))).map((s: { key: string }) => s.key)).toEqual(['container/x', chain]);
    // A record whose snapshot is gone is an error.
    const meta = fs.readdirSync(join(store, 'meta')).find((n) => n.startsWith('container'))!;
    const saved = fs.readFileSync(join(store, 'meta', meta));
    fs.rmSync(join(store, 'meta', meta));
    const bad = cli('store', 'check');
    fails(bad, 6, 'ERR_STORE_CORRUPT');
    expect(bad.stdout).toMatch(/error container-snapshot: container "x": its snapshot "container\/x" is missing/);
    fs.writeFileSync(join(store, 'meta', meta), saved);
    ok(cli('container', 'rm', 'x'));
    checkClean();
  });

  it('commit clamps mtimes and dates with --source-date-epoch: the same changes give the same layer', () => {
    ok(cli('container', 'create', `${layout}:base`, '--name', 'p'));
    ok(cli('container', 'create', `${layout}:base`, '--name', 'q'));
    for (const n of ['p', 'q']) {
      fs.writeFileSync(join(work, 'f'), 'same\n');
      fs.utimesSync(join(work, 'f'), T2, T2);
      ok(cli('container', 'cp', join(work, 'f'), `${n}:etc/f`));
    }
    const lp = JSON.parse(ok(cli('container', 'commit', 'p', `${layout}:p`, '--source-date-epoch', '1650000000', '--json')));
    const lq = JSON.parse(ok(cli('container', 'commit', 'q', `${layout}:q`, '--source-date-epoch', '1650000000', '--json')));
    expect(lp.layer.digest).toBe(lq.layer.digest);
    // The configs differ only in created_by (the container's name).
    const hp = JSON.parse(ok(cli('image', 'inspect', `${layout}:p`))).history.at(-1);
    const hq = JSON.parse(ok(cli('image', 'inspect', `${layout}:q`))).history.at(-1);
    expect(hp).toEqual({ ...hq, created_by: 'layerkit container commit p' });
    expect(hp.created).toBe('2022-04-15T05:20:00Z');
    ok(cli('container', 'rm', 'p', 'q'));
    checkClean();
  });
});
