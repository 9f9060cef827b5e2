/**
 * The changeset plan: changes -> the ordered list of layer entries (G1-G6, G9), before any byte is
 * read. Pure: entries in, items out, so the exact layer contents can be tested without tar.
 *
 * - Parents (G4): every ancestor directory of a written or whited-out path is written once, before
 *   it, with its metadata from the new tree. The root itself is never written.
 * - Deletes (G1, G2): one `.wh.<name>` per removed path; a removed directory's descendants are
 *   implied. A directory replaced by a non-directory is just the new entry (A6 removes the old).
 * - Opaque (G3): when `oldEntries` are given, a directory present in both trees whose old children
 *   are ALL deleted or replaced by non-directories, with at least two deletes, gets one
 *   `.wh..wh..opq` (right after the directory's own entry) instead of its whiteouts. Equivalent:
 *   nothing of the old directory survives anyway; smaller: 1 entry instead of N >= 2.
 * - Hardlinks (G5): names of one inode (same non-zero `inode` in the new tree, regular files) are
 *   written together: the first in path order as the file, the others as links to it. If any name
 *   of an inode is added or modified, its unchanged names are written too (containerd's
 *   additionalLinks), so a link never points into a lower layer.
 * - Sockets are never written (G9); a path that became a socket is deleted.
 * - A real entry named `.wh.*` is refused (G6).
 */
import type { Change, Entry } from '../tree/entry.ts';
import { comparePaths } from '../tree/entry.ts';
import { LayerkitError } from '../errors.ts';
import { assertNotWhiteoutName, opaqueFor, whiteoutFor } from './whiteout.ts';

export type PlanItem =
  /** Write `entry` (its type decides: dir, file with content, symlink, device, fifo). */
  | { kind: 'entry'; path: string; entry: Entry }
  /** A hardlink named `path` to the earlier item `target` (both regular files of one inode). */
  | { kind: 'link'; path: string; target: string; entry: Entry }
  /** `path` is the whiteout (".../.wh.x") that deletes `target`. */
  | { kind: 'whiteout'; path: string; target: string }
  /** `path` is the opaque marker of directory `dir`. */
  | { kind: 'opaque'; path: string; dir: string };

export interface PlanOptions {
  changes: Iterable<Change>;
  /** The new tree, sorted by comparePaths: parent metadata and hardlink groups come from here. */
  newEntries: Iterable<Entry>;
  /** The old tree, sorted. Needed only for opaque markers; without it, only whiteouts are used. */
  oldEntries?: Iterable<Entry>;
  /**
   * Instead of oldEntries: what the opaque choice needs of the old tree, collected while it streamed
   * past (summarizeOldTree). The old entry at a changed path is then taken from the change's `old`.
   */
  oldSummary?: OldTreeSummary;
  /** Use opaque markers where equivalent and smaller (default true; needs oldEntries or oldSummary). */
  opaque?: boolean;
}

/** The old tree as far as opaque markers care: its directories and how many entries each holds. */
export interface OldTreeSummary {
  dirs: Set<string>;
  /** Entries directly inside each directory ('' is the root). */
  children: Map<string, number>;
}

/** Collects an OldTreeSummary from entries as they stream past (add every entry, root included). */
export class OldTreeSummarizer {
  readonly summary: OldTreeSummary = { dirs: new Set(), children: new Map() };
  add(e: Entry): void {
    if (e.path === '') return;
    if (e.type === 'dir') this.summary.dirs.add(e.path);
    const p = parentOf(e.path);
    this.summary.children.set(p, (this.summary.children.get(p) ?? 0) + 1);
  }
}

/**
 * Whether planLayer needs `e` of the new tree: directories (parents' metadata) and regular files
 * with a hardlink id (their groups). Callers streaming the new tree may keep only these.
 */
export function planNeedsNewEntry(e: Entry): boolean {
  return e.type === 'dir' || (e.type === 'file' && !!e.inode);
}

interface Write {
  path: string;
  kind: 'write' | 'delete';
  entry?: Entry;
  /** The change's old entry, when the write comes from a change that has one. */
  old?: Entry;
  /** An unchanged further name of a changed hardlinked file (additionalLinks). */
  unchanged?: true;
}

export function planLayer(options: PlanOptions): PlanItem[] {
  const byPath = new Map<string, Entry>();
  const inodeNames = new Map<number, string[]>();
  let prev: string | undefined;
  for (const e of options.newEntries) {
    if (prev !== undefined && comparePaths(prev, e.path) >= 0) notSorted('newEntries', prev, e.path);
    prev = e.path;
    // Only what the plan looks up: parents (directories) and hardlink groups.
    if (!planNeedsNewEntry(e)) continue;
    byPath.set(e.path, e);
    if (e.type === 'file' && e.inode) {
      const names = inodeNames.get(e.inode);
      if (names) names.push(e.path);
      else inodeNames.set(e.inode, [e.path]);
    }
  }

  const writes = collectWrites(options.changes, byPath, inodeNames);
  const opaqueDirs = options.opaque !== false && (options.oldEntries || options.oldSummary)
    ? chooseOpaque(writes, options.oldEntries ?? options.oldSummary!, byPath)
    : new Set<string>();

  const items: PlanItem[] = [];
  const emitted = new Set<string>();
  const linkTarget = new Map<number, string>();

  const emitDir = (path: string, entry: Entry): void => {
    emitted.add(path);
    items.push({ kind: 'entry', path, entry });
    if (opaqueDirs.has(path)) items.push({ kind: 'opaque', path: opaqueFor(path), dir: path });
  };
  const emitParents = (path: string): void => {
    let k = path.indexOf('/');
    while (k >= 0) {
      const dir = path.slice(0, k);
      if (!emitted.has(dir)) {
        const e = byPath.get(dir);
        if (!e || e.type !== 'dir') {
          throw new LayerkitError('ERR_INVALID_ARG', `parent "${dir}" of changed path "${path}" is not a directory in the new tree`, { path, parent: dir });
        }
        emitDir(dir, e);
      }
      k = path.indexOf('/', k + 1);
    }
  };

  if (opaqueDirs.has('')) items.push({ kind: 'opaque', path: opaqueFor(''), dir: '' });
  for (const w of writes) {
    if (w.kind === 'delete') {
      emitParents(w.path); // also writes an opaque parent's marker
      if (opaqueDirs.has(parentOf(w.path))) continue;
      items.push({ kind: 'whiteout', path: whiteoutFor(w.path), target: w.path });
      continue;
    }
    const e = w.entry!;
    assertNotWhiteoutName(w.path);
    if (emitted.has(w.path)) continue;
    emitParents(w.path);
    if (e.type === 'dir') {
      emitDir(w.path, e);
      continue;
    }
    emitted.add(w.path);
    const group = e.type === 'file' && e.inode ? inodeNames.get(e.inode) : undefined;
    if (group && group.length > 1) {
      const target = linkTarget.get(e.inode!);
      if (target !== undefined) {
        items.push({ kind: 'link', path: w.path, target, entry: e });
        continue;
      }
      linkTarget.set(e.inode!, w.path);
    }
    items.push({ kind: 'entry', path: w.path, entry: e });
  }
  return items;
}

/** Changes (validated, sockets and root dropped) plus the extra hardlink names, sorted. */
function collectWrites(changes: Iterable<Change>, byPath: Map<string, Entry>, inodeNames: Map<number, string[]>): Write[] {
  const writes: Write[] = [];
  const written = new Set<string>();
  const touchedInodes = new Set<number>();
  let prev: string | undefined;
  for (const c of changes) {
    if (prev !== undefined && comparePaths(prev, c.path) >= 0) notSorted('changes', prev, c.path);
    prev = c.path;
    if (c.path === '') continue;
    if (c.kind === 'delete' || !c.new || c.new.type === 'socket') {
      // A path that became a socket is gone from the layer's point of view.
      if (c.kind === 'add') continue;
      writes.push({ path: c.path, kind: 'delete' });
      continue;
    }
    writes.push({ path: c.path, kind: 'write', entry: c.new, old: c.old });
    written.add(c.path);
    if (c.new.type === 'file' && c.new.inode && (inodeNames.get(c.new.inode)?.length ?? 0) > 1) touchedInodes.add(c.new.inode);
  }
  if (touchedInodes.size === 0) return writes;
  let extra = false;
  for (const ino of touchedInodes) {
    for (const name of inodeNames.get(ino)!) {
      if (written.has(name)) continue;
      writes.push({ path: name, kind: 'write', entry: byPath.get(name)!, unchanged: true });
      extra = true;
    }
  }
  if (extra) writes.sort((a, b) => comparePaths(a.path, b.path));
  return writes;
}

/** Directories whose whiteouts are replaced by one opaque marker (see the file comment). */
function chooseOpaque(writes: Write[], old: Iterable<Entry> | OldTreeSummary, byPath: Map<string, Entry>): Set<string> {
  const deletes = new Map<string, number>();
  const replaced = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string): void => {
    m.set(k, (m.get(k) ?? 0) + 1);
  };
  let summary: OldTreeSummary;
  let oldType: (w: Write) => string | undefined;
  if (isSummary(old)) {
    summary = old;
    // An unchanged name is the same entry in both trees.
    oldType = (w) => w.old?.type ?? (w.unchanged ? w.entry!.type : undefined);
  } else {
    // One pass over the old tree, keeping only the counts and the entries at written paths.
    const s = new OldTreeSummarizer();
    const writePaths = new Set<string>();
    for (const w of writes) if (w.kind === 'write') writePaths.add(w.path);
    const types = new Map<string, string>();
    for (const e of old) {
      s.add(e);
      if (writePaths.has(e.path)) types.set(e.path, e.type);
    }
    summary = s.summary;
    oldType = (w) => types.get(w.path);
  }
  for (const w of writes) {
    if (w.kind === 'delete') {
      bump(deletes, parentOf(w.path));
    } else {
      const t = oldType(w);
      if (t !== undefined && (t !== 'dir' || w.entry!.type !== 'dir')) bump(replaced, parentOf(w.path));
    }
  }
  const out = new Set<string>();
  for (const [dir, n] of deletes) {
    if (n < 2) continue;
    if (dir !== '' && byPath.get(dir)?.type !== 'dir') continue;
    if (dir !== '' && !summary.dirs.has(dir)) continue;
    if (n + (replaced.get(dir) ?? 0) === summary.children.get(dir)) out.add(dir);
  }
  return out;
}

function isSummary(x: Iterable<Entry> | OldTreeSummary): x is OldTreeSummary {
  return (x as OldTreeSummary).children instanceof Map && (x as OldTreeSummary).dirs instanceof Set;
}

function parentOf(path: string): string {
  const k = path.lastIndexOf('/');
  return k < 0 ? '' : path.slice(0, k);
}

function notSorted(what: string, prev: string, path: string): never {
  throw new LayerkitError('ERR_INVALID_ARG', `${what} are not sorted: "${prev}" before "${path}"`, { previous: prev, path });
}
