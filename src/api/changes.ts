/**
 * changes(old, new): what changed between two trees (directories or snapshot manifests), in
 * containerd order, minimal (no unchanged entry).
 *
 * Content is read only where metadata cannot decide (containerd's rule): a regular file whose type,
 * mode, owner, size and mtime are equal on both sides is unchanged when its mtime has nanoseconds;
 * when the mtime is a whole second (possibly truncated), or either side is racy (modified less than
 * a second before it was looked at: Entry.racy), the contents are compared by BLAKE3. Files
 * whose metadata differs are changed without reading them. A manifest brings its hashes along, so
 * against a saved snapshot only the ambiguous files of the new tree are read.
 */
import type { FsLike } from '../fs/types.ts';
import type { Entry } from '../tree/entry.ts';
import { sameEntry, timeUndecided, type TreeChange } from '../tree/changes.ts';
import { mergeChangesKernel } from '../tree/merge-kernel.ts';
import { diffEntryStreams } from '../tree/merge-stream.ts';
import { joinPath } from '../tree/walk.ts';
import { blake3FileHasher, type FileHasher } from '../tree/defaults.ts';
import { openTree, type Tree, type TreeOptions } from './tree-source.ts';

export interface ChangesOptions {
  exclude?: TreeOptions['exclude'];
  hash?: FileHasher;
  /** See every entry of OLD / NEW as it streams past (the root and sockets included). */
  onOld?: (e: Entry) => void;
  onNew?: (e: Entry) => void;
  /** Entries per side per merge round (default: mergeEntryStreams's). */
  batch?: number;
}

export interface ChangesResult {
  changes: TreeChange[];
  /** The trees as opened; their entry streams have been consumed. */
  old: Tree;
  new: Tree;
  /** Files read to settle ambiguous metadata. */
  hashed: number;
}

/** Equal in everything sameEntry looks at except content, with an mtime that cannot decide (timeUndecided). */
function ambiguous(a: Entry, b: Entry): boolean {
  return a.type === 'file' && b.type === 'file' && a.size === b.size && a.mtimeNs === b.mtimeNs &&
    (timeUndecided(a) || timeUndecided(b)) && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;
}

/**
 * The merge reports every ambiguous pair without hashes on both sides as modified. Give both sides
 * of those a content hash (reading from the trees' roots; a side that is a manifest without a hash
 * cannot be read and the pair stays changed), then keep only the pairs that still differ.
 * Returns the changes that stand and the number of files read.
 */
export async function settleChanges(fs: FsLike, oldTree: Tree, newTree: Tree, list: TreeChange[], hash: FileHasher = blake3FileHasher): Promise<[TreeChange[], number]> {
  const work: Array<() => Promise<void>> = [];
  const settled: TreeChange[] = [];
  const need = (tree: Tree, e: Entry) => {
    if (e.blake3) return;
    work.push(async () => {
      e.blake3 = await hash(fs, joinPath(tree.root!, e.path));
    });
  };
  for (const c of list) {
    const o = c.old;
    const n = c.new;
    if (c.kind !== 'modify' || !o || !n || !ambiguous(o, n) || (o.blake3 && n.blake3)) continue;
    if ((!o.blake3 && !oldTree.root) || (!n.blake3 && !newTree.root)) continue;
    need(oldTree, o);
    need(newTree, n);
    settled.push(c);
  }
  if (work.length === 0) return [list, 0];
  const CONCURRENCY = 4;
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, work.length) }, async () => {
    while (next < work.length) await work[next++]!();
  }));
  const same = new Set(settled.filter((c) => sameEntry(c.old!, c.new!)));
  return [same.size === 0 ? list : list.filter((c) => !same.has(c)), work.length];
}

export async function changes(fs: FsLike, oldSpec: string, newSpec: string, options: ChangesOptions = {}): Promise<ChangesResult> {
  const [oldTree, newTree] = await Promise.all([
    openTree(fs, oldSpec, { exclude: options.exclude }),
    openTree(fs, newSpec, { exclude: options.exclude }),
  ]);
  let hashed = 0;
  // Streaming, round by round; each round's merge runs in the WASM kernel (mergeChanges is its
  // TS reference).
  const list = await diffEntryStreams(oldTree.entries, newTree.entries, {
    merge: mergeChangesKernel,
    batch: options.batch,
    onOld: options.onOld,
    onNew: options.onNew,
    refine: async (round) => {
      const [kept, n] = await settleChanges(fs, oldTree, newTree, round, options.hash);
      hashed += n;
      return kept;
    },
  });
  return { changes: list, old: oldTree, new: newTree, hashed };
}
