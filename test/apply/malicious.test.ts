/**
 * The malicious corpus (semantics.md "Malicious layers"): each layer is built here, applied to a
 * node temp dir and to a MemoryFs, each with a sentinel tree beside the target. Every case is
 * either refused with its code (and the target left marked incomplete) or contained (its effect
 * stays inside the target); the sentinel is unchanged either way.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { gzipSync } from 'node:zlib';
import '../../src/platform/node.ts';
import { applyLayers, INCOMPLETE_MARKER, type LayerSource } from '../../src/oci/apply.ts';
import { encodeHeader } from '../../src/tar/header.ts';
import type { ErrorCode } from '../../src/errors.ts';
import { D, F, L, S, W, fixChecksum, layer, makeSite, type Site } from './helpers.ts';

type Expect = { code: ErrorCode } | { contained: (site: Site, list: string[]) => void | Promise<void> };

interface Case {
  name: string;
  layers: (site: Site) => Promise<Uint8Array[]>;
  expect: Expect;
  limits?: Record<string, number>;
}

const has = (list: string[], prefix: string) => list.some((l) => l.startsWith(prefix));

const CASES: Case[] = [
  {
    // A directory's mode and times are set after the layer (A9). Remembering its host path at
    // creation would chmod through a parent that a later entry of the same layer replaced with a
    // symlink out of the root (here: outside/etc would become 0777). They are resolved again.
    name: 'directory mode deferred to the end of the layer, its parent replaced by a symlink out meanwhile',
    layers: async () => [await layer(D('a'), D('a/etc', { mode: 0o777 }), W('.wh.a'), S('a', '../../outside'))],
    expect: { contained: (_s, l) => expect(l).toEqual(['a symlink  -> ../../outside']) },
  },
  { name: '../x', layers: async () => [await layer(F('../x', 'pwned'))], expect: { code: 'ERR_UNSAFE_PATH' } },
  { name: '/../x', layers: async () => [await layer(F('/../x', 'pwned'))], expect: { code: 'ERR_UNSAFE_PATH' } },
  { name: 'bare ..', layers: async () => [await layer(D('..'))], expect: { code: 'ERR_UNSAFE_PATH' } },
  { name: 'a/../../x', layers: async () => [await layer(D('a'), F('a/../../x', 'pwned'))], expect: { code: 'ERR_UNSAFE_PATH' } },
  { name: 'sibling-prefix escape ../target-evil/x', layers: async () => [await layer(F('../target-evil/x', 'pwned'))], expect: { code: 'ERR_UNSAFE_PATH' } },
  {
    name: 'symlink (absolute, to the real outside) then write through it',
    layers: async (s) => [await layer(S('link', `${s.base}/outside`), F('link/secret', 'pwned'))],
    expect: { contained: (s, l) => expect(l).toContain(`${s.base.slice(1)}/outside/secret file 644 pwned`) },
  },
  {
    name: 'symlink up-and-out (../../outside) then write through it',
    layers: async () => [await layer(S('up', '../../outside'), F('up/secret', 'pwned'))],
    expect: { contained: (_s, l) => expect(l).toContain('outside/secret file 644 pwned') },
  },
  {
    name: 'symlink to a sibling prefix (../target-evil) then write through it',
    layers: async () => [await layer(S('ev', '../target-evil'), F('ev/x', 'pwned'))],
    expect: { contained: (_s, l) => expect(l).toContain('target-evil/x file 644 pwned') },
  },
  {
    name: 'multiple relative symlinks climbing out',
    layers: async () => [await layer(D('a'), S('a/up', '..'), S('a/up2', 'up/..'), S('b', 'a/up2/../../..'), F('b/outside/secret', 'pwned'))],
    expect: { contained: (_s, l) => expect(l).toContain('outside/secret file 644 pwned') },
  },
  {
    name: 'symlink to / then foo/tmp/x',
    layers: async () => [await layer(S('foo', '/'), F('foo/tmp/x', 'pwned'))],
    expect: { contained: (_s, l) => expect(l).toContain('tmp/x file 644 pwned') },
  },
  {
    name: 'symlink loop',
    layers: async () => [await layer(S('a', 'b'), S('b', 'a'), F('a/x', 'x'))],
    expect: { code: 'ERR_UNSAFE_PATH' },
  },
  {
    name: 'a layer writes through a symlink left by a lower layer',
    layers: async (s) => [await layer(S('etc', `${s.base}/outside/etc`)), await layer(F('etc/passwd', 'pwned'))],
    expect: { contained: (s, l) => expect(l).toContain(`${s.base.slice(1)}/outside/etc/passwd file 644 pwned`) },
  },
  { name: 'hardlink out of root (relative)', layers: async () => [await layer(L('h', '../outside/secret'))], expect: { code: 'ERR_UNSAFE_LINK' } },
  { name: 'hardlink out of root (absolute)', layers: async (s) => [await layer(L('h', `${s.base}/outside/secret`))], expect: { code: 'ERR_UNSAFE_LINK' } },
  {
    name: 'hardlink through a symlinked parent',
    layers: async (s) => [await layer(S('sl', `${s.base}/outside`), L('h', 'sl/secret'))],
    expect: { code: 'ERR_UNSAFE_LINK' },
  },
  {
    name: 'hardlink through a relative symlinked parent',
    layers: async () => [await layer(S('sl', '../outside'), L('h', 'sl/secret'))],
    expect: { code: 'ERR_UNSAFE_LINK' },
  },
  { name: 'hardlink to a directory', layers: async () => [await layer(D('d'), L('h', 'd'))], expect: { code: 'ERR_UNSAFE_LINK' } },
  { name: 'hardlink to something not there yet', layers: async () => [await layer(L('h', 'later'), F('later', 'x'))], expect: { code: 'ERR_UNSAFE_LINK' } },
  {
    name: 'hardlink to a symlink, then chmod (CVE-2021-32760)',
    layers: async (s) => [await layer(S('sym', `${s.base}/outside/secret`), L('hl', 'sym', { mode: 0o777 }), L('hl2', 'sym', { mode: 0o4777 }))],
    expect: { contained: (_s, l) => expect(l.filter((x) => x.startsWith('hl'))).toEqual([expect.stringMatching(/^hl symlink {2}->/), expect.stringMatching(/^hl2 symlink {2}->/)]) },
  },
  { name: 'whiteout .wh.', layers: async () => [await layer(W('.wh.'))], expect: { code: 'ERR_INVALID_WHITEOUT' } },
  { name: 'whiteout .wh..', layers: async () => [await layer(W('.wh..'))], expect: { code: 'ERR_INVALID_WHITEOUT' } },
  { name: 'whiteout etc/.wh..', layers: async () => [await layer(D('etc'), W('etc/.wh..'))], expect: { code: 'ERR_INVALID_WHITEOUT' } },
  { name: 'whiteout .wh...', layers: async () => [await layer(W('.wh...'))], expect: { code: 'ERR_INVALID_WHITEOUT' } },
  {
    name: 'whiteout dne/../.wh.etc removes etc in the target only',
    layers: async () => [await layer(D('etc'), F('etc/passwd', 'in target'), F('keep', 'k')), await layer(W('dne/../.wh.etc'))],
    expect: { contained: (_s, l) => expect(l).toEqual(['keep file 644 k']) },
  },
  {
    name: '.wh.link removes the link, not its target',
    layers: async (s) => [await layer(F('real', 'r'), S('link', 'real'), S('out', `${s.base}/outside/secret`)), await layer(W('.wh.link'), W('.wh.out'))],
    expect: { contained: (_s, l) => expect(l).toEqual(['real file 644 r']) },
  },
  {
    name: 'whiteout through a symlinked parent stays inside',
    layers: async (s) => [await layer(S('o', `${s.base}/outside`)), await layer(W('o/.wh.secret'), W('o/.wh.etc'))],
    expect: { contained: (_s, l) => expect(l).toEqual([expect.stringMatching(/^o symlink/)]) },
  },
  {
    name: 'opaque marker through a symlinked parent stays inside',
    layers: async (s) => [await layer(S('o', `${s.base}/outside`)), await layer(W('o/.wh..wh..opq'))],
    expect: { contained: (s, l) => expect(l).toEqual([expect.stringMatching(/^o symlink/), ...dirsOf(s.base), `${s.base.slice(1)}/outside dir 755`]) },
  },
  { name: 'root replaced by a symlink (./)', layers: async () => [await layer(S('./', '/etc'))], expect: { code: 'ERR_UNSAFE_PATH' } },
  { name: 'root replaced by a symlink (.)', layers: async () => [await layer(S('.', '..'))], expect: { code: 'ERR_UNSAFE_PATH' } },
  { name: 'root replaced by a file (/)', layers: async () => [await layer(F('/', 'x'))], expect: { code: 'ERR_UNSAFE_PATH' } },
  { name: 'root replaced by a hardlink', layers: async () => [await layer(F('a', 'x'), L('./', 'a'))], expect: { code: 'ERR_UNSAFE_PATH' } },
  { name: 'the incomplete marker name', layers: async () => [await layer(F(INCOMPLETE_MARKER, 'x'))], expect: { code: 'ERR_UNSAFE_PATH' } },
  { name: 'file as a parent directory', layers: async () => [await layer(F('f', 'x'), F('f/y', 'y'))], expect: { code: 'ERR_LAYER_CONFLICT' } },
  {
    name: 'decompression bomb (gzip, 64 MiB of zeros, limit 8 MiB)',
    layers: async () => [gzipSync(await layer({ header: { name: 'bomb', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 64 << 20, mtime: 0 }, body: zeros(64 << 20) }))],
    limits: { maxBytes: 8 << 20 },
    expect: { code: 'ERR_LIMIT_EXCEEDED' },
  },
  {
    name: 'huge entry count (limit 1000)',
    layers: async () => [await layer(...Array.from({ length: 1001 }, (_, i) => F(`f${i}`, '')))],
    limits: { maxEntries: 1000 },
    expect: { code: 'ERR_LIMIT_EXCEEDED' },
  },
  { name: 'name longer than PATH_MAX (PAX path)', layers: async () => [await layer(F('a/'.repeat(2100) + 'x', ''))], expect: { code: 'ERR_LIMIT_EXCEEDED' } },
  {
    name: 'PAX header larger than maxHeaderBytes',
    layers: async () => [await layer({ header: { name: 'x', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, xattrs: { 'user.big': new Uint8Array(2 << 20) } } })],
    expect: { code: 'ERR_LIMIT_EXCEEDED' },
  },
  {
    name: 'GNU long name larger than maxNameBytes',
    layers: async () => [rawGnuLongName('b'.repeat(5000))],
    expect: { code: 'ERR_LIMIT_EXCEEDED' },
  },
  {
    name: 'overlay xattrs in a layer are not applied',
    layers: async () => [await layer(D('d', { xattrs: { 'trusted.overlay.redirect': new TextEncoder().encode('/etc') } }))],
    expect: { contained: (_s, l) => expect(l).toEqual(['d dir 755']) },
  },
];

function dirsOf(_base: string): string[] {
  // The opaque case re-creates the absolute symlink's path as directories inside the target.
  const parts = _base.slice(1).split('/');
  return parts.map((_, i) => `${parts.slice(0, i + 1).join('/')} dir 755`);
}

function* zeros(n: number): Generator<Uint8Array> {
  const chunk = new Uint8Array(1 << 20);
  for (let left = n; left > 0; left -= chunk.length) yield chunk.subarray(0, Math.min(left, chunk.length));
}

/** A GNU 'L' long-name header by hand (the repo's writer uses PAX). */
function rawGnuLongName(name: string): Uint8Array {
  const data = new TextEncoder().encode(name + '\0');
  const h = encodeHeader({ name: '././@LongLink', type: 'file', mode: 0, uid: 0, gid: 0, size: data.length, mtime: 0 });
  h[156] = 0x4c; // 'L'
  fixChecksum(h);
  const pad = Math.ceil(data.length / 512) * 512;
  const entry = encodeHeader({ name: 'short', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 });
  const out = new Uint8Array(512 + pad + 512 + 1024);
  out.set(h, 0);
  out.set(data, 512);
  out.set(entry, 512 + pad);
  return out;
}


for (const kind of ['node', 'memory'] as const) {
  describe(`malicious layers on the ${kind} fs`, () => {
    let site: Site | undefined;
    afterEach(() => site?.dispose());

    for (const c of CASES) {
      test(c.name, async () => {
        site = await makeSite(kind);
        const s = site;
        const before = await s.sentinel();
        expect(before.length).toBeGreaterThan(4);
        const layers: LayerSource[] = (await c.layers(s)).map((blob, i) => ({ blob: [blob], name: `${c.name}#${i}` }));
        const run = applyLayers(layers, s.target, { fs: s.fs, limits: c.limits });
        if ('code' in c.expect) {
          await expect(run).rejects.toMatchObject({ code: c.expect.code });
          // Refused: the target stays marked incomplete, and a later apply says so.
          expect(await s.list()).toContain(`${INCOMPLETE_MARKER} file 644 layerkit apply in progress or failed; this tree is not complete\n`);
          await expect(applyLayers([{ blob: [await layer(F('ok', 'x'))] }], s.target, { fs: s.fs })).rejects.toMatchObject({ code: 'ERR_TARGET_INCOMPLETE' });
        } else {
          await run;
          const list = await s.list();
          expect(has(list, INCOMPLETE_MARKER)).toBe(false);
          await c.expect.contained(s, list);
        }
        expect(await s.sentinel()).toEqual(before);
      });
    }
  });
}
