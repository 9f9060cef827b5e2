/**
 * Reference for the stack kernel (assembly/stack.ts): which records of a layer stack survive
 * once all layers are applied. Same inputs, same answers; tests check the two agree.
 *
 * Rules (records in stack order; a "later" record comes after in that order):
 * - an entry dies if a later entry has the same path, or a later non-directory sits at one of its
 *   ancestors (A6: the subtree goes), or a whiteout from a later LAYER removes it or an ancestor
 *   (A4), or an opaque marker from a later LAYER sits in one of its ancestors (A5);
 * - a whiteout dies if a later whiteout removes the same path, or its path dies as above
 *   (kept otherwise, also when a later layer re-creates the name: it must still clear what a
 *   lower tree holds there, and it comes before the re-creation);
 * - a non-directory replaced only by later directories (no later non-directory or whiteout at
 *   its name, no ancestor kill) survives as a whiteout of its name (2): on a lower tree it removed
 *   what stood there, and the directory that replaces it would merge instead;
 * - an opaque marker dies if a later one marks the same directory, or the directory is replaced by
 *   a non-directory or whited out later, or an ancestor kills it as above.
 */
export type StackKind = 'file' | 'dir' | 'whiteout' | 'opaque';

export interface StackRecord {
  /** Cleaned path ('' only for a root opaque marker); whiteout: the removed name; opaque: the dir. */
  path: string;
  layer: number;
  kind: StackKind;
}

/** A record as the streaming pass takes it (assembly/stack.ts): sorted by key, then seq descending. */
export interface SortedRecord {
  /** The cleaned path with '\0' for '/' (stackKey in src/oci/stack.ts): string order is tree order. */
  key: string;
  /** Place in stack order (layer 0 first, each layer in tar order). */
  seq: number;
  layer: number;
  kind: StackKind;
}

/**
 * One streaming pass (the kernel or its reference, src/ref/stack-sorted.ts): batches of sorted
 * records in, a fate per record out (0 dies, 1 survives, 2 survives as a whiteout), and events
 * [dir, at, dir, at, ...]: the surviving directory record `dir` must be written at `at` (the first
 * surviving record below it, if that comes before it).
 */
export interface StackPass {
  batch(records: readonly SortedRecord[]): { fates: Uint8Array; events: Uint32Array };
  end(): Uint32Array;
  dispose(): void;
}

interface Seen {
  exact: boolean;
  subtree: boolean;
  wh: boolean;
  opq: boolean;
  whMax: number;
  opqMax: number;
}

export function survivorsRef(records: readonly StackRecord[]): Uint8Array {
  const seen = new Map<string, Seen>();
  const out = new Uint8Array(records.length);
  const killsBelow = (s: Seen | undefined, layer: number) => !!s && (s.subtree || s.whMax > layer || s.opqMax > layer);
  for (let r = records.length - 1; r >= 0; r--) {
    const { path, layer, kind } = records[r]!;
    let dead = false;
    if (path !== '') {
      const parts = path.split('/');
      for (let i = 0; i < parts.length && !dead; i++) {
        if (killsBelow(seen.get(parts.slice(0, i).join('/')), layer)) dead = true;
      }
    }
    let s = seen.get(path);
    let asWhiteout = false;
    if (!dead && s) {
      if (kind === 'whiteout') dead = s.wh;
      else if (kind === 'opaque') dead = s.subtree || s.opq || s.whMax > layer;
      else {
        dead = s.exact || s.whMax > layer;
        asWhiteout = kind === 'file' && !s.subtree && !s.wh && s.whMax <= layer;
      }
    }
    if (!s) {
      s = { exact: false, subtree: false, wh: false, opq: false, whMax: -1, opqMax: -1 };
      seen.set(path, s);
    }
    if (kind === 'file') {
      s.exact = s.subtree = true;
      if (asWhiteout) s.wh = true;
    }
    else if (kind === 'dir') s.exact = true;
    else if (kind === 'whiteout') {
      s.wh = true;
      s.whMax = Math.max(s.whMax, layer);
    } else {
      s.opq = true;
      s.opqMax = Math.max(s.opqMax, layer);
    }
    out[r] = asWhiteout ? 2 : dead ? 0 : 1;
  }
  return out;
}
