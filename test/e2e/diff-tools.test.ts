// End-to-end proof of `layerkit diff` / `layerkit changes` against real tools (issue 3, item 5).
// The built CLI (`node bin/layerkit.js`) runs on a pair of trees OLD/NEW that this file builds
// declaratively, with explicit owners, modes and mtimes; then GNU tar, bsdtar, umoci and rsync
// judge the result, and Deno runs the same library code to compare bytes.
//
// Needs: root (owners, setuid bits; CI runs as root), GNU tar, bsdtar (libarchive-tools), umoci,
// rsync, zstd, gzip, setpriv (util-linux); .ci/install-system.sh installs them.
//
// The fixture pair covers: added / changed / deleted files, a deleted directory tree, a directory
// replaced by a file and a file by a directory, a retargeted symlink, chmod only, chown only, the
// same size with new content and the same whole-second mtime (content must be compared), a
// hardlink joining an unchanged file (that file must travel too), a new hardlink pair, a setuid
// file, a sub-second mtime (truncated, never rounded), a directory whose only change is its mtime
// (never listed, never written), a socket in NEW (skipped), and a directory emptied of all its
// children (an opaque marker instead of three whiteouts).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync, execFileSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { readTar, paxRecords } from '../fixtures/tools.ts';
import { makeTree, scan, compareTrees, file, dir, symlink, hardlink, socket, T, T2, EPOCH, type TreeSpec, type Node } from '../fixtures/trees.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/layerkit.js');
const DENO = join(ROOT, 'node_modules/.bin/deno');
const ENV: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'SOURCE_DATE_EPOCH') ENV[k] = v;
Object.assign(ENV, { TZ: 'UTC', LC_ALL: 'C.UTF-8' });

/** Run the built CLI; `as` runs it through a privilege-dropping prefix (setpriv ...). */
function cli(args: string[], opts: { env?: Record<string, string>; as?: string[] } = {}): SpawnSyncReturns<string> {
  const argv = [...(opts.as ?? []), process.execPath, BIN, ...args];
  return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...ENV, ...opts.env } });
}

function ok(r: SpawnSyncReturns<string>): string {
  if (r.status !== 0) throw new Error(`exit ${r.status} (${r.signal ?? ''}): ${r.stderr}`);
  return r.stdout;
}

function tool(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', env: ENV, cwd: opts.cwd, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// Declarative trees, scan and compare: test/fixtures/trees.ts (shared with the image tests).

// ---------------------------------------------------------------------------------------------
// The fixture pair
// ---------------------------------------------------------------------------------------------

const BIG = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31 + (i >> 8)) & 255));

const OLD: TreeSpec = {
  '.': dir({ mtime: T }),
  etc: dir({ mtime: T }),
  'etc/hosts': file('127.0.0.1 localhost\n'),
  'etc/passwd': file('root:x:0:0:root:/root:/bin/sh\n'),
  'etc/mode': file('chmod me\n', { mode: 0o644 }),
  'etc/owner': file('chown me\n'),
  'etc/same': file('AAAA\n', { mtime: T }),
  'etc/gone': file('delete me\n'),
  'etc/frac': file('sub-second mtime, unchanged\n', { mtime: T + 0.5 }),
  'usr/bin/tool': file('#!/bin/sh\necho tool\n', { mode: 0o755 }),
  'usr/share/doc/pkg/README': file('readme\n'),
  'usr/share/doc/pkg/copyright': file('copyright\n'),
  'usr/share/doc/pkg/examples/ex1': file('example\n'),
  'usr/share/doc/keep/README': file('kept\n'),
  d2f: dir(),
  'd2f/child': file('child of a dir that becomes a file\n'),
  f2d: file('a file that becomes a dir\n'),
  link: symlink('etc/hosts'),
  'abs-link': symlink('/usr/bin/tool'),
  'var/lib/state': dir({ mtime: T }),
  'var/lib/state/db': file('db\n'),
  'var/cache/emptied': dir(),
  'var/cache/emptied/a': file('a\n'),
  'var/cache/emptied/b': file('b\n'),
  'var/cache/emptied/c': file('c\n'),
  run: dir(),
  'home/user': dir({ mode: 0o700, uid: 1000, gid: 1000 }),
  'home/user/notes': file('v1\n', { mode: 0o600, uid: 1000, gid: 1000 }),
};

const GONE = ['etc/gone', 'usr/share/doc/pkg/README', 'usr/share/doc/pkg/copyright', 'usr/share/doc/pkg/examples/ex1',
  'd2f/child', 'var/cache/emptied/a', 'var/cache/emptied/b', 'var/cache/emptied/c'];

const NEW: TreeSpec = {
  ...Object.fromEntries(Object.entries(OLD).filter(([p]) => !GONE.includes(p))),
  etc: dir({ mtime: T2 }),
  'etc/hosts': file('127.0.0.1 localhost\n::1 localhost\n', { mtime: T2 }),
  'etc/mode': file('chmod me\n', { mode: 0o600 }), // chmod only
  'etc/owner': file('chown me\n', { uid: 1000, gid: 1000 }), // chown only
  'etc/same': file('BBBB\n', { mtime: T }), // same size, same whole-second mtime, new bytes
  'usr/bin': dir({ mtime: T2 }),
  'usr/bin/tool-alias': hardlink('usr/bin/tool'), // joins an unchanged file
  'usr/bin/suid': file('suid\n', { mode: 0o4755, mtime: T2 }),
  'usr/share/doc': dir({ mtime: T2 }),
  d2f: file('now a file\n', { mtime: T2 }),
  f2d: dir({ mtime: T2 }),
  'f2d/inside': file('inside\n', { mtime: T2 }),
  link: symlink('etc/passwd', { mtime: T2 }),
  'var/lib/state': dir({ mtime: T2 }), // only its mtime changes
  'var/cache/emptied': dir({ mtime: T2 }),
  run: dir({ mtime: T2 }),
  'run/app.sock': socket({ mtime: T2 }),
  'opt/app': dir({ mtime: T2 }),
  'opt/app/bin/app': file('#!/bin/sh\necho app\n', { mode: 0o755, uid: 1000, gid: 1000, mtime: T2 }),
  'opt/app/bin/app2': hardlink('opt/app/bin/app'),
  'opt/app/data.txt': file(BIG, { mtime: T2 }),
  'opt/app/empty': dir({ mtime: T2 }),
  'home/user/notes': file('v2, longer\n', { mode: 0o600, uid: 1000, gid: 1000, mtime: T2 + 0.75 }),
};

/** What `layerkit changes` must report (docker diff style). */
const EXPECTED_CHANGES = {
  added: ['/f2d/inside', '/opt', '/opt/app', '/opt/app/bin', '/opt/app/bin/app', '/opt/app/bin/app2', '/opt/app/data.txt',
    '/opt/app/empty', '/usr/bin/suid', '/usr/bin/tool-alias'],
  changed: ['/d2f', '/etc/hosts', '/etc/mode', '/etc/owner', '/etc/same', '/f2d', '/home/user/notes', '/link'],
  deleted: ['/etc/gone', '/usr/share/doc/pkg', '/var/cache/emptied/a', '/var/cache/emptied/b', '/var/cache/emptied/c'],
};

/**
 * The layer, entry by entry, in archive order: type (tar -tv letter), mode, uid, gid, size,
 * mtime (s), name, link target. Parents carry NEW's metadata (G4); whiteouts are mode 0, mtime 0
 * (G10); usr/bin/tool is unchanged but travels because a new name joined its inode (G5); run/ and
 * var/lib/state/ (mtime-only) and run/app.sock (socket, G9) are absent; home/user/notes' mtime
 * T2 + 0.75 is truncated to T2 (G7).
 */
type LayerLine = [type: string, mode: number, uid: number, gid: number, size: number, mtime: number, name: string, link?: string];
const EXPECTED_LAYER: LayerLine[] = [
  ['-', 0o644, 0, 0, 11, T2, 'd2f'],
  ['d', 0o755, 0, 0, 0, T2, 'etc/'],
  ['-', 0o000, 0, 0, 0, 0, 'etc/.wh.gone'],
  ['-', 0o644, 0, 0, 34, T2, 'etc/hosts'],
  ['-', 0o600, 0, 0, 9, T, 'etc/mode'],
  ['-', 0o644, 1000, 1000, 9, T, 'etc/owner'],
  ['-', 0o644, 0, 0, 5, T, 'etc/same'],
  ['d', 0o755, 0, 0, 0, T2, 'f2d/'],
  ['-', 0o644, 0, 0, 7, T2, 'f2d/inside'],
  ['d', 0o755, 0, 0, 0, T, 'home/'],
  ['d', 0o700, 1000, 1000, 0, T, 'home/user/'],
  ['-', 0o600, 1000, 1000, 11, T2, 'home/user/notes'],
  ['l', 0o777, 0, 0, 0, T2, 'link', 'etc/passwd'],
  ['d', 0o755, 0, 0, 0, T, 'opt/'],
  ['d', 0o755, 0, 0, 0, T2, 'opt/app/'],
  ['d', 0o755, 0, 0, 0, T, 'opt/app/bin/'],
  ['-', 0o755, 1000, 1000, 19, T2, 'opt/app/bin/app'],
  ['h', 0o755, 1000, 1000, 0, T2, 'opt/app/bin/app2', 'opt/app/bin/app'],
  ['-', 0o644, 0, 0, 70_000, T2, 'opt/app/data.txt'],
  ['d', 0o755, 0, 0, 0, T2, 'opt/app/empty/'],
  ['d', 0o755, 0, 0, 0, T, 'usr/'],
  ['d', 0o755, 0, 0, 0, T2, 'usr/bin/'],
  ['-', 0o4755, 0, 0, 5, T2, 'usr/bin/suid'],
  ['-', 0o755, 0, 0, 20, T, 'usr/bin/tool'],
  ['h', 0o755, 0, 0, 0, T, 'usr/bin/tool-alias', 'usr/bin/tool'],
  ['d', 0o755, 0, 0, 0, T, 'usr/share/'],
  ['d', 0o755, 0, 0, 0, T2, 'usr/share/doc/'],
  ['-', 0o000, 0, 0, 0, 0, 'usr/share/doc/.wh.pkg'],
  ['d', 0o755, 0, 0, 0, T, 'var/'],
  ['d', 0o755, 0, 0, 0, T, 'var/cache/'],
  ['d', 0o755, 0, 0, 0, T2, 'var/cache/emptied/'],
  ['-', 0o000, 0, 0, 0, 0, 'var/cache/emptied/.wh..wh..opq'],
];

/** `ls -l` style mode string, as both tars print it. */
function modeString(type: string, mode: number): string {
  const bit = (m: number, c: string) => (mode & m ? c : '-');
  const x = (m: number, s: number, set: string) => (mode & s ? (mode & m ? set : set.toUpperCase()) : mode & m ? 'x' : '-');
  return type + bit(0o400, 'r') + bit(0o200, 'w') + x(0o100, 0o4000, 's') + bit(0o40, 'r') + bit(0o20, 'w') + x(0o10, 0o2000, 's')
    + bit(0o4, 'r') + bit(0o2, 'w') + x(0o1, 0o1000, 't');
}

const iso = (s: number) => new Date(s * 1000).toISOString().replace('T', ' ').slice(0, 19);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** bsdtar's date for times more than six months away: "Nov 14  2023". */
const bsdDate = (s: number) => {
  const d = new Date(s * 1000);
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')}  ${d.getUTCFullYear()}`;
};

function gnuListing(lines: LayerLine[]): string[] {
  return lines.map(([t, mode, uid, gid, size, mtime, name, link]) => {
    const tail = link === undefined ? '' : t === 'h' ? ` link to ${link}` : ` -> ${link}`;
    return `${modeString(t === 'h' ? 'h' : t, mode)} ${uid}/${gid} ${size} ${iso(mtime)} ${name}${tail}`;
  });
}

function bsdListing(lines: LayerLine[]): string[] {
  return lines.map(([t, mode, uid, gid, size, mtime, name, link]) => {
    const tail = link === undefined ? '' : t === 'h' ? ` link to ${link}` : ` -> ${link}`;
    return `${modeString(t, mode)} 0 ${uid} ${gid} ${size} ${bsdDate(mtime)} ${name}${tail}`;
  });
}

/** Collapse runs of blanks: the tars pad columns to widths that depend on the longest value. */
const squeeze = (out: string) => out.trimEnd().split('\n').map((l) => l.replace(/ +/g, ' '));
const squeezeExpected = (lines: string[]) => lines.map((l) => l.replace(/ +/g, ' '));

// ---------------------------------------------------------------------------------------------

let work: string;
let oldDir: string;
let newDir: string;
let newScan: Map<string, Node>;
/** One layer per compression, made once: name -> { path, digest }. */
const layers: Record<'none' | 'gzip' | 'zstd', { path: string; digest: string }> = {} as never;
const LAYER_FILE = { none: 'layer.tar', gzip: 'layer.tar.gz', zstd: 'layer.tar.zst' } as const;

beforeAll(() => {
  work = fs.mkdtempSync(join(tmpdir(), 'layerkit-e2e-'));
  fs.chmodSync(work, 0o755); // the unprivileged cases (setpriv) must be able to traverse it
  oldDir = join(work, 'old');
  newDir = join(work, 'new');
  makeTree(oldDir, OLD);
  makeTree(newDir, NEW);
  newScan = scan(newDir);
  for (const c of ['none', 'gzip', 'zstd'] as const) {
    const path = join(work, LAYER_FILE[c]);
    // compression from the file name (.tar / .tar.gz / .tar.zst)
    const digest = ok(cli(['diff', '-q', oldDir, newDir, '-o', path])).trim();
    layers[c] = { path, digest };
  }
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('the fixture', () => {
  it('is built as specified (mtimes, modes, owners, hardlinks, socket)', () => {
    const o = scan(oldDir);
    expect(o.get('var/lib/state')!.mtime).toBe(T);
    expect(newScan.get('var/lib/state')!.mtime).toBe(T2);
    expect(fs.lstatSync(join(newDir, 'home/user/notes'), { bigint: true }).mtimeNs).toBe(BigInt(T2) * 1_000_000_000n + 750_000_000n);
    expect(newScan.get('usr/bin/suid')!.mode).toBe(0o4755);
    expect(newScan.get('etc/owner')!.uid).toBe(1000);
    expect(newScan.get('usr/bin/tool-alias')!.links).toEqual(['usr/bin/tool', 'usr/bin/tool-alias']);
    expect(o.get('usr/bin/tool')!.links).toBeUndefined();
    expect(newScan.get('run/app.sock')!.type).toBe('socket');
    expect(o.get('etc/same')!.size).toBe(newScan.get('etc/same')!.size);
    expect(o.get('etc/same')!.sha).not.toBe(newScan.get('etc/same')!.sha);
  });
});

describe('GNU tar and bsdtar read the layer', () => {
  const gnuExpected = squeezeExpected(gnuListing(EXPECTED_LAYER));
  const bsdExpected = squeezeExpected(bsdListing(EXPECTED_LAYER));
  const gnuFlags = { none: [[]], gzip: [['-z'], []], zstd: [['--zstd'], []] } as const;

  for (const c of ['none', 'gzip', 'zstd'] as const) {
    it(`GNU tar lists the ${c} layer: names, types, modes, owners, sizes, mtimes, link targets`, () => {
      for (const flags of gnuFlags[c]) {
        // [] = GNU tar detects the compression itself
        const out = tool('tar', [...flags, '-tv', '--numeric-owner', '--full-time', '-f', layers[c].path]);
        expect(squeeze(out), `tar ${flags.join(' ')}`).toEqual(gnuExpected);
      }
    });

    it(`bsdtar lists the ${c} layer`, () => {
      const out = tool('bsdtar', ['-tv', '--numeric-owner', '-f', layers[c].path]);
      expect(squeeze(out)).toEqual(bsdExpected);
    });

    it(`GNU tar and bsdtar extract the ${c} layer to NEW's files`, () => {
      for (const [name, args] of [['gnu', ['tar', '-x', '--numeric-owner', '-p']], ['bsd', ['bsdtar', '-x', '--numeric-owner', '-p']]] as const) {
        const dest = join(work, `x-${c}-${name}`);
        fs.mkdirSync(dest);
        tool(args[0], [...args.slice(1), '-f', layers[c].path, '-C', dest]);
        const got = scan(dest);
        // Whiteouts are plain empty files to a tar, and the extraction root is ours, not an
        // entry; every other extracted path must equal NEW's.
        for (const p of got.keys()) if (p === '.' || /(^|\/)\.wh\./.test(p)) got.delete(p);
        const diffs = compareTrees(newScan, got, { partial: true });
        expect(diffs, name).toEqual([]);
        // what the tar holds, nothing more
        expect([...got.keys()].sort()).toEqual(
          EXPECTED_LAYER.map((l) => l[6].replace(/\/$/, '')).filter((p) => !/(^|\/)\.wh\./.test(p)).sort());
        fs.rmSync(dest, { recursive: true, force: true });
      }
    });
  }

  it('the blobs are what their names say: gzip, zstd, plain tar with the same content', () => {
    const tar = fs.readFileSync(layers.none.path);
    expect(gunzipSync(fs.readFileSync(layers.gzip.path)).equals(tar)).toBe(true);
    expect(execFileSync('zstd', ['-d', '-c', layers.zstd.path], { maxBuffer: 64 << 20 }).equals(tar)).toBe(true);
    expect(layers.none.digest).toBe(`sha256:${sha256(tar)}`);
    expect(layers.gzip.digest).toBe(`sha256:${sha256(fs.readFileSync(layers.gzip.path))}`);
    expect(layers.zstd.digest).toBe(`sha256:${sha256(fs.readFileSync(layers.zstd.path))}`);
  });

  it('headers carry numeric owners only (empty uname/gname) and no atime/ctime (G7)', async () => {
    const entries = await readTar(fs.readFileSync(layers.none.path));
    expect(entries.length).toBe(EXPECTED_LAYER.length);
    for (const e of entries) {
      expect(e.header.uname ?? '', e.header.name).toBe('');
      expect(e.header.gname ?? '', e.header.name).toBe('');
    }
    const pax = paxRecords(fs.readFileSync(layers.none.path));
    for (const m of pax) for (const k of ['atime', 'ctime', 'uname', 'gname']) expect(m.has(k), k).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// umoci
// ---------------------------------------------------------------------------------------------

/**
 * What umoci does with directory mtimes (checked here): it restores every directory the layer
 * writes to the mtime in the layer (after writing the children), so a written directory's mtime
 * is NEW's. A directory the layer does not write keeps the mtime it had in OLD: that is the case
 * exactly for the directories whose only change was their mtime (run/, var/lib/state/: by design
 * not changes, G4), and the test checks that they hold OLD's mtime. The rootfs directory takes
 * its metadata from OLD's tar (its './' entry); our layer never writes the root, which is
 * compared like the rest because OLD's and NEW's roots agree. Symlink mtimes are restored too.
 */
const MTIME_ONLY_DIRS = new Set(['run', 'var/lib/state']);

describe('umoci: an image of OLD plus our layer unpacks to NEW', () => {
  let img: string;

  beforeAll(() => {
    img = join(work, 'img');
    tool('umoci', ['init', '--layout', img]);
    tool('umoci', ['new', '--image', `${img}:base`]);
    const oldTar = join(work, 'old.tar');
    tool('tar', ['--numeric-owner', '-C', oldDir, '-cf', oldTar, '.']);
    tool('umoci', ['raw', 'add-layer', '--no-history', '--image', `${img}:base`, '--tag', 'old', oldTar]);
  });

  function unpackAndCompare(tag: string, name: string): void {
    const out = join(work, `unpack-${name}`);
    tool('umoci', ['unpack', '--image', `${img}:${tag}`, out]);
    const got = scan(join(out, 'rootfs'));
    const diffs = compareTrees(newScan, got, {
      skip: (p, n) => n.type === 'socket', // G9: sockets are not in layers
      ignoreMtime: MTIME_ONLY_DIRS,
    });
    expect(diffs).toEqual([]);
    const oldScan = scan(oldDir);
    for (const d of MTIME_ONLY_DIRS) expect(got.get(d)!.mtime, d).toBe(oldScan.get(d)!.mtime);
    // the deleted paths are gone
    for (const p of GONE) expect(got.has(p), p).toBe(false);
    fs.rmSync(out, { recursive: true, force: true });
  }

  it('umoci raw add-layer of our uncompressed layer, then umoci unpack', () => {
    tool('umoci', ['raw', 'add-layer', '--no-history', '--image', `${img}:old`, '--tag', 'new', layers.none.path]);
    unpackAndCompare('new', 'raw');
  });

  it('the same with --no-opaque (whiteouts instead of the opaque marker)', () => {
    const path = join(work, 'noopq.tar');
    ok(cli(['diff', '-q', '--no-opaque', oldDir, newDir, '-o', path]));
    const names = tool('tar', ['-tf', path]).trim().split('\n');
    expect(names.filter((n) => n.startsWith('var/cache/emptied/'))).toEqual([
      'var/cache/emptied/', 'var/cache/emptied/.wh.a', 'var/cache/emptied/.wh.b', 'var/cache/emptied/.wh.c']);
    expect(names.some((n) => n.includes('.wh..wh.'))).toBe(false);
    tool('umoci', ['raw', 'add-layer', '--no-history', '--image', `${img}:old`, '--tag', 'new-noopq', path]);
    unpackAndCompare('new-noopq', 'noopq');
  });

  it('our gzip blob, placed in the image as is (our digest, size and diffID), unpacks the same', () => {
    // umoci raw add-layer only takes uncompressed tars and compresses them itself, so this image
    // is written by hand: OLD's manifest + our blob; config.rootfs.diff_ids + our diffID.
    const r = JSON.parse(ok(cli(['diff', '-q', '--json', oldDir, newDir, '-o', join(work, 'json.tar.gz')]))) as
      { digest: string; diffID: string; size: number; mediaType: string };
    const blob = fs.readFileSync(join(work, 'json.tar.gz'));
    expect(r.digest).toBe(layers.gzip.digest);
    expect(r.size).toBe(blob.length);
    expect(r.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(r.diffID).toBe(layers.none.digest);
    const blobPath = (d: string) => join(img, 'blobs', 'sha256', d.replace(/^sha256:/, ''));
    const putJson = (v: unknown) => {
      const b = Buffer.from(JSON.stringify(v));
      const d = `sha256:${sha256(b)}`;
      fs.writeFileSync(blobPath(d), b);
      return { digest: d, size: b.length };
    };
    fs.writeFileSync(blobPath(r.digest), blob);
    const index = JSON.parse(fs.readFileSync(join(img, 'index.json'), 'utf8'));
    const oldDesc = index.manifests.find((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'] === 'old');
    const manifest = JSON.parse(fs.readFileSync(blobPath(oldDesc.digest), 'utf8'));
    const config = JSON.parse(fs.readFileSync(blobPath(manifest.config.digest), 'utf8'));
    config.rootfs.diff_ids.push(r.diffID);
    const cfg = putJson(config);
    manifest.config = { ...manifest.config, ...cfg };
    manifest.layers.push({ mediaType: r.mediaType, digest: r.digest, size: r.size });
    const man = putJson(manifest);
    index.manifests.push({ ...oldDesc, ...man, annotations: { 'org.opencontainers.image.ref.name': 'new-gz' } });
    fs.writeFileSync(join(img, 'index.json'), JSON.stringify(index));
    unpackAndCompare('new-gz', 'gz');
  });

  it('the tree comparison itself catches differences (content, mode, owner, link, hardlink, extra, missing, mtime)', () => {
    const a = join(work, 'cmp-a');
    const b = join(work, 'cmp-b');
    makeTree(a, { f: file('x'), g: file('y', { mode: 0o600 }), l: symlink('f'), h: hardlink('f'), gone: file('z'), d: dir({ mtime: T2 }) });
    makeTree(b, { f: file('X'), g: file('y', { mode: 0o644, uid: 7 }), l: symlink('g'), h: file('x'), extra: file(''), d: dir({ mtime: T }) });
    const diffs = compareTrees(scan(a), scan(b));
    for (const want of ['f: sha', 'g: mode', 'g: uid', 'l: target', 'h: links', 'f: links', 'gone: missing', 'extra: extra', 'd: mtime']) {
      expect(diffs.some((d) => d.startsWith(want)), `${want} in ${diffs.join('; ')}`).toBe(true);
    }
    expect(compareTrees(scan(a), scan(a))).toEqual([]);
  });
});

describe('xattrs: security.capability', () => {
  // A file that gains a capability (setcap; libcap2-bin) and a new file that has one.
  let xOld: string;
  let xNew: string;
  beforeAll(() => {
    xOld = join(work, 'xattr-old');
    xNew = join(work, 'xattr-new');
    makeTree(xOld, { 'bin/ping': file('ping\n') });
    makeTree(xNew, { 'bin/ping': file('ping\n'), 'bin/added': file('added\n') });
    for (const f of ['bin/ping', 'bin/added']) tool('setcap', ['cap_net_raw+ep', join(xNew, f)]);
    fs.utimesSync(join(xNew, 'bin'), T, T);
  });

  it('the fixture has the capabilities (getcap)', () => {
    expect(tool('getcap', [join(xNew, 'bin/ping')])).toContain('cap_net_raw=ep');
    expect(tool('getcap', [join(xOld, 'bin/ping')])).toBe('');
  });

  // xattrs are read through getfattr (src/fs/xattrs-getfattr.ts): a capability-only change is a
  // change, and both files' security.capability travel as SCHILY.xattr PAX records.
  it('a capability-only change is a change, and capabilities travel in the layer', () => {
    const got = JSON.parse(ok(cli(['changes', '--json', xOld, xNew])));
    expect(got).toEqual({ added: ['/bin/added'], changed: ['/bin/ping'], deleted: [] });
    const out = join(work, 'xattr.tar');
    ok(cli(['diff', '-q', xOld, xNew, '-o', out]));
    const caps = paxRecords(fs.readFileSync(out)).filter((m) => m.has('SCHILY.xattr.security.capability'));
    expect(caps.length).toBe(2);
  });

  it('umoci unpacks an image of OLD plus our layer with the capabilities set (getcap)', () => {
    const img = join(work, 'xattr-img');
    const layer = join(work, 'xattr-umoci.tar');
    ok(cli(['diff', '-q', xOld, xNew, '-o', layer]));
    const oldTar = join(work, 'xattr-old.tar');
    tool('tar', ['--numeric-owner', '-C', xOld, '-cf', oldTar, '.']);
    tool('umoci', ['init', '--layout', img]);
    tool('umoci', ['new', '--image', `${img}:base`]);
    tool('umoci', ['raw', 'add-layer', '--no-history', '--image', `${img}:base`, '--tag', 'old', oldTar]);
    tool('umoci', ['raw', 'add-layer', '--no-history', '--image', `${img}:old`, '--tag', 'new', layer]);
    const out = join(work, 'xattr-unpack');
    tool('umoci', ['unpack', '--image', `${img}:new`, out]);
    for (const f of ['bin/ping', 'bin/added']) expect(tool('getcap', [join(out, 'rootfs', f)])).toContain('cap_net_raw=ep');
    fs.rmSync(out, { recursive: true, force: true });
  });
});

// ---------------------------------------------------------------------------------------------
// rsync
// ---------------------------------------------------------------------------------------------

/**
 * `rsync -anic --delete NEW/ OLD/` (archive, dry run, itemize, checksum; source NEW, dest OLD) is
 * read as a change set:
 *   `*deleting   P`                      -> D P
 *   `YX+++++++++ P` (all attributes new)  -> A P, or C P when P exists in OLD (a type change:
 *                                            rsync itemizes the replacement as a creation)
 *   any other itemized line               -> C P
 * Filtering, each with its reason:
 *   - `-c` (checksum) is needed: rsync's quick check (size + mtime) would miss etc/same, which
 *     keeps its size and whole-second mtime with new bytes; layerkit compares content there.
 *   - the root line (`./`) and directory lines whose only difference is the time (`.d..t......`):
 *     a directory whose only change is its mtime is not a change (G4).
 *   - deletions below a path that is itself deleted or replaced by a non-directory: rsync lists
 *     every removed descendant; layerkit names the top (one D, or the type change's C) (G2).
 *   - socket lines (`cS...`): sockets are skipped (G9).
 */
function rsyncChanges(newRoot: string, oldRoot: string, oldScan: Map<string, Node>): Map<string, string> {
  const out = tool('rsync', ['-anic', '--delete', `${newRoot}/`, `${oldRoot}/`]);
  const raw: [kind: string, path: string][] = [];
  for (const line of out.trimEnd().split('\n')) {
    if (line === '') continue;
    const m = /^(\*deleting|\S{11}) +(.*?)(?: -> .*)?$/.exec(line);
    if (!m) throw new Error(`unexpected rsync line: ${line}`);
    const [, item, name] = m as unknown as [string, string, string];
    const path = name.replace(/\/$/, '');
    if (item === '*deleting') {
      raw.push(['D', path]);
      continue;
    }
    if (path === '.' || /^\.d\.\.t\.{6}$/.test(item)) continue;
    if (item[1] === 'S') continue;
    raw.push([item.endsWith('+++++++++') ? (oldScan.has(path) ? 'C' : 'A') : 'C', path]);
  }
  const written = new Map(raw.filter(([k]) => k !== 'D').map(([k, p]) => [p, k]));
  const deleted = new Set(raw.filter(([k]) => k === 'D').map(([, p]) => p));
  const changes = new Map<string, string>();
  for (const [k, p] of raw) {
    const ancestors = p.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'));
    if (k === 'D') {
      if (ancestors.some((a) => deleted.has(a) || (written.has(a) && newScan.get(a)?.type !== 'dir'))) continue;
      if (written.has(p)) continue; // deleted then re-created as another type: the C below
    }
    changes.set(`/${p}`, k);
  }
  return changes;
}

describe('rsync agrees on the change set', () => {
  it('the same paths, and A/C/D agree under the documented mapping', () => {
    const got = JSON.parse(ok(cli(['changes', '--json', oldDir, newDir]))) as Record<'added' | 'changed' | 'deleted', string[]>;
    const ours = new Map<string, string>();
    for (const p of got.added) ours.set(p, 'A');
    for (const p of got.changed) ours.set(p, 'C');
    for (const p of got.deleted) ours.set(p, 'D');
    const theirs = rsyncChanges(newDir, oldDir, scan(oldDir));
    const sorted = (m: Map<string, string>) => [...m].map(([p, k]) => `${k} ${p}`).sort();
    expect(sorted(ours)).toEqual(sorted(theirs));
    expect(ours.size).toBe(23);
  });
});

// ---------------------------------------------------------------------------------------------
// Reproducibility
// ---------------------------------------------------------------------------------------------

describe('reproducible layers', () => {
  for (const c of ['none', 'gzip', 'zstd'] as const) {
    it(`two runs give byte-identical ${c} layers and digests`, () => {
      const again = join(work, `again-${LAYER_FILE[c]}`);
      const digest = ok(cli(['diff', '-q', oldDir, newDir, '-o', again, '--compression', c])).trim();
      expect(digest).toBe(layers[c].digest);
      expect(fs.readFileSync(again).equals(fs.readFileSync(layers[c].path))).toBe(true);
    });
  }

  it('--write-digest-to writes the digest printed on stdout', () => {
    const out = join(work, 'wd.tar.zst');
    const digestFile = join(work, 'wd.digest');
    const digest = ok(cli(['diff', '-q', oldDir, newDir, '-o', out, '--write-digest-to', digestFile])).trim();
    expect(digest).toBe(layers.zstd.digest);
    expect(fs.readFileSync(digestFile, 'utf8')).toBe(`${digest}\n`);
  });

  it('SOURCE_DATE_EPOCH (flag or variable) clamps newer mtimes and nothing else', async () => {
    const viaFlag = join(work, 'sde-flag.tar');
    const viaEnv = join(work, 'sde-env.tar');
    const d1 = ok(cli(['diff', '-q', '--source-date-epoch', String(EPOCH), oldDir, newDir, '-o', viaFlag])).trim();
    const d2 = ok(cli(['diff', '-q', oldDir, newDir, '-o', viaEnv], { env: { SOURCE_DATE_EPOCH: String(EPOCH) } })).trim();
    expect(d2).toBe(d1);
    expect(d1).not.toBe(layers.none.digest);
    expect(fs.readFileSync(viaFlag).equals(fs.readFileSync(viaEnv))).toBe(true);
    const entries = await readTar(fs.readFileSync(viaFlag));
    const plain = await readTar(fs.readFileSync(layers.none.path));
    expect(entries.map((e) => e.header.name)).toEqual(plain.map((e) => e.header.name));
    expect(entries.map((e) => e.header.name)).toEqual(EXPECTED_LAYER.map((l) => l[6]));
    entries.forEach((e, i) => {
      const want = Math.min(EXPECTED_LAYER[i]![5], EPOCH);
      expect(e.header.mtime!.getTime() / 1000, e.header.name).toBe(want);
      expect(e.body.equals(plain[i]!.body)).toBe(true);
    });
    // both sides of the clamp are present in the fixture
    expect(EXPECTED_LAYER.some((l) => l[5] > EPOCH) && EXPECTED_LAYER.some((l) => l[5] > 0 && l[5] < EPOCH)).toBe(true);
    // GNU tar agrees on the clamped times
    const listed = squeeze(tool('tar', ['-tv', '--numeric-owner', '--full-time', '-f', viaFlag]));
    expect(listed).toEqual(squeezeExpected(gnuListing(EXPECTED_LAYER.map((l) => {
      const c = [...l] as LayerLine;
      c[5] = Math.min(c[5], EPOCH);
      return c;
    }))));
  });

  function denoDiff(compression: 'none' | 'gzip'): { digest: string; diffID: string; bytes: Buffer } {
    const out = join(work, `deno-${compression}`);
    const r = spawnSync(DENO, ['run', '--no-check', '-A', join(ROOT, 'test/e2e/deno-diff.ts'), oldDir, newDir, out, compression],
      { encoding: 'utf8', env: { ...ENV, NO_COLOR: '1' } });
    if (r.status !== 0) throw new Error(`deno exit ${r.status}: ${r.stderr}`);
    const j = JSON.parse(r.stdout) as { digest: string; diffID: string };
    return { ...j, bytes: fs.readFileSync(out) };
  }

  it('Node and Deno write the same uncompressed layer', () => {
    const d = denoDiff('none');
    expect(d.digest).toBe(layers.none.digest);
    expect(d.bytes.equals(fs.readFileSync(layers.none.path))).toBe(true);
  });

  let denoGzip: ReturnType<typeof denoDiff> | undefined;
  it('Node and Deno: the same diffID for gzip', () => {
    const d = (denoGzip = denoDiff('gzip'));
    expect(d.diffID).toBe(layers.none.digest);
    expect(gunzipSync(d.bytes).equals(fs.readFileSync(layers.none.path))).toBe(true);
  });

  // gzip is layerkit's own deflate kernel (src/oci/gzip.ts) in every runtime, so the bytes match;
  // Deno runs it on worker_threads from the .ts sources, Node from dist/.
  it('Node and Deno write the same gzip layer (same digest)', () => {
    expect(denoGzip!.digest).toBe(layers.gzip.digest);
  });
});

// ---------------------------------------------------------------------------------------------
// Bad input through the CLI
// ---------------------------------------------------------------------------------------------

describe('bad input: the documented exit status, the path named, nothing left behind', () => {
  // root reads and writes anything, so the permission cases drop to nobody (65534) with setpriv.
  const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
  let n = 0;

  /** A fresh small pair plus an empty output directory, all reachable by nobody. */
  function fresh(newExtra: TreeSpec = {}): { old: string; neu: string; outDir: string } {
    const base = join(work, `bad-${n++}`);
    const old = join(base, 'old');
    const neu = join(base, 'new');
    const outDir = join(base, 'out');
    makeTree(old, { 'a/keep': file('keep\n'), 'a/x': file('x\n') });
    makeTree(neu, { 'a/keep': file('keep\n'), 'a/x': file('x changed\n'), ...newExtra });
    fs.mkdirSync(outDir);
    fs.chmodSync(base, 0o755);
    fs.chmodSync(outDir, 0o777);
    return { old, neu, outDir };
  }

  function expectFailure(r: SpawnSyncReturns<string>, exit: number, code: string, mentions: string[]): void {
    expect(r.status, r.stderr).toBe(exit);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`layerkit: ${code}: `);
    for (const m of mentions) expect(r.stderr).toContain(m);
  }

  it('an unreadable file in NEW: ERR_IO (exit 4), no layer, no temp file', () => {
    const { old, neu, outDir } = fresh({ 'a/secret': file('secret\n', { mode: 0o000 }) });
    const out = join(outDir, 'layer.tar.gz');
    const r = cli(['diff', old, neu, '-o', out], { as: NOBODY });
    expectFailure(r, 4, 'ERR_IO', [join(neu, 'a/secret')]);
    expect(fs.readdirSync(outDir)).toEqual([]);
  });

  it('an unreadable file whose content must be compared (changes): ERR_IO (exit 4)', () => {
    // same size and whole-second mtime on both sides: content decides, so the file must be read
    const { old, neu } = fresh({ 'a/x': file('x\n', { mode: 0o600, uid: 0 }) });
    fs.chmodSync(join(old, 'a/x'), 0o600);
    const r = cli(['changes', old, neu], { as: NOBODY });
    expectFailure(r, 4, 'ERR_IO', ['a/x']);
  });

  it('an unreadable directory in NEW: ERR_IO (exit 4), no layer', () => {
    const { old, neu, outDir } = fresh({ locked: dir({ mode: 0o000 }), 'locked/f': file('f\n') });
    const out = join(outDir, 'layer.tar');
    const r = cli(['diff', old, neu, '-o', out], { as: NOBODY });
    expectFailure(r, 4, 'ERR_IO', [join(neu, 'locked')]);
    expect(fs.readdirSync(outDir)).toEqual([]);
  });

  it('an unwritable output directory: ERR_IO (exit 4), the output named, nothing written', () => {
    const { old, neu, outDir } = fresh();
    fs.chmodSync(outDir, 0o555);
    const out = join(outDir, 'layer.tar.gz');
    const r = cli(['diff', old, neu, '-o', out], { as: NOBODY });
    expectFailure(r, 4, 'ERR_IO', [out]);
    expect(fs.readdirSync(outDir)).toEqual([]);
  });

  it('an unwritable --write-digest-to: ERR_IO (exit 4), the digest path named, no layer left', () => {
    const { old, neu, outDir } = fresh();
    const out = join(outDir, 'layer.tar');
    const digestTo = join(outDir, 'missing', 'layer.digest');
    const r = cli(['diff', old, neu, '-o', out, '--write-digest-to', digestTo]);
    expectFailure(r, 4, 'ERR_IO', [digestTo]);
    expect(fs.readdirSync(outDir)).toEqual([]);
  });

  it('a missing output directory: ERR_IO (exit 4)', () => {
    const { old, neu, outDir } = fresh();
    const out = join(outDir, 'missing', 'layer.tar');
    const r = cli(['diff', old, neu, '-o', out]);
    expectFailure(r, 4, 'ERR_IO', [out]);
    expect(fs.readdirSync(outDir)).toEqual([]);
  });

  it('a path named .wh.x in NEW: ERR_WHITEOUT_NAME (exit 3), no layer, no temp file', () => {
    const { old, neu, outDir } = fresh({ 'a/.wh.x': file('not a whiteout\n') });
    const out = join(outDir, 'layer.tar.gz');
    const r = cli(['diff', old, neu, '-o', out]);
    expectFailure(r, 3, 'ERR_WHITEOUT_NAME', ['a/.wh.x']);
    expect(fs.readdirSync(outDir)).toEqual([]);
  });

  it('OLD missing: ERR_IO (exit 4), OLD named, no layer', () => {
    const { neu, outDir } = fresh();
    const missing = join(outDir, '..', 'no-such-old');
    const out = join(outDir, 'layer.tar.gz');
    const r = cli(['diff', missing, neu, '-o', out]);
    expectFailure(r, 4, 'ERR_IO', [missing]);
    expect(fs.readdirSync(outDir)).toEqual([]);
    expectFailure(cli(['changes', missing, neu]), 4, 'ERR_IO', [missing]);
  });

  it('the output path inside NEW: ERR_INVALID_ARG (exit 3), nothing written into NEW', () => {
    const { old, neu } = fresh();
    const before = [...scan(neu).keys()];
    for (const out of [join(neu, 'layer.tar'), join(neu, 'a', 'layer.tar.gz')]) {
      const r = cli(['diff', old, neu, '-o', out]);
      expectFailure(r, 3, 'ERR_INVALID_ARG', [out, neu]);
      expect([...scan(neu).keys()]).toEqual(before);
    }
  });

  it('a snapshot written inside the tree it records: ERR_INVALID_ARG (exit 3), nothing written', () => {
    const { neu } = fresh();
    const before = [...scan(neu).keys()];
    const out = join(neu, 'a', 'tree.snap');
    expectFailure(cli(['snapshot', neu, '-o', out]), 3, 'ERR_INVALID_ARG', [out, neu]);
    expect([...scan(neu).keys()]).toEqual(before);
  });

  it('the bad-input cases are real: the same pair without the fault diffs fine', () => {
    const { old, neu, outDir } = fresh();
    const out = join(outDir, 'layer.tar.gz');
    expect(cli(['diff', old, neu, '-o', out], { as: NOBODY }).status).toBe(0);
    expect(fs.readdirSync(outDir)).toEqual(['layer.tar.gz']);
  });
});

// ---------------------------------------------------------------------------------------------
// changes --json
// ---------------------------------------------------------------------------------------------

describe('layerkit changes', () => {
  it('--json gives {added, changed, deleted} with the expected paths', () => {
    const got = JSON.parse(ok(cli(['changes', '--json', oldDir, newDir])));
    expect(Object.keys(got).sort()).toEqual(['added', 'changed', 'deleted']);
    expect({ added: [...got.added].sort(), changed: [...got.changed].sort(), deleted: [...got.deleted].sort() }).toEqual(EXPECTED_CHANGES);
  });

  it('the text form lists the same changes, children after parents', () => {
    const lines = ok(cli(['changes', oldDir, newDir])).trimEnd().split('\n');
    const want = [
      ...EXPECTED_CHANGES.added.map((p) => `A ${p}`),
      ...EXPECTED_CHANGES.changed.map((p) => `C ${p}`),
      ...EXPECTED_CHANGES.deleted.map((p) => `D ${p}`),
    ];
    expect([...lines].sort()).toEqual(want.sort());
    const paths = lines.map((l) => l.slice(2));
    for (const [i, p] of paths.entries()) {
      for (let k = p.lastIndexOf('/'); k > 0; k = p.lastIndexOf('/', k - 1)) {
        const parent = paths.indexOf(p.slice(0, k));
        if (parent >= 0) expect(parent, `${p} after its parent`).toBeLessThan(i);
      }
    }
  });

  // BUG (reported): src/api/tree-source.ts openTree() lstat()s the OLD/NEW argument, so a
  // symlink to a directory or to a snapshot file is refused: exit 3, "ERR_INVALID_ARG: ... is
  // neither a directory nor a layerkit snapshot". `LINK/` (trailing slash) works. tar -C, rsync,
  // cp -H and du all follow symlinks named on the command line. Flip to `it` once fixed.
  it('NEW given as a symlink to a directory', () => {
    const link = join(work, 'new-link');
    if (!fs.existsSync(link)) fs.symlinkSync(newDir, link);
    expect(ok(cli(['changes', '--json', oldDir, `${link}/`]))).toBe(ok(cli(['changes', '--json', oldDir, newDir]))); // works
    expect(ok(cli(['changes', '--json', oldDir, link]))).toBe(ok(cli(['changes', '--json', oldDir, newDir])));
  });

  it('OLD given as a symlink to a snapshot', () => {
    const snap = join(work, 'old-for-link.snap');
    const link = join(work, 'snap-link');
    ok(cli(['snapshot', '-q', oldDir, '-o', snap]));
    if (!fs.existsSync(link)) fs.symlinkSync(snap, link);
    expect(ok(cli(['changes', '--json', snap, newDir]))).toBe(ok(cli(['changes', '--json', oldDir, newDir]))); // works
    expect(ok(cli(['changes', '--json', link, newDir]))).toBe(ok(cli(['changes', '--json', oldDir, newDir])));
  });

  it('a snapshot of OLD stands in for OLD', () => {
    const snap = join(work, 'old.snap');
    ok(cli(['snapshot', '-q', oldDir, '-o', snap]));
    expect(JSON.parse(ok(cli(['changes', '--json', snap, newDir])))).toEqual(JSON.parse(ok(cli(['changes', '--json', oldDir, newDir]))));
    const out = join(work, 'from-snap.tar');
    expect(ok(cli(['diff', '-q', snap, newDir, '-o', out])).trim()).toBe(layers.none.digest);
  });
});
