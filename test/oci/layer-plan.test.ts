import { describe, expect, test } from 'vitest';
import { planLayer, type PlanItem } from '../../src/oci/layer-plan.ts';
import { diffEntries } from '../../src/tree/changes.ts';
import type { Entry } from '../../src/tree/entry.ts';
import type { LayerkitError } from '../../src/errors.ts';
import { dir, file, socket, symlink, tree } from '../fixtures/entries.ts';

/** The layer as lines: "dir a/", "file a/x", "link b -> a", "wh a/.wh.x", "opq a/.wh..wh..opq". */
function layerOf(oldT: Entry[], newT: Entry[], opts: { opaque?: boolean; withOld?: boolean } = {}): string[] {
  const items = planLayer({
    changes: diffEntries(oldT, newT),
    newEntries: newT,
    ...(opts.withOld === false ? {} : { oldEntries: oldT }),
    ...(opts.opaque === undefined ? {} : { opaque: opts.opaque }),
  });
  return items.map(render);
}

function render(i: PlanItem): string {
  switch (i.kind) {
    case 'entry': return `${i.entry.type} ${i.path}${i.entry.type === 'dir' ? '/' : ''}`;
    case 'link': return `link ${i.path} -> ${i.target}`;
    case 'whiteout': return `wh ${i.path}`;
    case 'opaque': return `opq ${i.path}`;
  }
}

const base = tree(
  dir('etc'), file('etc/hosts', { content: 'h' }), file('etc/passwd', { content: 'p' }),
  dir('usr'), dir('usr/lib'), dir('usr/lib/x'), file('usr/lib/x/a'), file('usr/lib/x/b'), file('usr/lib/y'),
  dir('var'), dir('var/log'), file('var/log/old'),
);
const without = (t: Entry[], ...paths: string[]): Entry[] => t.filter((e) => !paths.includes(e.path));
const replace = (t: Entry[], e: Entry): Entry[] => t.map((x) => (x.path === e.path ? e : x));

describe('planLayer: exact layer contents', () => {
  test('empty diff: empty layer', () => {
    expect(layerOf(base, base)).toEqual([]);
  });

  test('directory mtime-only change: empty layer', () => {
    expect(layerOf(base, base.map((e) => (e.type === 'dir' ? { ...e, mtimeNs: e.mtimeNs + 10n ** 10n } : e)))).toEqual([]);
  });

  test('parent inclusion: unchanged parents written once, before their children', () => {
    const next = tree(...base.slice(1), file('usr/lib/x/c'), file('usr/lib/z'));
    expect(layerOf(base, next)).toEqual(['dir usr/', 'dir usr/lib/', 'dir usr/lib/x/', 'file usr/lib/x/c', 'file usr/lib/z']);
  });

  test('parents carry the new tree metadata', () => {
    const next = tree(...replace(base, dir('usr', { mode: 0o700, uid: 3 })).slice(1), file('usr/new'));
    const items = planLayer({ changes: diffEntries(base, next), newEntries: next });
    const usr = items.find((i) => i.path === 'usr');
    expect(usr?.kind === 'entry' && usr.entry.mode).toBe(0o700);
    expect(items.filter((i) => i.path === 'usr')).toHaveLength(1); // modified dir, not written twice
  });

  test('whiteout includes parents', () => {
    expect(layerOf(base, without(base, 'usr/lib/x/a'))).toEqual(['dir usr/', 'dir usr/lib/', 'dir usr/lib/x/', 'wh usr/lib/x/.wh.a']);
  });

  test('one whiteout per removed tree', () => {
    expect(layerOf(base, without(base, 'usr/lib/x', 'usr/lib/x/a', 'usr/lib/x/b'))).toEqual(['dir usr/', 'dir usr/lib/', 'wh usr/lib/.wh.x']);
    expect(layerOf(base, without(base, 'usr', 'usr/lib', 'usr/lib/x', 'usr/lib/x/a', 'usr/lib/x/b', 'usr/lib/y'))).toEqual(['wh .wh.usr']);
  });

  test('opaque instead of whiteouts when all old children go and it is smaller', () => {
    const next = without(base, 'usr/lib/x', 'usr/lib/x/a', 'usr/lib/x/b', 'usr/lib/y');
    expect(layerOf(base, next)).toEqual(['dir usr/', 'dir usr/lib/', 'opq usr/lib/.wh..wh..opq']);
    // umoci style on request, and without the old tree (not provable): whiteouts.
    const whs = ['dir usr/', 'dir usr/lib/', 'wh usr/lib/.wh.x', 'wh usr/lib/.wh.y'];
    expect(layerOf(base, next, { opaque: false })).toEqual(whs);
    expect(layerOf(base, next, { withOld: false })).toEqual(whs);
  });

  test('opaque with new children: marker first, new children kept', () => {
    const next = tree(...without(base, 'usr/lib/x', 'usr/lib/x/a', 'usr/lib/x/b', 'usr/lib/y').slice(1), file('usr/lib/n'));
    expect(layerOf(base, next)).toEqual(['dir usr/', 'dir usr/lib/', 'opq usr/lib/.wh..wh..opq', 'file usr/lib/n']);
  });

  test('opaque counts replaced non-directories as gone', () => {
    // x/a deleted, x/b deleted, ... in usr/lib: x removed, y replaced by new content -> still all gone.
    const next = replace(without(base, 'usr/lib/x', 'usr/lib/x/a', 'usr/lib/x/b'), file('usr/lib/y', { content: 'new' }));
    // Only one delete (x): a whiteout is as small as a marker, so no marker.
    expect(layerOf(base, next)).toEqual(['dir usr/', 'dir usr/lib/', 'wh usr/lib/.wh.x', 'file usr/lib/y']);
    const t = tree(dir('d'), file('d/1'), file('d/2'), file('d/3'));
    const n = tree(dir('d'), file('d/3', { content: 'changed' }));
    expect(layerOf(t, n)).toEqual(['dir d/', 'opq d/.wh..wh..opq', 'file d/3']);
  });

  test('no opaque when an old child survives', () => {
    const t = tree(dir('d'), file('d/1'), file('d/2'), file('d/keep'));
    expect(layerOf(t, tree(dir('d'), file('d/keep')))).toEqual(['dir d/', 'wh d/.wh.1', 'wh d/.wh.2']);
    // A surviving child directory whose metadata changed also blocks it (its old children stay).
    const t2 = tree(dir('d'), file('d/1'), file('d/2'), dir('d/s'), file('d/s/k'));
    const n2 = tree(dir('d'), dir('d/s', { mode: 0o700 }), file('d/s/k'));
    expect(layerOf(t2, n2)).toEqual(['dir d/', 'wh d/.wh.1', 'wh d/.wh.2', 'dir d/s/']);
  });

  test('root-level opaque', () => {
    const t = tree(file('a'), file('b'));
    expect(layerOf(t, tree(file('c')))).toEqual(['opq .wh..wh..opq', 'file c']);
  });

  test('sockets ignored; a file that became a socket is whited out', () => {
    expect(layerOf(base, tree(...base.slice(1), socket('var/log/sock')))).toEqual([]);
    const next = replace(base, socket('var/log/old'));
    expect(layerOf(base, next)).toEqual(['dir var/', 'dir var/log/', 'wh var/log/.wh.old']);
  });

  test('type changes: dir -> file, file -> dir, file -> symlink', () => {
    const n1 = tree(...without(base, 'usr/lib/x', 'usr/lib/x/a', 'usr/lib/x/b').slice(1), file('usr/lib/x', { content: 'f' }));
    expect(layerOf(base, n1)).toEqual(['dir usr/', 'dir usr/lib/', 'file usr/lib/x']);
    const n2 = tree(...without(base, 'etc/hosts').slice(1), dir('etc/hosts'), file('etc/hosts/k'));
    expect(layerOf(base, n2)).toEqual(['dir etc/', 'dir etc/hosts/', 'file etc/hosts/k']);
    const n3 = replace(base, symlink('etc/hosts', '/run/hosts'));
    expect(layerOf(base, n3)).toEqual(['dir etc/', 'symlink etc/hosts']);
  });

  test('chmod only and chown only: just those entries (and parents)', () => {
    const n = replace(replace(base, file('etc/hosts', { content: 'h', mode: 0o600 })), file('var/log/old', { uid: 1000 }));
    expect(layerOf(base, n)).toEqual(['dir etc/', 'file etc/hosts', 'dir var/', 'dir var/log/', 'file var/log/old']);
  });

  describe('hardlinks (G5)', () => {
    test('new names of a new inode: first as file, later as links', () => {
      const n = tree(...base.slice(1), dir('bin'), file('bin/a', { inode: 9 }), file('bin/b', { inode: 9 }), file('etc/c', { inode: 9 }));
      expect(layerOf(base, n)).toEqual(['dir bin/', 'file bin/a', 'link bin/b -> bin/a', 'dir etc/', 'link etc/c -> bin/a']);
    });

    test('additionalLinks: a new name for an unchanged file brings the unchanged names along', () => {
      const o = tree(dir('a'), file('a/x', { inode: 1 }), dir('b'), file('b/y', { inode: 1 }), dir('c'));
      const n = tree(dir('a'), file('a/x', { inode: 1 }), dir('b'), file('b/y', { inode: 1 }), dir('c'), file('c/z', { inode: 1 }));
      expect(layerOf(o, n)).toEqual(['dir a/', 'file a/x', 'dir b/', 'link b/y -> a/x', 'dir c/', 'link c/z -> a/x']);
    });

    test('modified content of a linked file: every name written, never a link into a lower layer', () => {
      const o = tree(file('p', { inode: 1, content: 'v1' }), file('q', { inode: 1, content: 'v1' }));
      const n = tree(file('p', { inode: 1, content: 'v22' }), file('q', { inode: 1, content: 'v22' }));
      expect(layerOf(o, n)).toEqual(['file p', 'link q -> p']);
    });

    test('unchanged linked files: nothing', () => {
      const t = tree(file('p', { inode: 1 }), file('q', { inode: 1 }));
      expect(layerOf(t, t)).toEqual([]);
    });

    test('a name leaves the group (rewritten file): only that name', () => {
      const o = tree(file('p', { inode: 1 }), file('q', { inode: 1 }));
      const n = tree(file('p', { inode: 1 }), file('q', { inode: 2, content: 'new' }));
      expect(layerOf(o, n)).toEqual(['file q']);
    });
  });

  test('a real file named .wh.* is refused (G6)', () => {
    const n = tree(...base.slice(1), file('etc/.wh.evil'));
    try {
      layerOf(base, n);
      expect.unreachable();
    } catch (e) {
      expect((e as LayerkitError).code).toBe('ERR_WHITEOUT_NAME');
    }
  });

  test('a changed path whose parent is not a directory in the new tree is refused', () => {
    expect(() => planLayer({ changes: [{ kind: 'add', path: 'nope/x', new: file('nope/x') }], newEntries: tree(file('nope/x')) })).toThrow(/not a directory/);
  });
});
