import { afterAll, describe, expect, test } from 'vitest';
import { writeFileSync, mkdirSync, readFileSync, lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { packTar, type TarItem } from '../../src/tar/writer.ts';
import { encodeHeader, type TarHeader } from '../../src/tar/header.ts';
import type { LayerkitError } from '../../src/errors.ts';
import { collect, paxRecords, readTar, run, tempDir } from '../fixtures/tools.ts';

const enc = new TextEncoder();
const LONG = 'deep/'.repeat(30) + 'name-that-does-not-fit-in-100-bytes.txt';
const CAP = new Uint8Array([0x01, 0x00, 0x00, 0x02, 0x80, 0x20, 0x00, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

function h(p: Partial<TarHeader> & { name: string }): TarHeader {
  return { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1_700_000_000, ...p };
}

const items: TarItem[] = [
  { header: h({ name: 'dir/', type: 'dir', mode: 0o755 }) },
  { header: h({ name: 'dir/zero-mode', mode: 0 }) },
  { header: h({ name: 'dir/hello', size: 5, mode: 0o4755, uid: 1000, gid: 1001 }), body: [enc.encode('hello')] },
  { header: h({ name: LONG, size: 3 }), body: [enc.encode('abc')] },
  { header: h({ name: 'dir/ünïcødé', size: 1 }), body: [enc.encode('u')] },
  { header: h({ name: 'dir/sym', type: 'symlink', mode: 0o777, linkname: '../' + 'x'.repeat(120) }) },
  { header: h({ name: 'dir/hard', type: 'link', linkname: 'dir/hello' }) },
  { header: h({ name: 'dir/cap', size: 0, xattrs: { 'user.b': enc.encode('2'), 'security.capability': CAP } }) },
  { header: h({ name: 'dir/bigid', uid: 3_000_000, gid: 4_000_000 }) },
  { header: h({ name: 'dir/future', mtime: 2 ** 33 + 7 }) },
  { header: h({ name: 'dir/fifo', type: 'fifo' }) },
  { header: h({ name: 'dir/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 }) },
];

const tmp = tempDir();
afterAll(() => tmp.dispose());

describe('tar writer', () => {
  test('tar-stream reads back every field', async () => {
    const bytes = await collect(packTar(items));
    expect(bytes.length % 512).toBe(0);
    const got = await readTar(bytes);
    expect(got.map((e) => e.header.name)).toEqual(items.map((i) => i.header.name));
    const by = new Map(got.map((e) => [e.header.name, e] as const));
    expect(by.get('dir/zero-mode')!.header.mode).toBe(0);
    expect(by.get('dir/hello')!.header).toMatchObject({ mode: 0o4755, uid: 1000, gid: 1001, uname: '', gname: '', size: 5 });
    expect(by.get('dir/hello')!.body.toString()).toBe('hello');
    expect(by.get(LONG)!.body.toString()).toBe('abc');
    expect(by.get('dir/sym')!.header.linkname).toBe('../' + 'x'.repeat(120));
    expect(by.get('dir/hard')!.header).toMatchObject({ type: 'link', linkname: 'dir/hello', size: 0 });
    // tar-stream keeps PAX uid/gid in header.pax only (GNU tar is checked below).
    expect(by.get('dir/bigid')!.header.pax).toMatchObject({ uid: '3000000', gid: '4000000' });
    expect(by.get('dir/future')!.header.pax).toMatchObject({ mtime: String(2 ** 33 + 7) });
    expect(by.get('dir/null')!.header).toMatchObject({ type: 'character-device', devmajor: 1, devminor: 3 });
  });

  test('xattrs are raw bytes in SCHILY.xattr.* records, sorted', async () => {
    const bytes = encodeHeader(items[7].header);
    const [rec] = paxRecords(bytes);
    expect([...rec.keys()]).toEqual(['SCHILY.xattr.security.capability', 'SCHILY.xattr.user.b']);
    expect(new Uint8Array(rec.get('SCHILY.xattr.security.capability')!)).toEqual(CAP);
  });

  test('no PAX header when everything fits ustar', () => {
    expect(encodeHeader(h({ name: 'plain', size: 10 })).length).toBe(512);
  });

  test('deterministic: same items, same bytes', async () => {
    expect(Buffer.compare(Buffer.from(await collect(packTar(items))), Buffer.from(await collect(packTar(items))))).toBe(0);
  });

  test('GNU tar and bsdtar list it', async () => {
    const file = join(tmp.path, 'a.tar');
    writeFileSync(file, await collect(packTar(items)));
    const gnu = run('tar', ['--numeric-owner', '-tvf', file]);
    expect(gnu).toMatch(/^-rwsr-xr-x 1000\/1001\s+5 2023-11-14 22:13 dir\/hello$/m);
    expect(gnu).toMatch(/^---------- 0\/0\s+0 .* dir\/zero-mode$/m);
    expect(gnu).toMatch(/^hrw-r--r-- .* dir\/hard link to dir\/hello$/m);
    expect(gnu).toMatch(/^lrwxrwxrwx .* dir\/sym -> \.\.\/x{120}$/m);
    expect(gnu).toMatch(/^-rw-r--r-- 3000000\/4000000 .* dir\/bigid$/m);
    expect(gnu).toMatch(/ 2242-03-16 12:56 dir\/future$/m);
    expect(gnu).toContain(LONG);
    expect(gnu).toContain('dir/ünïcødé');
    expect(gnu).toMatch(/^prw-r--r-- .* dir\/fifo$/m);
    expect(gnu).toMatch(/^crw-rw-rw- 0\/0\s+1,3 .* dir\/null$/m);
    const bsd = run('bsdtar', ['-tvf', file]);
    expect(bsd).toMatch(/^-rwsr-xr-x\s+0 1000\s+1001\s+5 .* dir\/hello$/m);
    expect(bsd).toMatch(/^hrw-r--r-- .* dir\/hard link to dir\/hello$/m);
    expect(bsd).toContain(LONG);
    expect(bsd).toContain('dir/ünïcødé');
    expect(run('bsdtar', ['-tf', file]).split('\n').filter(Boolean)).toEqual(items.map((i) => i.header.name));
  });

  test('GNU tar extracts binary xattrs intact', async () => {
    let py = true;
    try {
      execFileSync('python3', ['-c', 'import os; os.getxattr']);
    } catch {
      py = false;
    }
    if (!py || process.getuid?.() !== 0) return; // needs root (security.*) and python3 to read xattrs
    const file = join(tmp.path, 'x.tar');
    writeFileSync(file, await collect(packTar([items[0], items[7]])));
    const out = join(tmp.path, 'x-gnu');
    mkdirSync(out);
    run('tar', ['--xattrs', '--xattrs-include=*', '-xf', file, '-C', out]);
    const hex = run('python3', ['-c', 'import os,sys; print(os.getxattr(sys.argv[1], "security.capability").hex())', join(out, 'dir/cap')]).trim();
    expect(hex).toBe(Buffer.from(CAP).toString('hex'));
    const out2 = join(tmp.path, 'x-bsd');
    mkdirSync(out2);
    run('bsdtar', ['--xattrs', '-xf', file, '-C', out2]);
    const hex2 = run('python3', ['-c', 'import os,sys; print(os.getxattr(sys.argv[1], "security.capability").hex())', join(out2, 'dir/cap')]).trim();
    expect(hex2).toBe(Buffer.from(CAP).toString('hex'));
  });

  test('GNU tar and bsdtar extract content, links, long and unicode names', async () => {
    const file = join(tmp.path, 'b.tar');
    const subset = items.filter((i) => i.header.type !== 'char');
    writeFileSync(file, await collect(packTar(subset)));
    for (const tool of ['tar', 'bsdtar']) {
      const out = join(tmp.path, `ex-${tool}`);
      mkdirSync(out);
      run(tool, ['-xf', file, '-C', out]);
      expect(readFileSync(join(out, 'dir/hello'), 'utf8')).toBe('hello');
      expect(readFileSync(join(out, LONG), 'utf8')).toBe('abc');
      expect(readFileSync(join(out, 'dir/ünïcødé'), 'utf8')).toBe('u');
      expect(readlinkSync(join(out, 'dir/sym'))).toBe('../' + 'x'.repeat(120));
      expect(lstatSync(join(out, 'dir/hard')).ino).toBe(lstatSync(join(out, 'dir/hello')).ino);
    }
  });

  test('body size mismatch is an error, not a corrupt archive', async () => {
    const bad = [{ header: h({ name: 'f', size: 4 }), body: [enc.encode('abc')] }];
    await expect(collect(packTar(bad))).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    const over = [{ header: h({ name: 'f', size: 2 }), body: [enc.encode('abc')] }];
    await expect(collect(packTar(over))).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
  });

  test('unrepresentable fields are refused', () => {
    for (const bad of [h({ name: '' }), h({ name: 'a\0b' }), h({ name: 'd', type: 'dir', size: 3 }), h({ name: 'x', uid: -1 }), h({ name: 'x', devmajor: 1 << 22 }), h({ name: 'x', size: 1.5 })]) {
      try {
        encodeHeader(bad);
        expect.unreachable();
      } catch (e) {
        expect((e as LayerkitError).code).toBe('ERR_OUT_OF_RANGE');
      }
    }
  });

  test('large bodies pass through in chunks', async () => {
    const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => i * 7);
    const chunks = [big.subarray(0, 100), big.subarray(100, 2_000_000), big.subarray(2_000_000)];
    const bytes = await collect(packTar([{ header: h({ name: 'big', size: big.length }), body: chunks }]));
    const [e] = await readTar(bytes);
    expect(Buffer.compare(e.body, Buffer.from(big))).toBe(0);
  });
});
