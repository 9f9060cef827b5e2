import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdirSync, writeFileSync, readFileSync, lstatSync, readlinkSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { writeLayer, layerTar, type LayerOptions } from '../../src/oci/layer-writer.ts';
import { diffEntries } from '../../src/tree/changes.ts';
import type { Entry } from '../../src/tree/entry.ts';
import { nodeFs } from '../../src/fs/node.ts';
import type { FsLike } from '../../src/fs/types.ts';
import { nodeCompress, zstdProcess } from '../../src/platform/compression-node.ts';
import { webCompress } from '../../src/oci/compression.ts';
import { MEDIA_TYPE_LAYER, MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_LAYER_ZSTD } from '../../src/oci/media-types.ts';
import { dir, file, socket, symlink, tree } from '../fixtures/entries.ts';
import { collect, readTar, run, runBytes, sha256Hex, tempDir, nodeSha256 } from '../fixtures/tools.ts';

const tmp = tempDir();
const ROOT = join(tmp.path, 'new');
afterAll(() => tmp.dispose());

// A big file with a pattern, read in several pieces.
const BIG = new Uint8Array(2_500_000).map((_, i) => (i * 31 + (i >> 10)) & 0xff);
const CAP = new Uint8Array([1, 0, 0, 2, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const S = 1_700_000_000n * 1_000_000_000n;

const oldTree = tree(
  dir('etc'), file('etc/hosts', { content: 'old hosts' }), file('etc/passwd', { content: 'root:x:0:0' }),
  dir('home'), dir('home/u'), file('home/u/notes', { content: 'n' }),
  dir('run'), socket('run/sock'),
  dir('usr'), dir('usr/bin'), file('usr/bin/tool', { content: 'tool v1', inode: 1 }), file('usr/bin/tool-alias', { content: 'tool v1', inode: 1 }),
  dir('usr/local'),
  dir('var'), dir('var/cache'), file('var/cache/a', { content: 'a' }), file('var/cache/b', { content: 'b' }),
);

const newTree = tree(
  dir('etc'), file('etc/hosts', { content: 'new hosts!', mtimeNs: S + 999_999_999n }), file('etc/passwd', { content: 'root:x:0:0', mode: 0o600 }),
  file('etc/shadow', { content: 'secret', mode: 0o640, gid: 42 }),
  dir('home'),
  dir('run'), socket('run/sock'), socket('run/sock2'),
  dir('usr', { mtimeNs: S + 5n }), dir('usr/bin'), file('usr/bin/tool', { content: 'tool v1', inode: 1 }), file('usr/bin/tool-alias', { content: 'tool v1', inode: 1 }),
  dir('usr/local'), file('usr/local/tool-link', { content: 'tool v1', inode: 1 }),
  file('usr/local/big', { size: BIG.length, xattrs: { 'security.capability': CAP, 'security.selinux': new Uint8Array([0x73, 0]) } }),
  symlink('usr/local/lnk', '../bin/tool'),
  dir('var'), dir('var/cache'), file('var/cache/c', { content: 'c' }),
);

const EXPECTED_NAMES = [
  'etc/', 'etc/hosts', 'etc/passwd', 'etc/shadow',
  'home/', 'home/.wh.u',
  'usr/', 'usr/bin/', 'usr/bin/tool', 'usr/bin/tool-alias', 'usr/local/', 'usr/local/big', 'usr/local/lnk', 'usr/local/tool-link',
  'var/', 'var/cache/', 'var/cache/.wh..wh..opq', 'var/cache/c',
];

beforeAll(() => {
  for (const e of newTree as (Entry & { content?: string })[]) {
    const p = join(ROOT, e.path);
    if (e.type === 'dir') mkdirSync(p, { recursive: true });
    else if (e.type === 'file') {
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, e.path === 'usr/local/big' ? BIG : e.content ?? '');
    }
  }
});

function options(extra: Partial<LayerOptions> = {}): LayerOptions {
  return {
    changes: diffEntries(oldTree, newTree), newEntries: newTree, oldEntries: oldTree,
    fs: nodeFs, root: ROOT, sha256: nodeSha256, compress: nodeCompress, ...extra,
  };
}

async function layer(extra: Partial<LayerOptions> = {}): Promise<{ blob: Buffer; result: Awaited<ReturnType<typeof writeLayer>> }> {
  const parts: Uint8Array[] = [];
  const result = await writeLayer(options(extra), async (c) => {
    parts.push(c);
  });
  return { blob: Buffer.concat(parts), result };
}

function save(name: string, bytes: Uint8Array): string {
  const p = join(tmp.path, name);
  writeFileSync(p, bytes);
  return p;
}

describe('writeLayer: uncompressed', () => {
  test('names, order, identities', async () => {
    const { blob, result } = await layer();
    const entries = await readTar(blob);
    expect(entries.map((e) => e.header.name)).toEqual(EXPECTED_NAMES);
    expect(result.mediaType).toBe(MEDIA_TYPE_LAYER);
    expect(result.size).toBe(blob.length);
    expect(result.tarSize).toBe(blob.length);
    const file = save('l.tar', blob);
    const sum = run('sha256sum', [file]).split(' ')[0];
    expect(result.digest).toBe(`sha256:${sum}`);
    expect(result.diffID).toBe(result.digest);
  });

  test('headers: whiteouts, hardlinks, truncated mtimes, xattr policy', async () => {
    const { blob } = await layer();
    const by = new Map((await readTar(blob)).map((e) => [e.header.name, e] as const));
    for (const w of ['home/.wh.u', 'var/cache/.wh..wh..opq']) {
      expect(by.get(w)!.header).toMatchObject({ type: 'file', size: 0, mode: 0, uid: 0, gid: 0, uname: '', gname: '' });
      expect(by.get(w)!.header.mtime.getTime()).toBe(0);
    }
    expect(by.get('usr/bin/tool')!.header.type).toBe('file');
    expect(by.get('usr/bin/tool-alias')!.header).toMatchObject({ type: 'link', linkname: 'usr/bin/tool' });
    expect(by.get('usr/local/tool-link')!.header).toMatchObject({ type: 'link', linkname: 'usr/bin/tool' });
    // .999999999 s is truncated, not rounded (G7)
    expect(by.get('etc/hosts')!.header.mtime.getTime()).toBe(1_700_000_000_000);
    expect(by.get('etc/shadow')!.header).toMatchObject({ mode: 0o640, gid: 42, uname: '', gname: '' });
    const pax = by.get('usr/local/big')!.header.pax as Record<string, string>;
    expect(Object.keys(pax)).toEqual(['SCHILY.xattr.security.capability']); // selinux label dropped (G8)
    expect(Buffer.compare(by.get('usr/local/big')!.body, Buffer.from(BIG))).toBe(0);
    // no socket, no unchanged-only entries
    expect([...by.keys()].some((n) => n.startsWith('run'))).toBe(false);
  });

  test('GNU tar and bsdtar list it (names, types, modes, link targets)', async () => {
    const file = save('list.tar', (await layer()).blob);
    const gnu = run('tar', ['--numeric-owner', '-tvf', file]);
    const names = gnu.trim().split('\n').map((l) => l.replace(/^.* \d\d:\d\d /, '').replace(/ (->|link to) .*$/, ''));
    expect(names).toEqual(EXPECTED_NAMES);
    expect(gnu).toMatch(/^-rw------- 0\/0\s+10 .* etc\/passwd$/m);
    expect(gnu).toMatch(/^-rw-r----- 0\/42\s+6 .* etc\/shadow$/m);
    expect(gnu).toMatch(/^hrw-r--r-- .* usr\/local\/tool-link link to usr\/bin\/tool$/m);
    expect(gnu).toMatch(/^lrwxrwxrwx .* usr\/local\/lnk -> \.\.\/bin\/tool$/m);
    expect(gnu).toMatch(/^---------- 0\/0\s+0 1970-01-01 00:00 home\/\.wh\.u$/m);
    const bsd = run('bsdtar', ['-tvf', file]);
    expect(bsd).toMatch(/^hrw-r--r-- .* usr\/bin\/tool-alias link to usr\/bin\/tool$/m);
    expect(bsd).toMatch(/^lrwxrwxrwx .* usr\/local\/lnk -> \.\.\/bin\/tool$/m);
    expect(run('bsdtar', ['-tf', file]).trim().split('\n')).toEqual(EXPECTED_NAMES);
  });

  test('GNU tar and bsdtar extract it: content, links, modes', async () => {
    const file = save('x.tar', (await layer()).blob);
    for (const tool of ['tar', 'bsdtar']) {
      const out = join(tmp.path, `x-${tool}`);
      mkdirSync(out);
      run(tool, ['-xpf', file, '-C', out]);
      for (const p of ['etc/hosts', 'etc/passwd', 'etc/shadow', 'usr/bin/tool', 'usr/local/big', 'var/cache/c']) {
        expect(Buffer.compare(readFileSync(join(out, p)), readFileSync(join(ROOT, p))), `${tool} ${p}`).toBe(0);
      }
      const ino = lstatSync(join(out, 'usr/bin/tool')).ino;
      expect(lstatSync(join(out, 'usr/bin/tool-alias')).ino).toBe(ino);
      expect(lstatSync(join(out, 'usr/local/tool-link')).ino).toBe(ino);
      expect(readlinkSync(join(out, 'usr/local/lnk'))).toBe('../bin/tool');
      expect(lstatSync(join(out, 'etc/passwd')).mode & 0o7777).toBe(0o600);
      expect(readdirSync(join(out, 'var/cache')).sort()).toEqual(['.wh..wh..opq', 'c']);
    }
  });

  test('byte-identical rebuild; small reads give the same bytes', async () => {
    const a = await layer();
    const b = await layer({ readSize: 4096 });
    expect(Buffer.compare(a.blob, b.blob)).toBe(0);
    expect(a.result).toEqual(b.result);
  });

  test('SOURCE_DATE_EPOCH clamps newer mtimes only', async () => {
    const sde = 1_650_000_000;
    const olderNs = 1_600_000_000_500_000_000n;
    const nt = newTree.map((e) => (e.path === 'etc/shadow' ? { ...e, mtimeNs: olderNs } : e));
    const { blob } = await layer({ newEntries: nt, changes: diffEntries(oldTree, nt), sourceDateEpoch: sde });
    const entries = await readTar(blob);
    for (const e of entries) {
      const t = e.header.mtime.getTime() / 1000;
      if (e.header.name.includes('.wh.')) expect(t).toBe(0);
      else if (e.header.name === 'etc/shadow') expect(t).toBe(1_600_000_000);
      else expect(t).toBe(sde);
    }
    const again = await layer({ newEntries: nt, changes: diffEntries(oldTree, nt), sourceDateEpoch: sde });
    expect(Buffer.compare(blob, again.blob)).toBe(0);
  });

  test('empty diff: an empty archive (two zero blocks)', async () => {
    const { blob, result } = await layer({ changes: diffEntries(newTree, newTree) });
    expect(blob).toEqual(Buffer.alloc(1024));
    expect(result.diffID).toBe(`sha256:${sha256Hex(Buffer.alloc(1024))}`);
  });

  test('a WritableStream sink receives the same bytes and is closed', async () => {
    const parts: Uint8Array[] = [];
    let closed = false;
    const ws = new WritableStream<Uint8Array>({ write: (c) => void parts.push(c), close: () => void (closed = true) });
    const r = await writeLayer(options(), ws);
    expect(closed).toBe(true);
    expect(`sha256:${sha256Hex(Buffer.concat(parts))}`).toBe(r.digest);
  });
});

describe('writeLayer: compression', () => {
  test('gzip: gzip -d gives the tar (diffID), digest = sha256sum, deterministic header', async () => {
    const plain = await layer();
    const { blob, result } = await layer({ compression: 'gzip', level: 6 });
    expect(result.mediaType).toBe(MEDIA_TYPE_LAYER_GZIP);
    expect([...blob.subarray(0, 4)]).toEqual([0x1f, 0x8b, 0x08, 0]);
    expect([...blob.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
    expect(blob[9]).toBe(0xff);
    const file = save('l.tar.gz', blob);
    expect(result.digest).toBe(`sha256:${run('sha256sum', [file]).split(' ')[0]}`);
    const tar = runBytes('gzip', ['-dc', file]);
    expect(`sha256:${sha256Hex(tar)}`).toBe(result.diffID);
    expect(result.diffID).toBe(plain.result.diffID);
    expect(result.tarSize).toBe(plain.blob.length);
    const again = await layer({ compression: 'gzip', level: 6 });
    expect(Buffer.compare(blob, again.blob)).toBe(0);
    const fast = await layer({ compression: 'gzip', level: 1 });
    const best = await layer({ compression: 'gzip', level: 9 });
    expect(fast.result.diffID).toBe(result.diffID);
    expect(fast.result.digest).not.toBe(best.result.digest); // the level is honoured
  });

  test('zstd: zstd -d gives the tar (diffID), digest = sha256sum', async () => {
    const { blob, result } = await layer({ compression: 'zstd', level: 5 });
    expect(result.mediaType).toBe(MEDIA_TYPE_LAYER_ZSTD);
    expect([...blob.subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
    const file = save('l.tar.zst', blob);
    expect(result.digest).toBe(`sha256:${run('sha256sum', [file]).split(' ')[0]}`);
    expect(`sha256:${sha256Hex(runBytes('zstd', ['-dc', file]))}`).toBe(result.diffID);
    const again = await layer({ compression: 'zstd', level: 5 });
    expect(Buffer.compare(blob, again.blob)).toBe(0);
  });

  test('the zstd process path works on its own and reports a missing binary', async () => {
    const input = new TextEncoder().encode('x'.repeat(100_000));
    async function* src(): AsyncGenerator<Uint8Array> {
      yield input;
    }
    const z = await collect(zstdProcess(src(), 19));
    expect(runBytes('zstd', ['-dc'], z).toString()).toBe('x'.repeat(100_000));
    const z22 = await collect(zstdProcess(src(), 22));
    expect(runBytes('zstd', ['-dc'], z22).length).toBe(100_000);
    await expect(collect(zstdProcess(src(), 3, '/nonexistent/zstd'))).rejects.toMatchObject({ code: 'ERR_COMPRESSION' });
  });

  test('bad levels are refused before anything is written', async () => {
    let wrote = false;
    for (const [compression, level] of [['gzip', 10], ['zstd', 0], ['zstd', 23], ['gzip', 1.5]] as const) {
      await expect(writeLayer(options({ compression, level }), () => void (wrote = true))).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    }
    expect(wrote).toBe(false);
  });

  test('web default: gzip by the deflate kernel (same bytes as Node); zstd unsupported', async () => {
    const { blob, result } = await layer({ compression: 'gzip', compress: webCompress });
    expect(`sha256:${sha256Hex(runBytes('gzip', ['-dc'], blob))}`).toBe(result.diffID);
    expect(blob[9]).toBe(0xff);
    await expect(layer({ compression: 'zstd', compress: webCompress })).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
  });
});

describe('writeLayer: files changing under it', () => {
  function wrapFs(readHook: (n: number, pos: number) => number): FsLike {
    return {
      ...nodeFs,
      async open(p) {
        const fh = await nodeFs.open(p);
        return {
          read: async (b, o, l, pos) => readHook(await fh.read(b, o, l, pos), pos),
          close: () => fh.close(),
        };
      },
    };
  }
  const bigOnly = (): Partial<LayerOptions> => {
    const nt = tree(dir('usr'), dir('usr/local'), newTree.find((e) => e.path === 'usr/local/big')!);
    return { newEntries: nt, changes: diffEntries(tree(dir('usr'), dir('usr/local')), nt), oldEntries: undefined };
  };

  test('size differs from the entry: ERR_FILE_CHANGED before a byte of it is written', async () => {
    const nt = newTree.map((e) => (e.path === 'etc/hosts' ? { ...e, size: 3 } : e));
    await expect(layer({ newEntries: nt, changes: diffEntries(oldTree, nt) })).rejects.toMatchObject({ code: 'ERR_FILE_CHANGED', data: { path: 'etc/hosts' } });
  });

  test('shrinks while read: ERR_FILE_CHANGED', async () => {
    const fs = wrapFs((n, pos) => (pos >= 1_000_000 ? 0 : n));
    await expect(layer({ ...bigOnly(), fs, readSize: 65536 })).rejects.toMatchObject({ code: 'ERR_FILE_CHANGED' });
  });

  test('the error keeps its code through gzip and zstd', async () => {
    const fs = wrapFs((n, pos) => (pos >= 1_000_000 ? 0 : n));
    for (const compression of ['gzip', 'zstd'] as const) {
      await expect(layer({ ...bigOnly(), fs, readSize: 65536, compression })).rejects.toMatchObject({ code: 'ERR_FILE_CHANGED' });
    }
  });

  test('grows while read: ERR_FILE_CHANGED', async () => {
    const fs = wrapFs((n, pos) => (pos >= BIG.length ? 1 : n));
    await expect(layer({ ...bigOnly(), fs })).rejects.toMatchObject({ code: 'ERR_FILE_CHANGED' });
  });

  test('no longer a regular file: ERR_FILE_CHANGED', async () => {
    const nt = tree(file('usr', { content: 'x' })); // on disk, usr is a directory
    await expect(layer({ newEntries: nt, changes: diffEntries(tree(), nt), oldEntries: undefined })).rejects.toMatchObject({ code: 'ERR_FILE_CHANGED', data: { path: 'usr' } });
  });

  test('a failing sink aborts the stream with its error', async () => {
    await expect(writeLayer(options(), () => {
      throw new Error('disk full');
    })).rejects.toThrow('disk full');
  });

  test('layerTar streams without hashing', async () => {
    const bytes = await collect(layerTar(options()));
    expect((await readTar(bytes)).map((e) => e.header.name)).toEqual(EXPECTED_NAMES);
  });
});
