/**
 * The lower stack of a union view: N indexed layer tars resolved into one read-only tree, with
 * the same rules as apply: every index record (entries, whiteouts, opaque markers, in stack order)
 * goes through the stack kernel (src/oci/stack.ts, the one used by flatten), and the surviving
 * files and directories are the tree. Nothing is extracted: a file's content stays in its layer's
 * tar at `dataOffset`.
 *
 * Memory: one small record per surviving name (metadata and offsets) plus the per-directory name
 * lists; never file contents.
 *
 * Hardlinks share their target's body and inode number (the target may be in a lower layer, and
 * may even be replaced later: the link keeps the old content, as apply would). Parents missing
 * from every layer are implied as 0755 root-owned directories (A7). Known gap: names are resolved
 * lexically, so a layer entry written THROUGH a symlinked directory of a lower layer (which apply
 * follows, chroot-style) is refused with ERR_UNSUPPORTED rather than followed.
 */
import { LayerkitError } from '../errors.ts';
import type { FileType } from '../fs/types.ts';
import { survivors, type StackRecord } from '../oci/stack.ts';
import type { IndexedEntry, RangedReader, TarIndex } from './tar-index.ts';

/** A layer's tar, for reading bodies. */
export interface LowerLayer {
  reader: RangedReader;
  /** Shown in messages. */
  name?: string;
}

/** A layer's tar and its index, to resolve the stack from. */
export interface IndexedLayer extends LowerLayer {
  index: TarIndex;
}

/**
 * What the union view and commit need of the lower stack: names looked up one at a time (so a
 * store can keep the resolved tree on disk and read only what is asked: lower-table.ts), the
 * names of a directory, and file bodies. LowerTree (here, in memory) and LowerTable implement it.
 */
export interface LowerStack {
  readonly layers: readonly LowerLayer[];
  /** How many names the stack shows (root included). */
  readonly size: number;
  get(path: string): Promise<LowerNode | undefined>;
  /** The names inside directory `dir` (no order); [] when `dir` is not a directory of the stack. */
  children(dir: string): Promise<string[]>;
  /** Read a regular file's bytes [position, position+length) into buffer[offset..]. */
  read(node: LowerNode, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
}

export interface LowerNode {
  path: string;
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs?: Record<string, Uint8Array>;
  /** Regular files: where the body is. */
  layer: number;
  dataOffset: number;
  size: number;
  /** Synthetic inode number (names of one hardlinked file share it). */
  ino: bigint;
  nlink: number;
  /** Directories: how many names are inside. */
  childCount: number;
}

function parentOf(path: string): string {
  const k = path.lastIndexOf('/');
  return k < 0 ? '' : path.slice(0, k);
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Read a regular file's body from its layer's tar (LowerStack.read for both implementations). */
export async function readLowerBody(layers: readonly LowerLayer[], node: LowerNode, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  if (node.type !== 'file' || position >= node.size) return 0;
  const want = Math.min(length, node.size - position);
  const reader = layers[node.layer]!.reader;
  let got = 0;
  while (got < want) {
    const n = await reader.read(buffer, offset + got, want - got, node.dataOffset + position + got);
    if (n === 0) {
      throw new LayerkitError('ERR_LAYER_TRUNCATED', `layer ${layers[node.layer]!.name ?? `#${node.layer + 1}`} ends inside the body of "${node.path}"`, { path: node.path });
    }
    got += n;
  }
  return got;
}

/** The lower stack resolved in memory from the layers' indexes. */
export class LowerTree implements LowerStack {
  readonly layers: readonly LowerLayer[];
  readonly #nodes = new Map<string, LowerNode>();
  readonly #children = new Map<string, string[]>();

  constructor(layers: readonly IndexedLayer[], survive: (records: readonly StackRecord[]) => Uint8Array = survivors) {
    this.layers = layers;
    const records: StackRecord[] = [];
    const owners: [IndexedEntry, number][] = [];
    for (let l = 0; l < layers.length; l++) {
      for (const e of layers[l]!.index.entries) {
        records.push({ path: e.path, layer: l, kind: e.kind });
        owners.push([e, l]);
      }
    }
    // Inode of each record: regular files (and anything that is not a hardlink) get their own;
    // a hardlink takes its target's, found as it stood when the link was applied.
    const inoOf = new Array<bigint>(records.length);
    const latest = new Map<string, number>();
    const fileOf = new Array<number>(records.length); // the record whose body/metadata a link shares
    let base = 0;
    for (let l = 0; l < layers.length; l++) {
      const es = layers[l]!.index.entries;
      for (let i = 0; i < es.length; i++) {
        const r = base + i;
        const e = es[i]!;
        if (e.kind !== 'file' && e.kind !== 'dir') continue;
        if (e.linkTarget !== undefined) {
          const t = e.resolved ? base + e.sharesWith! : latest.get(e.linkTarget);
          if (t === undefined || owners[t]![0].kind !== 'file') {
            throw new LayerkitError('ERR_UNSAFE_LINK', `layer ${layers[l]!.name ?? `#${l + 1}`}: hardlink "${e.path}" -> "${e.linkTarget}": the target is not a non-directory of the stack below it`, { path: e.path, linkname: e.linkTarget });
          }
          fileOf[r] = fileOf[t] ?? t;
          inoOf[r] = inoOf[t]!;
        } else {
          fileOf[r] = r;
          inoOf[r] = BigInt(r + 2);
        }
        latest.set(e.path, r);
      }
      base += es.length;
    }

    const alive = survive(records);
    const links = new Map<bigint, number>();
    for (let r = 0; r < records.length; r++) {
      if (alive[r] !== 1) continue;
      const [e] = owners[r]!;
      if (e.kind !== 'file' && e.kind !== 'dir') continue;
      const [src, srcLayer] = owners[fileOf[r]!]!;
      const node: LowerNode = {
        path: e.path, type: src.type, mode: src.mode, uid: src.uid, gid: src.gid, mtimeNs: BigInt(src.mtime) * 1_000_000_000n,
        linkname: src.linkname, devmajor: src.devmajor, devminor: src.devminor, layer: srcLayer, dataOffset: src.dataOffset,
        size: src.type === 'file' ? src.size : src.type === 'symlink' ? new TextEncoder().encode(src.linkname).length : 0,
        ino: inoOf[r]!, nlink: 1, childCount: 0,
      };
      if (src.xattrs) node.xattrs = src.xattrs;
      if (node.type === 'dir') this.#children.set(e.path, []);
      this.#nodes.set(e.path, node);
      if (node.type !== 'dir') links.set(node.ino, (links.get(node.ino) ?? 0) + 1);
    }
    if (!this.#nodes.has('')) {
      this.#nodes.set('', { path: '', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeNs: 0n, linkname: '', devmajor: 0, devminor: 0, layer: -1, dataOffset: 0, size: 0, ino: 1n, nlink: 2, childCount: 0 });
      this.#children.set('', []);
    }
    // Parents: implied where missing (A7), refused where a non-directory stands.
    const paths = [...this.#nodes.keys()];
    for (const p of paths) {
      if (p === '') continue;
      const node = this.#nodes.get(p)!;
      if (node.type !== 'dir') node.nlink = links.get(node.ino) ?? 1;
      let child = p;
      for (;;) {
        const dir = parentOf(child);
        let d = this.#nodes.get(dir);
        const created = !d;
        if (!d) {
          d = { path: dir, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeNs: 0n, linkname: '', devmajor: 0, devminor: 0, layer: -1, dataOffset: 0, size: 0, ino: BigInt(records.length + 2 + this.#nodes.size), nlink: 2, childCount: 0 };
          this.#nodes.set(dir, d);
          this.#children.set(dir, []);
        } else if (d.type !== 'dir') {
          throw new LayerkitError(d.type === 'symlink' ? 'ERR_UNSUPPORTED' : 'ERR_LAYER_CONFLICT',
            d.type === 'symlink'
              ? `"${p}": its parent "${dir}" is a symlink in the stack; names through symlinked directories are not supported by the union view`
              : `"${p}": "${dir}" in the stack is a ${d.type}, not a directory`, { path: p, at: dir, type: d.type });
        }
        this.#children.get(dir)!.push(baseOf(child));
        if (!created || dir === '') break;
        child = dir;
      }
    }
    for (const [dir, names] of this.#children) {
      const n = this.#nodes.get(dir)!;
      n.childCount = names.length;
      n.nlink = 2 + names.filter((c) => this.#nodes.get(dir === '' ? c : `${dir}/${c}`)!.type === 'dir').length;
    }
  }

  async get(path: string): Promise<LowerNode | undefined> {
    return this.#nodes.get(path);
  }

  async children(dir: string): Promise<string[]> {
    return [...(this.#children.get(dir) ?? [])];
  }

  get size(): number {
    return this.#nodes.size;
  }

  /** Every node, in no order. */
  nodes(): IterableIterator<LowerNode> {
    return this.#nodes.values();
  }

  read(node: LowerNode, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return readLowerBody(this.layers, node, buffer, offset, length, position);
  }
}
