/**
 * A tree to diff is a directory or a saved snapshot manifest. `openTree` gives either as a stream of
 * entries in path order (nothing is read ahead: the stream walks or decodes as it is consumed);
 * directories are walked WITHOUT hashing (content is hashed later, only where metadata
 * cannot decide: see changes.ts), unless a manifest is to be written.
 */
import type { FsLike, FileStat } from '../fs/types.ts';
import type { Entry } from '../tree/entry.ts';
import { snapshotEntries, type SnapshotStats } from '../tree/snapshot.ts';
import { newWalkStats } from '../tree/walk.ts';
import { readManifestFile } from '../tree/manifest-file.ts';
import { MANIFEST_MAGIC } from '../tree/manifest.ts';
import { compileExcludes } from '../tree/ignore.ts';
import { LayerkitError, wrapError } from '../errors.ts';

export interface TreeOptions {
  /** .dockerignore-style patterns (applied to directories walked, not to manifests). */
  exclude?: readonly string[];
  /** Hash every regular file (needed to save a manifest). Default false. */
  hash?: boolean;
  /** A previous snapshot of the same tree used as a stat cache when hashing. */
  previous?: Iterable<Entry> | AsyncIterable<Entry>;
}

export interface Tree {
  kind: 'dir' | 'manifest';
  /** The path given. */
  spec: string;
  /** For a directory: its path (file content is read from there). */
  root?: string;
  /** The entries in comparePaths order, streaming (consume once). */
  entries: AsyncIterable<Entry>;
  /** Walk counters (directories), filled in as `entries` is consumed. */
  stats?: SnapshotStats;
}

const MAGIC = new TextEncoder().encode(MANIFEST_MAGIC);

async function isManifestFile(fs: FsLike, path: string, st: FileStat): Promise<boolean> {
  if (!st.isFile() || st.size < MAGIC.length) return false;
  const fh = await fs.open(path);
  try {
    const head = new Uint8Array(MAGIC.length);
    const n = await fh.read(head, 0, head.length, 0);
    return n === head.length && head.every((b, i) => b === MAGIC[i]);
  } finally {
    await fh.close();
  }
}

/** Walk-time exclude predicate for .dockerignore patterns. */
export function excludePredicate(patterns: readonly string[] | undefined): ((path: string, st: FileStat) => boolean) | undefined {
  if (!patterns || patterns.length === 0) return undefined;
  const ex = compileExcludes(patterns);
  // A directory is dropped with its subtree only when no exception rule could re-include
  // something below it; otherwise it stays and its children are judged one by one.
  return (path, st) => (st.isDirectory() ? ex.canPrune(path) : ex.excludes(path));
}

/** Symlinks followed when the path given for a tree is itself a link (as `cd` or `tar -C` would). */
const MAX_ARG_LINK_HOPS = 40;

/**
 * Follow symlinks at the path given (only there: links inside the tree are entries, never followed).
 * Returns the final path and its stat.
 */
async function followArgument(fs: FsLike, spec: string): Promise<{ path: string; st: FileStat }> {
  let path = spec;
  for (let hops = 0; ; hops++) {
    let st: FileStat;
    try {
      st = await fs.lstat(path);
    } catch (e) {
      throw wrapError(e, `open tree ${spec}`);
    }
    if (!st.isSymbolicLink()) return { path, st };
    if (hops === MAX_ARG_LINK_HOPS) {
      throw new LayerkitError('ERR_INVALID_ARG', `open tree ${spec}: more than ${MAX_ARG_LINK_HOPS} symlinks to follow`, { path: spec });
    }
    let target: string;
    try {
      target = await fs.readlink(path);
    } catch (e) {
      throw wrapError(e, `open tree ${spec}`);
    }
    if (target.startsWith('/')) path = target;
    else {
      const cut = path.replace(/\/+$/, '').lastIndexOf('/');
      path = cut < 0 ? target : `${path.slice(0, cut + 1)}${target}`;
    }
  }
}

export async function openTree(fs: FsLike, spec: string, options: TreeOptions = {}): Promise<Tree> {
  const { path, st } = await followArgument(fs, spec);
  if (st.isDirectory()) {
    const stats = newWalkStats();
    const entries = snapshotEntries(fs, path, {
      exclude: excludePredicate(options.exclude),
      hash: options.hash ? undefined : false,
      previous: options.previous,
    }, stats);
    return { kind: 'dir', spec, root: path, entries, stats };
  }
  if (await isManifestFile(fs, path, st)) {
    return { kind: 'manifest', spec, entries: readManifestFile(fs, path, {}, `load snapshot ${spec}`) };
  }
  throw new LayerkitError('ERR_INVALID_ARG', `${spec} is neither a directory nor a layerkit snapshot (made by "layerkit snapshot")`, { path: spec });
}

