import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { diffEntries, sameEntry } from '../../src/tree/changes.ts';
import { comparePaths, type Entry } from '../../src/tree/entry.ts';
import { LayerkitError } from '../../src/errors.ts';
import { T0, dir, file, show, socket, symlink, tree, fifo } from '../fixtures/entries.ts';

const H1 = new Uint8Array(32).fill(1);
const H2 = new Uint8Array(32).fill(2);

describe('diffEntries: exact output', () => {
  const base = tree(dir('a'), file('a/x', { content: 'x' }), dir('a/b'), file('a/b/y', { content: 'y' }), file('a-b'), symlink('l', 'a/x'));

  test('empty diff', () => {
    expect(diffEntries(base, base)).toEqual([]);
    expect(diffEntries(base, base.map((e) => ({ ...e, inode: 7 })))).toEqual([]);
  });

  test('an add deep in unchanged dirs lists only the new entry (the writer adds parents)', () => {
    const next = tree(...base.slice(1), file('a/b/z', { content: 'z' }));
    expect(show(diffEntries(base, next))).toEqual(['A a/b/z']);
  });

  test('containerd order: children right after their parent, before "a-b"', () => {
    const next = tree(dir('a', { mode: 0o700 }), file('a/x', { content: 'XX' }), dir('a/b'), file('a/b/y', { content: 'y' }), file('a-b', { mode: 0o600 }), symlink('l', 'a/x'));
    expect(show(diffEntries(base, next))).toEqual(['C a', 'C a/x', 'C a-b']);
  });

  test('a removed tree is one delete, flagged subtree', () => {
    const next = tree(file('a-b'), symlink('l', 'a/x'));
    const ch = diffEntries(base, next);
    expect(show(ch)).toEqual(['D a']);
    expect(ch[0].subtree).toBe(true);
    expect(ch[0].old?.type).toBe('dir');
  });

  test('a deleted file is not flagged subtree', () => {
    const next = base.filter((e) => e.path !== 'a/x');
    const ch = diffEntries(base, next);
    expect(show(ch)).toEqual(['D a/x']);
    expect(ch[0].subtree).toBeUndefined();
  });

  test('dir -> file: one modify, the old children implied gone', () => {
    const next = tree(file('a', { content: 'now a file' }), file('a-b'), symlink('l', 'a/x'));
    const ch = diffEntries(base, next);
    expect(show(ch)).toEqual(['C a']);
    expect(ch[0].subtree).toBe(true);
  });

  test('file -> dir: modify, then its children as adds', () => {
    const next = tree(...base.slice(1).filter((e) => e.path !== 'a-b'), dir('a-b'), file('a-b/k'));
    expect(show(diffEntries(base, next))).toEqual(['C a-b', 'A a-b/k']);
  });

  test('file -> symlink and symlink target change', () => {
    const next = base.map((e) => (e.path === 'a-b' ? symlink('a-b', 'x') : e.path === 'l' ? symlink('l', 'a/b') : e));
    expect(show(diffEntries(base, next))).toEqual(['C a-b', 'C l']);
  });

  test('chmod only, chown only (uid, gid)', () => {
    const next = base.map((e) => (e.path === 'a/x' ? { ...e, mode: 0o600 } : e.path === 'a/b/y' ? { ...e, uid: 1000 } : e.path === 'a-b' ? { ...e, gid: 5 } : e));
    expect(show(diffEntries(base, next))).toEqual(['C a/b/y', 'C a/x', 'C a-b']);
  });

  test('setuid bit alone is a change', () => {
    const next = base.map((e) => (e.path === 'a/x' ? { ...e, mode: 0o4644 } : e));
    expect(show(diffEntries(base, next))).toEqual(['C a/x']);
  });

  test('directory mtime or size only: not a change (G4)', () => {
    const next = base.map((e) => (e.type === 'dir' ? { ...e, mtimeNs: e.mtimeNs + 5_000_000_000n, size: 4096 } : e));
    expect(diffEntries(base, next)).toEqual([]);
  });

  test('file mtime differing only in nanoseconds is a change', () => {
    const next = base.map((e) => (e.path === 'a/x' ? { ...e, mtimeNs: e.mtimeNs + 1n } : e));
    expect(show(diffEntries(base, next))).toEqual(['C a/x']);
  });

  test('same size, same mtime, new content (hashes differ) is a change', () => {
    const o = tree(file('f', { content: 'aaaa', blake3: H1 }));
    const n = tree(file('f', { content: 'bbbb', blake3: H2 }));
    expect(show(diffEntries(o, n))).toEqual(['C f']);
  });

  test('same content and metadata, different inode: unchanged', () => {
    const o = tree(file('f', { content: 'aaaa', blake3: H1, inode: 1 }));
    const n = tree(file('f', { content: 'aaaa', blake3: H1.slice(), inode: 99 }));
    expect(diffEntries(o, n)).toEqual([]);
  });

  test('equal metadata with sub-second mtimes and no hashes: unchanged (content is not read)', () => {
    const o = tree(file('f', { content: 'aaaa' }));
    const n = tree(file('f', { content: 'bbbb' }));
    expect(diffEntries(o, n)).toEqual([]);
  });

  test('whole-second mtimes without hashes are ambiguous: changed; equal hashes settle it', () => {
    const sec = 1_700_000_000_000_000_000n;
    const o = tree(file('f', { content: 'aaaa', mtimeNs: sec }));
    const n = tree(file('f', { content: 'aaaa', mtimeNs: sec }));
    expect(show(diffEntries(o, n))).toEqual(['C f']);
    const oh = tree(file('f', { content: 'aaaa', mtimeNs: sec, blake3: H1 }));
    const nh = tree(file('f', { content: 'aaaa', mtimeNs: sec, blake3: H1 }));
    expect(diffEntries(oh, nh)).toEqual([]);
  });

  test('xattrs: added, changed value, removed', () => {
    const cap = { 'security.capability': new Uint8Array([1, 0, 0, 2]) };
    const o = tree(file('a', { xattrs: cap }), file('b', { xattrs: cap }), file('c', { xattrs: cap }), file('d'));
    const n = tree(file('a', { xattrs: { 'security.capability': new Uint8Array([1, 0, 0, 2]) } }), file('b', { xattrs: { 'security.capability': new Uint8Array([1, 0, 0, 3]) } }), file('c'), file('d', { xattrs: { 'user.x': new Uint8Array(0) } }));
    expect(show(diffEntries(o, n))).toEqual(['C b', 'C c', 'C d']);
  });

  test('device numbers and fifo metadata', () => {
    const o = tree({ path: 'null', type: 'char', mode: 0o666, uid: 0, gid: 0, size: 0, mtimeNs: T0, devmajor: 1, devminor: 3 }, fifo('p'));
    const n = tree({ path: 'null', type: 'char', mode: 0o666, uid: 0, gid: 0, size: 0, mtimeNs: T0, devmajor: 1, devminor: 5 }, fifo('p'));
    expect(show(diffEntries(o, n))).toEqual(['C null']);
  });

  test('sockets are ignored; a file that became a socket is deleted', () => {
    const o = tree(file('f'), socket('s'));
    expect(diffEntries(o, tree(file('f'), socket('s2'), socket('s', { mode: 0o700 })))).toEqual([]);
    expect(show(diffEntries(tree(file('f')), tree(socket('f'))))).toEqual(['D f']);
  });

  test('the root is never a change', () => {
    const o = tree(file('f'));
    const n = o.map((e) => (e.path === '' ? { ...e, mode: 0o700 } : e));
    expect(diffEntries(o, n)).toEqual([]);
  });

  test('unsorted input is refused', () => {
    const bad = [dir(''), file('b'), file('a')];
    expect(() => diffEntries(bad, [])).toThrowError(LayerkitError);
    try {
      diffEntries([], [dir(''), file('a-b'), dir('a')]);
    } catch (e) {
      expect((e as LayerkitError).code).toBe('ERR_INVALID_ARG');
    }
  });

  test('accepts generators (iterables)', () => {
    function* gen(): Generator<Entry> {
      yield* base;
    }
    expect(diffEntries(gen(), gen())).toEqual([]);
  });
});

// Property: applying the changes to the old tree (model of a layer apply) gives the new tree.
const NAMES = ['a', 'b', 'a-b', 'a.c'];
const pathsArb = fc.uniqueArray(fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }).map((p) => p.join('/')), { maxLength: 25 });
const metaArb = fc.record({ mode: fc.constantFrom(0o644, 0o755), uid: fc.constantFrom(0, 1), kind: fc.constantFrom('file', 'symlink', 'dir'), t: fc.constantFrom(1n, 2n), c: fc.constantFrom(1, 2) });

function buildTree(paths: string[], metas: { mode: number; uid: number; kind: string; t: bigint; c: number }[]): Entry[] {
  const all = new Set<string>();
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i <= parts.length; i++) all.add(parts.slice(0, i).join('/'));
  }
  const sorted = [...all].sort(comparePaths);
  return tree(...sorted.map((p, i) => {
    const m = metas[i % Math.max(1, metas.length)] ?? { mode: 0o644, uid: 0, kind: 'file', t: 1n, c: 1 };
    const isParent = sorted.some((q) => q.startsWith(p + '/'));
    const mtimeNs = T0 + m.t;
    if (isParent || m.kind === 'dir') return dir(p, { mode: m.mode, uid: m.uid, mtimeNs });
    if (m.kind === 'symlink') return symlink(p, `t${m.c}`, { uid: m.uid, mtimeNs });
    return file(p, { mode: m.mode, uid: m.uid, mtimeNs, size: m.c });
  }));
}

function applyModel(old: Entry[], changes: ReturnType<typeof diffEntries>): Map<string, Entry> {
  const m = new Map(old.filter((e) => e.path !== '').map((e) => [e.path, e] as const));
  const dropBelow = (p: string): void => {
    for (const k of [...m.keys()]) if (k.startsWith(p + '/')) m.delete(k);
  };
  for (const c of changes) {
    if (c.kind === 'delete') {
      m.delete(c.path);
      dropBelow(c.path);
    } else {
      if (c.old?.type === 'dir' && c.new!.type !== 'dir') dropBelow(c.path);
      m.set(c.path, c.new!);
    }
  }
  return m;
}

test('property: apply(old, diff(old, new)) == new; output sorted; diff(x, x) empty', () => {
  fc.assert(
    fc.property(pathsArb, fc.array(metaArb, { maxLength: 30 }), pathsArb, fc.array(metaArb, { maxLength: 30 }), (p1, m1, p2, m2) => {
      const a = buildTree(p1, m1);
      const b = buildTree(p2, m2);
      const ch = diffEntries(a, b);
      for (let i = 1; i < ch.length; i++) expect(comparePaths(ch[i - 1].path, ch[i].path)).toBeLessThan(0);
      expect(diffEntries(b, b)).toEqual([]);
      const got = applyModel(a, ch);
      const want = b.filter((e) => e.path !== '');
      expect([...got.keys()].sort(comparePaths)).toEqual(want.map((e) => e.path));
      for (const e of want) expect(sameEntry(got.get(e.path)!, e)).toBe(true);
      // Minimal: no listed modify is between equal entries.
      for (const c of ch) if (c.kind === 'modify' && c.old!.type === c.new!.type) expect(sameEntry(c.old!, c.new!)).toBe(false);
    }),
    { numRuns: 300 },
  );
});
