/**
 * changes(old, new): what changed between two trees (directories or snapshot manifests), in
 * containerd order, minimal (no unchanged entry).
 *
 * Content is read only where metadata cannot decide (containerd's rule): a regular file whose type,
 * mode, owner, size and mtime are equal on both sides is unchanged when its mtime has nanoseconds;
 * when the mtime is a whole second (possibly truncated) the contents are compared by BLAKE3. Files
 * whose metadata differs are changed without reading them. A manifest brings its hashes along, so
 * against a saved snapshot only the ambiguous files of the new tree are read.
 */
import type { FsLike } from '../fs/types.ts';
import { comparePaths, type Entry } from '../tree/entry.ts';
import { diffEntries, type TreeChange } from '../tree/changes.ts';
import { mergeChangesKernel } from '../tree/merge-kernel.ts';
import { joinPath } from '../tree/walk.ts';
import { blake3FileHasher, type FileHasher } from '../tree/defaults.ts';
import { openTree, type Tree, type TreeOptions } from './tree-source.ts';

export interface ChangesOptions {
  exclude?: TreeOptions['exclude'];
  hash?: FileHasher;
}

export interface ChangesResult {
  changes: TreeChange[];
  old: Tree;
  new: Tree;
  /** Files read to settle ambiguous metadata. */
  hashed: number;
}

/** Equal in everything sameEntry looks at except content, with a whole-second mtime. */
function ambiguous(a: Entry, b: Entry): boolean {
  return a.type === 'file' && b.type === 'file' && a.size === b.size && a.mtimeNs === b.mtimeNs &&
    a.mtimeNs % 1_000_000_000n === 0n && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;
}

/** Give both sides of every ambiguous pair a content hash (reading from the trees' roots). */
export async function settleAmbiguous(fs: FsLike, oldTree: Tree, newTree: Tree, hash: FileHasher = blake3FileHasher): Promise<number> {
  const work: Array<() => Promise<void>> = [];
  const need = (tree: Tree, e: Entry) => {
    if (e.blake3) return;
    if (!tree.root) return; // a manifest without a hash cannot be read: stays "changed"
    work.push(async () => {
      e.blake3 = await hash(fs, joinPath(tree.root!, e.path));
    });
  };
  const a = oldTree.entries;
  const b = newTree.entries;
  for (let i = 0, j = 0; i < a.length && j < b.length;) {
    const c = comparePaths(a[i].path, b[j].path);
    if (c < 0) i++;
    else if (c > 0) j++;
    else {
      if (ambiguous(a[i], b[j])) {
        need(oldTree, a[i]);
        need(newTree, b[j]);
      }
      i++;
      j++;
    }
  }
  const CONCURRENCY = 4;
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, work.length) }, async () => {
    while (next < work.length) await work[next++]();
  }));
  return work.length;
}

export async function changes(fs: FsLike, oldSpec: string, newSpec: string, options: ChangesOptions = {}): Promise<ChangesResult> {
  const [oldTree, newTree] = await Promise.all([
    openTree(fs, oldSpec, { exclude: options.exclude }),
    openTree(fs, newSpec, { exclude: options.exclude }),
  ]);
  const hashed = await settleAmbiguous(fs, oldTree, newTree, options.hash);
  // The merge itself runs in the WASM kernel (mergeChanges is its TS reference).
  return { changes: diffEntries(oldTree.entries, newTree.entries, mergeChangesKernel), old: oldTree, new: newTree, hashed };
}
