/** applyLayers semantics: whiteouts, opaque markers, hardlinks, metadata order, corrupt input, digests. */
import { afterEach, describe, expect, test } from 'vitest';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync, statSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import '../../src/platform/node.ts';
import { applyLayers, INCOMPLETE_MARKER } from '../../src/oci/apply.ts';
import { MemoryFs } from '../../src/fs/memory.ts';
import { nodeFs } from '../../src/fs/node.ts';
import { readTar } from '../../src/tar/reader.ts';
import { D, Dev, F, L, S, W, fixChecksum, layer, makeSite, type Site } from './helpers.ts';
import { sha256Hex, tempDir, runBytes } from '../fixtures/tools.ts';

const b = (x: Uint8Array) => [x];

for (const kind of ['node', 'memory'] as const) {
  describe(`apply semantics on the ${kind} fs`, () => {
    let site: Site | undefined;
    afterEach(() => site?.dispose());
    const apply = async (...layers: Uint8Array[]) => {
      site = await makeSite(kind);
      await applyLayers(layers.map((l) => ({ blob: b(l) })), site.target, { fs: site.fs });
      return site.list();
    };

    test('whiteouts: .wh..baz removes only .baz; a whiteout removes a tree; the whiteout is not created', async () => {
      const l = await apply(
        await layer(D('a'), F('a/.baz', '1'), F('a/baz', '2'), D('t'), D('t/u'), F('t/u/v', 'v')),
        await layer(D('a'), W('a/.wh..baz'), W('.wh.t'), W('.wh.missing'), W('nodir/.wh.x')),
      );
      expect(l).toEqual(['a dir 755', 'a/baz file 644 2']);
    });

    test('opaque keeps same-layer files written before it and clears lower ones (also below kept dirs)', async () => {
      const l = await apply(
        await layer(D('d'), F('d/old', 'o'), D('d/sub'), F('d/sub/old', 'o'), F('d/-x', 'lower')),
        await layer(D('d'), F('d/-x', 'new'), D('d/sub'), W('d/.wh..wh..opq'), F('d/sub/new', 'n')),
      );
      expect(l).toEqual(['d dir 755', 'd/-x file 644 new', 'd/sub dir 755', 'd/sub/new file 644 n']);
    });

    test('a whiteout of a symlinked directory followed earlier in the layer: later names resolve afresh', async () => {
      const l = await apply(
        await layer(D('real'), S('a', 'real')),
        await layer(F('a/f', 'through the link'), W('.wh.a'), D('a'), F('a/g', 'in the new directory')),
      );
      expect(l).toEqual(['a dir 755', 'a/g file 644 in the new directory', 'real dir 755', 'real/f file 644 through the link']);
    });

    test('root-level opaque', async () => {
      const l = await apply(await layer(F('a', 'a'), D('b')), await layer(F('c', 'c'), W('.wh..wh..opq')));
      expect(l).toEqual(['c file 644 c']);
    });

    test('type changes: file <-> dir <-> symlink; dir-on-dir merges attributes', async () => {
      const l = await apply(
        await layer(D('x'), F('x/in', '1'), F('y', 'file'), S('z', 'y'), D('m', { mode: 0o700 }), F('m/keep', 'k')),
        await layer(F('x', 'now a file'), D('y'), F('y/in', '2'), F('z', 'was a link'), D('m', { mode: 0o750 })),
      );
      expect(l).toEqual(['m dir 750', 'm/keep file 644 k', 'x file 644 now a file', 'y dir 755', 'y/in file 644 2', 'z file 644 was a link']);
    });

    test('hardlinks share content; missing parents are 0755; modes incl. setuid after chown', async () => {
      const l = await apply(await layer(F('deep/er/f', 'data', { mode: 0o4755, uid: 1000, gid: 1000 }), L('deep/h', 'deep/er/f'), S('s', 'deep/er/f')));
      expect(l).toEqual(['deep dir 755', 'deep/er dir 755', 'deep/er/f file 4755 data', 'deep/h file 4755 data', 's symlink  -> deep/er/f']);
      const st = await site!.fs.lstat(`${site!.target}/deep/h`);
      const st2 = await site!.fs.lstat(`${site!.target}/deep/er/f`);
      expect(st.ino).toBe(st2.ino);
      expect(st.nlink).toBe(2);
      expect([st2.uid, st2.gid]).toEqual([1000, 1000]);
    });

    test('times: files, symlinks and directories (directories set after the layer)', async () => {
      await apply(await layer(D('d', { mtime: 1000 }), F('d/f', 'x', { mtime: 2000 }), S('d/s', 'f', { mtime: 3000 })));
      const t = async (p: string) => Number((await site!.fs.lstat(`${site!.target}/${p}`)).mtimeNs / 1_000_000_000n);
      expect([await t('d'), await t('d/f'), await t('d/s')]).toEqual([1000, 2000, 3000]);
    });

    test('fifo is created; a device is created when privileged', async () => {
      const l = await apply(await layer(Dev('p', 'fifo'), Dev('null', 'char')));
      expect(l).toEqual(['null char 666', 'p fifo 666']);
    });

    const corrupt: [string, () => Promise<Uint8Array>, string][] = [
      ['cut inside a body', async () => (await layer(F('a', 'x'.repeat(5000)))).subarray(0, 512 + 1000), 'ERR_LAYER_TRUNCATED'],
      ['cut inside a header', async () => (await layer(F('a', 'x'), F('b', 'y'))).subarray(0, 1024 + 100), 'ERR_LAYER_TRUNCATED'],
      ['empty blob', async () => new Uint8Array(0), 'ERR_LAYER_TRUNCATED'],
      ['bad header checksum', async () => { const t = (await layer(F('a', 'x'))).slice(); t[0] = 0x62; return t; }, 'ERR_LAYER_CORRUPT'],
      ['not a tar (random text)', async () => new TextEncoder().encode('hello world, this is not a tar '.repeat(40)), 'ERR_LAYER_CORRUPT'],
      ['bad octal size', async () => { const t = (await layer(F('a', 'x'))).slice(); t[124] = 0x39; fixChecksum(t); return t; }, 'ERR_LAYER_CORRUPT'],
      ['malformed PAX record', async () => { const t = (await layer(F('a'.repeat(150), 'x'))).slice(); t[512] = 0x39; t[513] = 0x39; return t; }, 'ERR_LAYER_CORRUPT'],
      ['gzip cut short', async () => { const g = gzipSync(await layer(F('a', 'x'.repeat(100000)))); return g.subarray(0, g.length - 20); }, 'ERR_LAYER_TRUNCATED'],
      ['gzip corrupt', async () => { const g = gzipSync(await layer(F('a', 'abc'.repeat(1000)))).slice(); g.fill(0x55, 20, 40); return g; }, 'ERR_LAYER_CORRUPT'],
      ['zstd cut short', async () => { const z = runBytes('zstd', ['-q', '-c'], await layer(F('a', 'x'.repeat(100000)))); return z.subarray(0, z.length - 10); }, 'ERR_LAYER_TRUNCATED'],
      ['zstd corrupt', async () => { const z = runBytes('zstd', ['-q', '-c'], await layer(F('a', 'abc'.repeat(1000)))).slice(); z.fill(0x55, 12, 30); return z; }, 'ERR_LAYER_CORRUPT'],
      ['sparse entry', async () => { const t = (await layer(F('a', ''))).slice(); t[156] = 0x53; fixChecksum(t); return t; }, 'ERR_UNSUPPORTED'],
    ];
    test('a layer without end-of-archive blocks, or cut inside the last padding, applies (as containerd and umoci read it)', async () => {
      for (const cut of [1024, 512 + 1]) {
        site = await makeSite(kind);
        const r = await applyLayers([{ blob: b((await layer(F('a', 'x'))).subarray(0, cut)) }], site.target, { fs: site.fs });
        expect(r.layers[0]!.entries).toBe(1);
        expect(await site.list()).toEqual(['a file 644 x']);
      }
    });

    for (const [name, make, code] of corrupt) {
      test(`corrupt input: ${name} -> ${code}, target marked incomplete`, async () => {
        site = await makeSite(kind);
        await expect(applyLayers([{ blob: b(await make()) }], site.target, { fs: site.fs })).rejects.toMatchObject({ code });
        expect((await site.list()).some((x) => x.startsWith(INCOMPLETE_MARKER))).toBe(true);
      });
    }

    test('digest and diffID are verified (gzip); a mismatch fails after reading, target marked incomplete', async () => {
      const tar = await layer(F('a', 'x'));
      const gz = gzipSync(tar);
      site = await makeSite(kind);
      const r = await applyLayers([{ blob: b(gz), digest: `sha256:${sha256Hex(gz)}`, diffID: `sha256:${sha256Hex(tar)}` }], site.target, { fs: site.fs });
      expect(r.layers[0]).toMatchObject({ compression: 'gzip', digest: `sha256:${sha256Hex(gz)}`, diffID: `sha256:${sha256Hex(tar)}`, entries: 1 });
      const s2 = await makeSite(kind);
      try {
        const wrong = `sha256:${'0'.repeat(64)}`;
        await expect(applyLayers([{ blob: b(gz), digest: wrong }], s2.target, { fs: s2.fs })).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
        await expect(applyLayers([{ blob: b(gz), diffID: wrong }], s2.target, { fs: s2.fs, force: true })).rejects.toMatchObject({ code: 'ERR_DIGEST_MISMATCH' });
        expect((await s2.list()).some((x) => x.startsWith(INCOMPLETE_MARKER))).toBe(true);
      } finally {
        s2.dispose();
      }
    });
  });
}

describe('rootless apply on a MemoryFs that refuses chown and devices', () => {
  test('ownership recorded in user.rootlesscontainers (not for 0:0), devices skipped with a warning', async () => {
    const fs = new MemoryFs({ privileged: false, uid: 1000, gid: 1000 });
    await fs.mkdir('/t');
    const warnings: string[] = [];
    const r = await applyLayers([{ blob: [await layer(F('root-owned', 'r'), F('app', 'a', { uid: 1001, gid: 5 }), Dev('null', 'char'), Dev('p', 'fifo'))] }], '/t', {
      fs, onWarning: (w) => warnings.push(`${w.kind} ${w.path}`),
    });
    expect(r).toMatchObject({ rootless: true, devicesSkipped: 1, ownershipRecorded: 1 });
    expect(warnings).toEqual(['device-skipped null']);
    expect(await fs.readdir('/t')).toEqual(['root-owned', 'app', 'p']);
    expect(await fs.xattrs('/t/app')).toEqual({ 'user.rootlesscontainers': new Uint8Array([0x08, 0xe9, 0x07, 0x10, 0x05]) });
    expect(await fs.xattrs('/t/root-owned')).toEqual({});
    expect((await fs.lstat('/t/app')).uid).toBe(1000);
  });
  test('rootless: false makes a refused chown an error', async () => {
    const fs = new MemoryFs({ privileged: false });
    await fs.mkdir('/t');
    await expect(applyLayers([{ blob: [await layer(F('app', 'a', { uid: 7 }))] }], '/t', { fs, rootless: false })).rejects.toMatchObject({ code: 'ERR_IO' });
  });
});

describe('xattrs on the node fs (setfattr)', () => {
  test('SCHILY.xattr.* applied, read back with getfattr', async () => {
    const t = tempDir();
    try {
      const cap = new Uint8Array([1, 0, 0, 2, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      await applyLayers([{ blob: [await layer(F('f', 'x', { xattrs: { 'user.note': new TextEncoder().encode('hi'), 'security.capability': cap } }))] }], t.path, { fs: nodeFs });
      const out = execFileSync('getfattr', ['-d', '-m', '-', '-e', 'hex', join(t.path, 'f')], { encoding: 'utf8' });
      expect(out).toContain('user.note=0x6869');
      expect(out).toContain('security.capability=0x0100000280000000000000000000000000000000');
    } finally {
      t.dispose();
    }
  });
});

describe('a directory re-listed by a later layer: its xattrs are the entry\'s (as umoci)', () => {
  const enc = (t: string) => new TextEncoder().encode(t);
  for (const kind of ['node', 'memory'] as const) {
    test(`${kind}: dropped xattrs go, listed ones are set, other directories keep theirs`, async () => {
      const site = await makeSite(kind);
      try {
        await applyLayers([
          { blob: [await layer(D('d', { xattrs: { 'user.a': enc('1'), 'user.b': enc('2') } }), D('e', { xattrs: { 'user.keep': enc('k') } }), F('d/f', 'x'))] },
          { blob: [await layer(D('d', { xattrs: { 'user.b': enc('3') } }), F('d/g', 'y'))] },
        ], site.target, { fs: site.fs });
        const xa = async (p: string) => (kind === 'memory' ? await (site.fs as MemoryFs).xattrs(p) : (await nodeFs.xattrsOfMany!([p]))?.get(p) ?? {});
        expect(await xa(join(site.target, 'd'))).toEqual({ 'user.b': enc('3') });
        expect(await xa(join(site.target, 'e'))).toEqual({ 'user.keep': enc('k') });
      } finally {
        site.dispose();
      }
    });
  }
  test('security.selinux and system.* (ACLs) set on the target are not removed', async () => {
    const fs = new MemoryFs();
    await fs.mkdir('/t');
    await applyLayers([{ blob: [await layer(D('d', { xattrs: { 'user.a': enc('1') } }))] }], '/t', { fs });
    await fs.setXattr('/t/d', 'system.posix_acl_default', enc('acl'));
    await fs.setXattr('/t/d', 'security.selinux', enc('label'));
    await applyLayers([{ blob: [await layer(D('d'))] }], '/t', { fs });
    expect(await fs.xattrs('/t/d')).toEqual({ 'system.posix_acl_default': enc('acl'), 'security.selinux': enc('label') });
  });
  test('rootless: a directory re-listed as root-owned loses the owner recorded by a lower layer', async () => {
    const fs = new MemoryFs({ privileged: false, uid: 1000, gid: 1000 });
    await fs.mkdir('/t');
    await applyLayers([
      { blob: [await layer(D('app', { uid: 1001, gid: 5 }), D('other', { uid: 7, gid: 7 }))] },
      { blob: [await layer(D('app'), D('other', { uid: 8, gid: 8 }))] },
    ], '/t', { fs });
    expect(await fs.xattrs('/t/app')).toEqual({});
    expect(Object.keys(await fs.xattrs('/t/other'))).toEqual(['user.rootlesscontainers']);
  });
});

describe('layers made by GNU tar with hand-made whiteouts', () => {
  test('apply as the spec says (and our reader sees what GNU tar wrote)', async () => {
    const t = tempDir();
    try {
      const l1 = join(t.path, 'l1'); const l2 = join(t.path, 'l2');
      mkdirSync(join(l1, 'etc/conf.d'), { recursive: true });
      writeFileSync(join(l1, 'etc/conf.d/a'), 'a');
      writeFileSync(join(l1, 'etc/hosts'), 'hosts');
      mkdirSync(join(l1, 'var/lib'), { recursive: true });
      writeFileSync(join(l1, 'var/lib/db'), 'db');
      writeFileSync(join(l1, 'x'.repeat(120)), 'long name');
      mkdirSync(join(l2, 'etc/conf.d'), { recursive: true });
      writeFileSync(join(l2, 'etc/conf.d/.wh..wh..opq'), '');
      writeFileSync(join(l2, 'etc/conf.d/b'), 'b');
      writeFileSync(join(l2, '.wh.var'), '');
      writeFileSync(join(l2, 'etc/.wh.hosts'), '');
      const env = { ...process.env, LC_ALL: 'C' };
      const tar1 = execFileSync('tar', ['-C', l1, '--sort=name', '--format=gnu', '-cf', '-', '.'], { env, maxBuffer: 1 << 26 });
      const tar2 = execFileSync('tar', ['-C', l2, '--sort=name', '--format=posix', '-czf', '-', '.'], { env, maxBuffer: 1 << 26 });
      const names: string[] = [];
      for await (const e of readTar([tar1])) names.push(e.name);
      expect(names).toContain(`./${'x'.repeat(120)}`);
      const target = join(t.path, 'target');
      mkdirSync(target);
      const r = await applyLayers([{ blob: [tar1] }, { blob: [tar2] }], target, { fs: nodeFs });
      expect(r.layers.map((l) => l.compression)).toEqual(['none', 'gzip']);
      const listing = execFileSync('find', ['.', '-mindepth', '1', '-printf', '%y %p\n'], { cwd: target, encoding: 'utf8' }).trim().split('\n').sort();
      expect(listing).toEqual(['d ./etc', 'd ./etc/conf.d', 'f ./etc/conf.d/b', `f ./${'x'.repeat(120)}`]);
      expect(readFileSync(join(target, 'etc/conf.d/b'), 'utf8')).toBe('b');
      expect(statSync(join(target, 'etc')).isDirectory()).toBe(true);
      expect(() => lstatSync(join(target, INCOMPLETE_MARKER))).toThrow();
    } finally {
      t.dispose();
    }
  });
});
