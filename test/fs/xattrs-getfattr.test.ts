import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseGetfattrDump, TreeXattrs } from '../../src/fs/xattrs-getfattr.ts';
import { nodeFs } from '../../src/fs/node.ts';
import { snapshot } from '../../src/tree/snapshot.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const setfattr = (path: string, name: string, hex: string) => execFileSync('setfattr', ['-h', '-n', name, '-v', hex === '' ? '""' : `0x${hex}`, path]);

describe('parseGetfattrDump', () => {
  it('decodes escaped names, base64/hex/text values and empty values', () => {
    const dump = enc([
      '# file: r/a\\012b',
      'user.bin=0sAP8Q',
      'user.hex=0x0aff',
      'user.text="hi"',
      'user.empty=',
      '',
      '# file: r/back\\134slash/\u00e9',
      'user.x\\075y=0sMQ==',
      '',
    ].join('\n'));
    const m = parseGetfattrDump(dump);
    expect([...m.keys()]).toEqual(['r/a\nb', 'r/back\\slash/\u00e9']);
    expect(m.get('r/a\nb')).toEqual({ 'user.bin': Uint8Array.of(0, 0xff, 0x10), 'user.hex': Uint8Array.of(0x0a, 0xff), 'user.text': enc('hi'), 'user.empty': new Uint8Array(0) });
    expect(m.get('r/back\\slash/\u00e9')).toEqual({ 'user.x=y': enc('1') });
  });
});

describe('xattrs of a real tree through the node adapter (getfattr)', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'lk-xattr-'));
    mkdirSync(join(root, 'd/sub'), { recursive: true });
    writeFileSync(join(root, 'd/plain'), 'p');
    writeFileSync(join(root, 'd/bin'), 'b');
    writeFileSync(join(root, 'd/odd\nname\\x'), 'o');
    writeFileSync(join(root, 'd/sub/\u00e9t\u00e9'), 'u');
    symlinkSync('plain', join(root, 'd/link'));
    setfattr(join(root, 'd/bin'), 'user.bin', '00ff10');
    setfattr(join(root, 'd/bin'), 'user.two', '32');
    setfattr(join(root, 'd/odd\nname\\x'), 'user.odd', '6f');
    setfattr(join(root, 'd/sub/\u00e9t\u00e9'), 'user.utf', 'c3a9');
    setfattr(join(root, 'd/sub'), 'user.dir', '');
    setfattr(join(root, 'd/link'), 'trusted.onlink', '01'); // user.* is not allowed on symlinks
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  for (const spelling of ['', '/']) {
    it(`a snapshot records them (root spelled with${spelling ? '' : 'out'} a trailing slash)`, async () => {
      const { entries } = await snapshot(nodeFs, root + spelling, { hash: false });
      const x = Object.fromEntries(entries.filter((e) => e.xattrs).map((e) => [e.path, e.xattrs]));
      expect(x).toEqual({
        'd/bin': { 'user.bin': Uint8Array.of(0, 0xff, 0x10), 'user.two': enc('2') },
        'd/link': { 'trusted.onlink': Uint8Array.of(1) },
        'd/odd\nname\\x': { 'user.odd': enc('o') },
        'd/sub': { 'user.dir': new Uint8Array(0) },
        'd/sub/\u00e9t\u00e9': { 'user.utf': Uint8Array.of(0xc3, 0xa9) },
      });
    });
  }

  it('a path outside any prepared tree is read on its own; a missing path has none', async () => {
    const t = new TreeXattrs();
    expect(await t.get(join(root, 'd/bin'))).toEqual({ 'user.bin': Uint8Array.of(0, 0xff, 0x10), 'user.two': enc('2') });
    expect(await t.get(join(root, 'd/plain'))).toEqual({});
    expect(await t.get(join(root, 'nope'))).toEqual({});
  });
});
