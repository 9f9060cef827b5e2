// `layerkit container create --union` as users run it (the built CLI): a union container and a
// farm container on the same two-layer image get the same writes; their diffs and the unpacked
// committed images are equal (and equal the ops applied to a copy of the tree); two union
// containers are independent; path refuses with ERR_UNSUPPORTED; rm removes the upper; the layer
// cache is shared, its index and the image's lower table reused (a damaged table rebuilt or refused); `store check` is clean after every step; gc drops unused
// cache entries. Needs root (owners in the trees).
import { describe, it, expect, beforeAll } from 'vitest';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { cliHarness } from './harness.ts';
import { makeTree, scan, compareTrees, dir, file, symlink, hardlink, type TreeSpec } from '../fixtures/trees.ts';

const { work, store, layout, cli, ok, fails, checkClean } = cliHarness('layerkit-union-ct-');

const BASE: TreeSpec = {
  '.': dir(),
  'etc/hosts': file('127.0.0.1 localhost\n'),
  'etc/passwd': file('root:x:0:0::/root:/bin/sh\n', { mode: 0o644 }),
  'usr/bin/tool': file('#!/bin/sh\necho tool\n', { mode: 0o755 }),
  'usr/bin/tool2': hardlink('usr/bin/tool'),
  'usr/lib/libx.so.1': file('ELF-ish bytes\n'),
  'usr/lib/libx.so': symlink('libx.so.1'),
  'var/lib/app/state': file('state 1\n', { uid: 1000, gid: 1000 }),
  'var/lib/app/deep/er/file': file('deep\n'),
  'home/user': dir({ uid: 1000, gid: 1000, mode: 0o700 }),
  'home/user/.profile': file('export A=1\n', { uid: 1000, gid: 1000 }),
  'home/user/docs/a.txt': file('a\n', { uid: 1000, gid: 1000 }),
};

/** The second layer: one file changed, one added, one deleted. */
function top(root: string): void {
  fs.writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/bash\n');
  fs.utimesSync(join(root, 'etc/passwd'), 1_600_000_000, 1_600_000_000);
  fs.writeFileSync(join(root, 'usr/lib/libx.so.2'), 'v2\n');
  fs.utimesSync(join(root, 'usr/lib/libx.so.2'), 1_600_000_000, 1_600_000_000);
  fs.rmSync(join(root, 'var/lib/app/state'));
}

/** The same writes, through the CLI, in container `name`; and on a host copy `tree` (expected). */
function writes(name: string): void {
  ok(cli('container', 'cp', join(work, 'new.conf'), `${name}:/etc/new.conf`));
  ok(cli('container', 'cp', join(work, 'hosts'), `${name}:etc/hosts`));
  // larger than cp's 1 MiB chunk: a new file, and over a lower file
  ok(cli('container', 'cp', join(work, 'big.bin'), `${name}:etc/big.bin`));
  ok(cli('container', 'cp', join(work, 'big.bin'), `${name}:usr/lib/libx.so.1`));
  ok(cli('container', 'rm-path', name, '/usr/bin/tool2'));
  ok(cli('container', 'rm-path', name, 'var/lib/app/deep'));
  ok(cli('container', 'mkdir', name, '/srv'));
  ok(cli('container', 'mv', name, 'home/user', 'home/user2'));
}
function writesOnHost(tree: string): void {
  fs.copyFileSync(join(work, 'new.conf'), join(tree, 'etc/new.conf'));
  fs.utimesSync(join(tree, 'etc/new.conf'), 1_500_000_000, 1_500_000_000);
  fs.rmSync(join(tree, 'etc/hosts'));
  fs.copyFileSync(join(work, 'hosts'), join(tree, 'etc/hosts'));
  fs.utimesSync(join(tree, 'etc/hosts'), 1_500_000_000, 1_500_000_000);
  fs.copyFileSync(join(work, 'big.bin'), join(tree, 'etc/big.bin'));
  fs.utimesSync(join(tree, 'etc/big.bin'), 1_500_000_000, 1_500_000_000);
  fs.writeFileSync(join(tree, 'usr/lib/libx.so.1'), fs.readFileSync(join(work, 'big.bin')));
  fs.chmodSync(join(tree, 'usr/lib/libx.so.1'), 0o640);
  fs.utimesSync(join(tree, 'usr/lib/libx.so.1'), 1_500_000_000, 1_500_000_000);
  fs.rmSync(join(tree, 'usr/bin/tool2'));
  fs.rmSync(join(tree, 'var/lib/app/deep'), { recursive: true });
  fs.mkdirSync(join(tree, 'srv'));
  fs.renameSync(join(tree, 'home/user'), join(tree, 'home/user2'));
}

const unpack = (tag: string, out: string) => ok(cli('image', 'unpack', `${layout}:${tag}`, out));
const cacheDir = join(store, 'union/cache');
/** Directory mtimes are left out of tree comparisons: creating a name touches its parent's. */
function compare(want: string, got: string): string[] {
  const a = scan(want);
  const b = scan(got);
  const dirs = new Set([...a].filter(([, n]) => n.type === 'dir').map(([p]) => p));
  return compareTrees(a, b, { ignoreMtime: dirs });
}

beforeAll(() => {
  makeTree(join(work, 'base'), BASE);
  fs.mkdirSync(join(work, 'empty'));
  fs.cpSync(join(work, 'base'), join(work, 'top'), { recursive: true, preserveTimestamps: true });
  top(join(work, 'top'));
  fs.writeFileSync(join(work, 'new.conf'), 'new = 1\n');
  fs.utimesSync(join(work, 'new.conf'), 1_500_000_000, 1_500_000_000);
  fs.writeFileSync(join(work, 'hosts'), '10.0.0.1 db\n');
  fs.utimesSync(join(work, 'hosts'), 1_500_000_000, 1_500_000_000);
  // 2.5 MiB + 7 of bytes that do not repeat at any chunk boundary
  const big = Buffer.alloc(5 * 512 * 1024 + 7);
  for (let i = 0, x = 1; i < big.length; i++) big[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  fs.writeFileSync(join(work, 'big.bin'), big, { mode: 0o640 });
  fs.chmodSync(join(work, 'big.bin'), 0o640);
  fs.utimesSync(join(work, 'big.bin'), 1_500_000_000, 1_500_000_000);
  ok(cli('image', 'init', layout));
  ok(cli('image', 'add-layer', '-q', `${layout}:base`, '--diff', join(work, 'empty'), join(work, 'base')));
  ok(cli('image', 'add-layer', '-q', `${layout}:img`, '--base', 'base', '--diff', join(work, 'base'), join(work, 'top')));
});

describe('layerkit container --union', () => {
  it('create is a record and an empty upper: no snapshot, nothing decompressed yet', () => {
    expect(ok(cli('container', 'create', `${layout}:img`, '--union', '--name', 'u')).trim()).toBe('u');
    checkClean();
    expect(JSON.parse(ok(cli('snapshots', 'ls', '--json')))).toEqual([]);
    expect(fs.readdirSync(join(store, 'union/containers/u/upper'))).toEqual([]);
    expect(fs.existsSync(cacheDir)).toBe(false);
    const ls = JSON.parse(ok(cli('container', 'ls', '--json')));
    expect(ls).toMatchObject([{ name: 'u', kind: 'union', upper: 'union/containers/u/upper' }]);
    expect(ls[0].layers.length).toBe(2);
    expect(ok(cli('container', 'ls'))).toMatch(/^u +union /m);
  });

  it('the first write fills the cache (tar + index per compressed layer, the image\'s lower table); a second union container reuses it', () => {
    ok(cli('container', 'mkdir', 'u', '/srv-probe'));
    const names = fs.readdirSync(cacheDir).sort();
    expect(names.filter((n) => n.endsWith('.tar')).length).toBe(2);
    expect(names.filter((n) => n.endsWith('.idx')).length).toBe(2);
    const chainID = JSON.parse(ok(cli('container', 'ls', '--json'))).find((c: { name: string }) => c.name === 'u').image.chainID as string;
    expect(names.filter((n) => n.endsWith('.lower'))).toEqual([`${chainID.slice('sha256:'.length)}.lower`]);
    expect(names.filter((n) => n.startsWith('.tmp-')).length).toBe(0);
    const before = new Map(names.map((n) => [n, fs.statSync(join(cacheDir, n)).mtimeMs]));
    ok(cli('container', 'rm-path', 'u', '/srv-probe'));
    ok(cli('container', 'create', `${layout}:img`, '--union', '--name', 'u2'));
    ok(cli('container', 'diff', 'u2'));
    // Nothing rewritten: the same files, untouched.
    expect(new Map(fs.readdirSync(cacheDir).sort().map((n) => [n, fs.statSync(join(cacheDir, n)).mtimeMs]))).toEqual(before);
    checkClean();
  });

  it('a later open reads the lower table, not the indexes; a damaged table is rebuilt, a damaged page refused with ERR_STORE_CORRUPT', () => {
    const idx = fs.readdirSync(cacheDir).find((n) => n.endsWith('.idx'))!;
    const table = join(cacheDir, fs.readdirSync(cacheDir).find((n) => n.endsWith('.lower'))!);
    const damagedIdx = '{"format":"layerkit.tar-index","version":1}';
    fs.writeFileSync(join(cacheDir, idx), damagedIdx);
    expect(ok(cli('container', 'diff', 'u2'))).toBe('');
    expect(fs.readFileSync(join(cacheDir, idx), 'utf8')).toBe(damagedIdx); // not read: the table answered
    const good = fs.readFileSync(table);
    // A damaged trailer: the table does not open, so it is resolved again from the layers (and the index rebuilt).
    fs.writeFileSync(table, good.subarray(0, good.length - 3));
    expect(ok(cli('container', 'diff', 'u2'))).toBe('');
    expect(fs.readFileSync(table)).toEqual(good);
    expect(JSON.parse(fs.readFileSync(join(cacheDir, idx), 'utf8')).entries.length).toBeGreaterThan(0);
    // A damaged page: the header is fine, the page's checksum is not.
    const bad = Buffer.from(good);
    bad[12] = bad[12]! ^ 0xff;
    fs.writeFileSync(table, bad);
    // (diff of an empty upper asks the lower stack nothing, so it would not notice: pages are read on demand.)
    expect(ok(cli('container', 'diff', 'u2'))).toBe('');
    const r = cli('container', 'mkdir', 'u2', '/etc/probe');
    fails(r, 6, 'ERR_STORE_CORRUPT');
    expect(r.stderr).toContain(table);
    expect(r.stderr).toContain('delete the file');
    fs.rmSync(table);
    expect(ok(cli('container', 'diff', 'u2'))).toBe(''); // the failed mkdir left nothing
    ok(cli('container', 'mkdir', 'u2', '/etc/probe'));
    ok(cli('container', 'rm-path', 'u2', '/etc/probe'));
    expect(fs.readFileSync(table)).toEqual(good);
    checkClean();
  });

  it('the same writes in a farm and a union container: the same diff', () => {
    ok(cli('container', 'create', `${layout}:img`, '--name', 'f'));
    writes('f');
    writes('u');
    checkClean();
    const fd = JSON.parse(ok(cli('container', 'diff', 'f', '--json')));
    const ud = JSON.parse(ok(cli('container', 'diff', 'u', '--json')));
    expect(ud).toEqual(fd);
    expect(ok(cli('container', 'diff', 'u'))).toBe(ok(cli('container', 'diff', 'f')));
    expect(ok(cli('container', 'diff', 'u'))).toContain('D /usr/bin/tool2');
    // The upper holds the changes only, aufs-style.
    const upper = join(store, 'union/containers/u/upper');
    expect(fs.existsSync(join(upper, 'usr/bin/.wh.tool2'))).toBe(true);
    expect(fs.existsSync(join(upper, 'var/lib/app/.wh.deep'))).toBe(true);
    expect(fs.existsSync(join(upper, 'home/.wh.user'))).toBe(true);
    expect(fs.existsSync(join(upper, 'usr/bin/tool'))).toBe(false);
    expect(fs.existsSync(join(upper, 'usr/lib/libx.so'))).toBe(false);
    expect(fs.statSync(join(upper, 'usr/lib/libx.so.1')).size).toBe(fs.statSync(join(work, 'big.bin')).size);
  });

  it('two union containers on one image are independent', () => {
    expect(ok(cli('container', 'diff', 'u2'))).toBe('');
    ok(cli('container', 'cp', join(work, 'hosts'), 'u2:/root-note'));
    expect(ok(cli('container', 'diff', 'u2'))).toBe('A /root-note\n');
    expect(ok(cli('container', 'diff', 'u'))).not.toContain('root-note');
  });

  it('commit: the unpacked image equals the farm container\'s committed image and the ops applied to a copy', () => {
    const fdig = ok(cli('container', 'commit', 'f', `${layout}:from-farm`, '--source-date-epoch', '1700000000')).trim();
    const udig = ok(cli('container', 'commit', 'u', `${layout}:from-union`, '--source-date-epoch', '1700000000', '-m', 'union')).trim();
    expect(udig).toMatch(/^sha256:[0-9a-f]{64}$/);
    checkClean();
    const img = JSON.parse(ok(cli('image', 'inspect', `${layout}:from-union`)));
    expect(img.layers.length).toBe(3);
    expect(img.history.at(-1)).toMatchObject({ created_by: 'layerkit container commit u', comment: 'union' });
    expect(fdig).toMatch(/^sha256:/);
    unpack('from-farm', join(work, 'out-farm'));
    unpack('from-union', join(work, 'out-union'));
    const expected = join(work, 'expected');
    fs.cpSync(join(work, 'top'), expected, { recursive: true, preserveTimestamps: true });
    writesOnHost(expected);
    // fs.cpSync does not keep a symlink's mtime.
    const l = fs.lstatSync(join(work, 'top/usr/lib/libx.so'));
    fs.lutimesSync(join(expected, 'usr/lib/libx.so'), l.atime, l.mtime);
    expect(compare(expected, join(work, 'out-union'))).toEqual([]);
    expect(compare(join(work, 'out-farm'), join(work, 'out-union'))).toEqual([]);
    // A container on the committed image sees no change.
    ok(cli('container', 'create', `${layout}:from-union`, '--union', '--name', 'u3'));
    expect(ok(cli('container', 'diff', 'u3'))).toBe('');
  });

  it('path refuses with ERR_UNSUPPORTED (exit 5) and names the alternatives', () => {
    const r = cli('container', 'path', 'u');
    fails(r, 5, 'ERR_UNSUPPORTED');
    expect(r.stderr).toContain('container cp|rm-path|mkdir|mv|diff|commit');
  });

  it('bad writes: stable codes, nothing changed', () => {
    const before = ok(cli('container', 'diff', 'u2'));
    fails(cli('container', 'mkdir', 'u2', '/no/such/dir'), 4, 'ERR_IO');
    // The view keeps ".wh." names for its own markers (a farm container would take it).
    fails(cli('container', 'mkdir', 'u2', '/etc/.wh.x'), 3, 'ERR_WHITEOUT_NAME');
    fails(cli('container', 'rm-path', 'u2', '/etc/none'), 4, 'ERR_IO');
    expect(ok(cli('container', 'diff', 'u2'))).toBe(before);
  });

  it('rm removes the record and the upper; gc drops cache entries no union container uses', () => {
    const layers = JSON.parse(ok(cli('container', 'ls', '--json'))).find((c: { name: string }) => c.name === 'u3').layers as string[];
    for (const n of ['u', 'u2', 'u3']) ok(cli('container', 'rm', n));
    expect(fs.existsSync(join(store, 'union/containers/u'))).toBe(false);
    expect(fs.readdirSync(join(store, 'union/containers'))).toEqual([]);
    checkClean();
    ok(cli('container', 'create', `${layout}:base`, '--union', '--name', 'keep'));
    const removed = JSON.parse(ok(cli('store', 'gc', '--json'))) as string[];
    expect(removed.filter((p) => p.endsWith('.lower')).length).toBe(2); // img's and from-union's tables
    const keep = layers[0]!.slice('sha256:'.length);
    // The base layer stays (used by "keep"), the others go.
    expect(removed.filter((p) => p.includes(keep))).toEqual([]);
    expect(fs.readdirSync(cacheDir).sort()).toEqual([`${keep}.idx`, `${keep}.tar`]);
    checkClean();
  });

  it('store check reports a union directory without a record as a leftover; --repair removes it', () => {
    fs.mkdirSync(join(store, 'union/containers/ghost/upper'), { recursive: true });
    const r = JSON.parse(ok(cli('store', 'check', '--json')));
    expect(r.leftovers.map((l: { kind: string }) => l.kind)).toEqual(['orphan-union-upper']);
    ok(cli('store', 'check', '--repair'));
    checkClean();
  });
});
