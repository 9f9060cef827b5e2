/**
 * commit: a union view's upper as one OCI layer, through the layer writer (changes -> plan -> tar).
 * Applied onto the lower stack (applyLayers), the layer gives the view's tree.
 *
 * The changes are found from the upper alone (as containerd's overlay differ does), never by
 * walking the lower stack: every object of the upper is an add (the lower stack has nothing at
 * that name), a modify (it differs from the lower object: type, mode, owner, xattrs, and for
 * non-directories also mtime, size, link target, devices; directories whose attributes match are
 * copies made to hold a child, and are no change) or nothing. Deletions come from the markers: a
 * whiteout whose name the lower stack has is a delete; below an opaque directory every lower name
 * the upper does not hold is a delete (recursively through directories both sides hold). The
 * planner then replaces a directory's whiteouts by one opaque marker where that is equivalent
 * and smaller (G3), given the lower tree's directory sizes.
 *
 * Memory: the upper's entries and the changes (bounded by the upper, not the stack).
 */
import type { Entry } from '../tree/entry.ts';
import { comparePaths, compareNames } from '../tree/entry.ts';
import type { TreeChange } from '../tree/changes.ts';
import { sameEntry } from '../tree/changes.ts';
import { isWhiteout } from '../oci/whiteout.ts';
import { hostPath } from '../oci/safe-path.ts';
import { writeLayer, type LayerOptions, type LayerResult, type LayerSink } from '../oci/layer-writer.ts';
import type { OldTreeSummary } from '../oci/layer-plan.ts';
import type { LowerNode } from './lower.ts';
import type { UnionView } from './view.ts';

export type CommitOptions = Omit<LayerOptions, 'changes' | 'newEntries' | 'oldEntries' | 'oldSummary' | 'fs' | 'root'>;

function join(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

function lowerEntry(n: LowerNode): Entry {
  const e: Entry = { path: n.path, type: n.type, mode: n.mode, uid: n.uid, gid: n.gid, size: n.type === 'file' ? n.size : 0, mtimeNs: n.mtimeNs };
  if (n.type === 'symlink') e.linkname = n.linkname;
  if (n.type === 'char' || n.type === 'block') {
    e.devmajor = n.devmajor;
    e.devminor = n.devminor;
  }
  if (n.xattrs && Object.keys(n.xattrs).length > 0) e.xattrs = n.xattrs;
  return e;
}

/** The upper's objects as Entries, sorted (markers left out; hardlink groups numbered). */
async function upperEntries(view: UnionView): Promise<Entry[]> {
  const fs = view.upper;
  const out: Entry[] = [];
  const inodes = new Map<string, number>();
  fs.prepareXattrs?.(view.upperRoot);
  const visit = async (rel: string): Promise<void> => {
    const host = hostPath(view.upperRoot, rel);
    const st = await fs.lstat(host);
    const e: Entry = { path: rel, type: st.type, mode: st.mode, uid: st.uid, gid: st.gid, size: st.type === 'file' ? st.size : 0, mtimeNs: st.mtimeNs };
    if (st.type === 'symlink') e.linkname = await fs.readlink(host);
    if (st.type === 'char' || st.type === 'block') {
      e.devmajor = st.devmajor;
      e.devminor = st.devminor;
    }
    if (st.type === 'file' && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      let id = inodes.get(key);
      if (id === undefined) inodes.set(key, (id = inodes.size + 1));
      e.inode = id;
      e.nlink = st.nlink;
    }
    if (fs.xattrs) {
      const x = await fs.xattrs(host);
      if (Object.keys(x).length > 0) e.xattrs = x;
    }
    out.push(e);
    if (st.type !== 'dir') return;
    const names = (await fs.readdir(host)).filter((n) => !isWhiteout(n)).sort(compareNames);
    for (const n of names) await visit(join(rel, n));
  };
  await visit('');
  return out;
}

/** The changes from the lower stack's tree to the view's tree, sorted. */
export async function viewChanges(view: UnionView): Promise<{ changes: TreeChange[]; newEntries: Entry[] }> {
  const newEntries = await upperEntries(view);
  const upperAt = new Map(newEntries.map((e) => [e.path, e]));
  const lower = view.lower;
  const byPath = new Map<string, TreeChange>();
  for (const e of newEntries) {
    if (e.path === '') continue;
    const n = await lower.get(e.path);
    if (!n) {
      byPath.set(e.path, { kind: 'add', path: e.path, new: e });
      continue;
    }
    const old = lowerEntry(n);
    if (old.type === 'dir' && e.type !== 'dir') byPath.set(e.path, { kind: 'modify', path: e.path, old, new: e, subtree: true });
    else if (!sameEntry(old, e)) byPath.set(e.path, { kind: 'modify', path: e.path, old, new: e });
  }
  const del = (n: LowerNode): void => {
    byPath.set(n.path, n.type === 'dir' ? { kind: 'delete', path: n.path, old: lowerEntry(n), subtree: true } : { kind: 'delete', path: n.path, old: lowerEntry(n) });
  };
  const { whiteouts, opaque } = view.markers();
  for (const w of whiteouts) {
    const n = await lower.get(w);
    if (n && !upperAt.has(w)) del(n);
  }
  // Below an opaque directory: lower names the upper does not hold are gone.
  const clear = async (dir: string): Promise<void> => {
    for (const c of await lower.children(dir)) {
      const p = join(dir, c);
      const u = upperAt.get(p);
      if (!u) del((await lower.get(p))!);
      else if (u.type === 'dir') await clear(p);
    }
  };
  for (const d of opaque) if (upperAt.get(d)?.type === 'dir') await clear(d);
  // Nothing below a name whose whole old subtree goes (the planner writes no children of those).
  const sorted = [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
  const changes: TreeChange[] = [];
  let cut: string | undefined;
  for (const c of sorted) {
    if (cut !== undefined && c.path.startsWith(`${cut}/`) && c.kind === 'delete') continue;
    changes.push(c);
    cut = c.subtree ? c.path : cut !== undefined && c.path.startsWith(`${cut}/`) ? cut : undefined;
  }
  return { changes, newEntries };
}

/**
 * What the planner needs of the lower tree to choose opaque markers: whether a directory is one
 * and how many names it holds. It asks only about the directories that lose names, so only those
 * are looked up (the summary grows with the change, not the image).
 */
async function lowerSummary(view: UnionView, changes: readonly TreeChange[]): Promise<OldTreeSummary> {
  const summary: OldTreeSummary = { dirs: new Set(), children: new Map() };
  const dirs = new Set<string>();
  for (const c of changes) if (c.kind === 'delete') dirs.add(parentOf(c.path));
  for (const d of dirs) {
    const n = await view.lower.get(d);
    if (n?.type !== 'dir') continue;
    if (d !== '') summary.dirs.add(d);
    summary.children.set(d, n.childCount);
  }
  return summary;
}

function parentOf(path: string): string {
  const k = path.lastIndexOf('/');
  return k < 0 ? '' : path.slice(0, k);
}

/** Write the view's changes as one layer blob to `sink`. */
export async function commitView(view: UnionView, sink: LayerSink, options: CommitOptions = {}): Promise<LayerResult & { changes: number; counts: { added: number; changed: number; deleted: number } }> {
  const { changes, newEntries } = await viewChanges(view);
  const counts = { added: 0, changed: 0, deleted: 0 };
  for (const c of changes) counts[c.kind === 'add' ? 'added' : c.kind === 'modify' ? 'changed' : 'deleted']++;
  const result = await writeLayer({
    ...options,
    changes,
    newEntries,
    oldSummary: await lowerSummary(view, changes),
    fs: view.upper,
    root: view.upperRoot,
    // the entries were lstat'ed from these upper files just before
    checkUnchanged: true,
  }, sink);
  return { ...result, changes: changes.length, counts };
}
