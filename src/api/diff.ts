/**
 * diff(old, new) -> an OCI layer: the changes from OLD (a directory or a snapshot manifest) to NEW
 * (a directory: file contents come from it), written as a changeset tar, compressed, with its
 * diffID and digest. The bytes go to a sink; the caller decides where they land.
 */
import type { FsLike } from '../fs/types.ts';
import { LayerkitError } from '../errors.ts';
import { writeLayer, type LayerResult, type LayerSink } from '../oci/layer-writer.ts';
import type { Compression } from '../oci/media-types.ts';
import { changes } from './changes.ts';
import type { TreeChange } from '../tree/changes.ts';
import type { Entry } from '../tree/entry.ts';
import { OldTreeSummarizer, planNeedsNewEntry } from '../oci/layer-plan.ts';

export interface DiffOptions {
  compression?: Compression;
  level?: number;
  /** Clamp mtimes newer than this (seconds since the epoch): reproducible layers (G11). */
  sourceDateEpoch?: number;
  /** .dockerignore-style patterns applied to both trees. */
  exclude?: readonly string[];
  /** false: only `.wh.` whiteouts, never an opaque marker (umoci style). Default true. */
  opaque?: boolean;
  /** Called once the change set is known, before any layer byte is written. */
  onChanges?: (changes: readonly TreeChange[]) => void;
}

export interface DiffResult extends LayerResult {
  changes: { added: number; changed: number; deleted: number };
}

export async function diff(fs: FsLike, oldSpec: string, newSpec: string, sink: LayerSink, options: DiffOptions = {}): Promise<DiffResult> {
  // The trees stream through change detection once; the plan keeps only what it needs of them:
  // NEW's directories and hardlinked files, OLD's directories and child counts.
  const keepNew: Entry[] = [];
  const old = new OldTreeSummarizer();
  const r = await changes(fs, oldSpec, newSpec, {
    exclude: options.exclude,
    onOld: (e) => old.add(e),
    onNew: (e) => { if (planNeedsNewEntry(e)) keepNew.push(e); },
  });
  if (r.new.kind !== 'dir' || !r.new.root) {
    throw new LayerkitError('ERR_INVALID_ARG', `diff: NEW must be a directory (a snapshot has no file contents): ${newSpec}`, { path: newSpec });
  }
  options.onChanges?.(r.changes);
  const counts = { added: 0, changed: 0, deleted: 0 };
  for (const c of r.changes) counts[c.kind === 'add' ? 'added' : c.kind === 'modify' ? 'changed' : 'deleted']++;
  const layer = await writeLayer({
    changes: r.changes,
    newEntries: keepNew,
    oldSummary: old.summary,
    opaque: options.opaque,
    fs,
    root: r.new.root,
    // NEW's entries were walked from these files: one that changes before it is packed is an error
    checkUnchanged: true,
    compression: options.compression ?? 'gzip',
    level: options.level,
    sourceDateEpoch: options.sourceDateEpoch,
  }, sink);
  return { ...layer, changes: counts };
}
