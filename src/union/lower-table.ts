/**
 * A resolved lower stack kept as a file and read on demand: the LowerStack of a union view whose
 * opening costs O(1) in the image's size (a trailer and a small page directory), so that a
 * command on a container (diff, commit, a write) costs what it touches, not the image.
 *
 * Format (version 1; little-endian; written once by encodeLowerTable, never updated in place):
 *
 *     page 0 | page 1 | ... | header (UTF-8 JSON) | u32 header length | "LKT1"
 *
 * - Every name of the resolved stack (root included) is one record. Records are sorted by the
 *   key `parent + "\0" + name` (the root's key is ""), so a directory's children are contiguous
 *   and a name is found by binary search. Records are packed into pages of about PAGE_BYTES.
 * - A page: u32 record count, then the records. A record: u32 path length, path (UTF-8), u8 type,
 *   u32 mode, uid, gid, f64 mtime (seconds), u32 link-name length, link name, u32 devmajor,
 *   devminor, i32 layer, f64 dataOffset, size, ino, u32 nlink, childCount, u32 xattr count, then
 *   per xattr u32 name length, name, u32 value length, value.
 * - The header: { format, version, layers: [{ diffID, tarSize }] (bottom first), count,
 *   pages: [[offset, length, crc32, firstKey], ...] }.
 *
 * Trust: open() validates the trailer and the header (shape, page offsets contiguous, keys
 * ascending) and that the layers are the ones expected (diffIDs and tar sizes): anything else
 * gives `undefined` and the caller rebuilds the file. A page is checked against its CRC-32 when
 * first read; a damaged one is ERR_STORE_CORRUPT (the file can be deleted: it is rebuilt at the
 * next open). Memory: the page directory (about 60 bytes per page) and at most CACHE_PAGES
 * decoded pages.
 */
import { LayerkitError } from '../errors.ts';
import type { FileType } from '../fs/types.ts';
import { crc32 } from '../wasm/deflate.ts';
import { ByteWriter } from '../bytes.ts';
import { readLowerBody, type LowerLayer, type LowerNode, type LowerStack } from './lower.ts';
import type { RangedReader } from './tar-index.ts';

const FORMAT = 'layerkit.lower-table';
const VERSION = 1;
const MAGIC = 0x3154_4b4c; // "LKT1" read as a little-endian u32
const PAGE_BYTES = 32 * 1024;
const CACHE_PAGES = 64;
const TYPES: readonly FileType[] = ['file', 'dir', 'symlink', 'char', 'block', 'fifo', 'socket'];

/** What a table was built from (bottom first): checked on open. */
export interface TableLayer {
  diffID: string;
  tarSize: number;
}

function keyOf(path: string): string {
  if (path === '') return '';
  const k = path.lastIndexOf('/');
  return k < 0 ? `\0${path}` : `${path.slice(0, k)}\0${path.slice(k + 1)}`;
}

function childPrefix(dir: string): string {
  return `${dir}\0`;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

function encodeNode(out: ByteWriter, n: LowerNode): void {
  out.bytes(enc.encode(n.path));
  out.u8(TYPES.indexOf(n.type));
  out.u32(n.mode);
  out.u32(n.uid);
  out.u32(n.gid);
  out.f64(Number(n.mtimeNs / 1_000_000_000n));
  out.bytes(enc.encode(n.linkname));
  out.u32(n.devmajor);
  out.u32(n.devminor);
  out.i32(n.layer);
  out.f64(n.dataOffset);
  out.f64(n.size);
  out.f64(Number(n.ino));
  out.u32(n.nlink);
  out.u32(n.childCount);
  const x = Object.entries(n.xattrs ?? {});
  out.u32(x.length);
  for (const [k, v] of x) {
    out.bytes(enc.encode(k));
    out.bytes(v);
  }
}

/**
 * The table of `stack` (every name, from a LowerTree: `nodes` in any order), in chunks of the file.
 * `pageBytes` is for tests (small pages exercise the page walk).
 */
export function* encodeLowerTable(nodes: Iterable<LowerNode>, layers: readonly TableLayer[], options: { pageBytes?: number } = {}): Generator<Uint8Array> {
  const pageBytes = options.pageBytes ?? PAGE_BYTES;
  const keyed = [...nodes].map((n) => [keyOf(n.path), n] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const pages: [number, number, number, string][] = [];
  const page = new ByteWriter();
  let offset = 0;
  let count = 0;
  let first = '';
  const flush = function* (): Generator<Uint8Array> {
    const body = page.take();
    new DataView(body.buffer).setUint32(0, count, true);
    pages.push([offset, body.length, crc32(0, body), first]);
    offset += body.length;
    count = 0;
    yield body;
  };
  for (const [key, n] of keyed) {
    if (count === 0) {
      first = key;
      page.u32(0); // the record count, set at flush
    }
    encodeNode(page, n);
    count++;
    if (page.length >= pageBytes) yield* flush();
  }
  if (count > 0) yield* flush();
  const header = enc.encode(JSON.stringify({ format: FORMAT, version: VERSION, layers, count: keyed.length, pages }));
  const trailer = new Uint8Array(8);
  new DataView(trailer.buffer).setUint32(0, header.length, true);
  new DataView(trailer.buffer).setUint32(4, MAGIC, true);
  yield header;
  yield trailer;
}

interface Page {
  offset: number;
  length: number;
  crc: number;
  firstKey: string;
}

type Decoded = { keys: string[]; nodes: LowerNode[] };

async function readFully(reader: RangedReader, length: number, position: number): Promise<Uint8Array | undefined> {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = await reader.read(buf, got, length - got, position + got);
    if (n === 0) return undefined;
    got += n;
  }
  return buf;
}

const int = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** The lower stack read from a table file through `reader` (see the file comment). */
export class LowerTable implements LowerStack {
  readonly layers: readonly LowerLayer[];
  readonly size: number;
  readonly #reader: RangedReader;
  readonly #pages: Page[];
  readonly #name: string;
  readonly #tarSizes: number[];
  readonly #cache = new Map<number, Promise<Decoded>>();

  private constructor(reader: RangedReader, layers: readonly LowerLayer[], tarSizes: number[], pages: Page[], count: number, name: string) {
    this.#reader = reader;
    this.layers = layers;
    this.#tarSizes = tarSizes;
    this.#pages = pages;
    this.size = count;
    this.#name = name;
  }

  /**
   * Open the table in `reader` (a file of `fileSize` bytes) built from `expected` (bottom first);
   * `layers` reads the bodies. undefined when the file is not a valid table of those layers.
   */
  static async open(reader: RangedReader, fileSize: number, layers: readonly LowerLayer[], expected: readonly TableLayer[], name = 'lower table'): Promise<LowerTable | undefined> {
    if (fileSize < 8) return undefined;
    const trailer = await readFully(reader, 8, fileSize - 8);
    if (!trailer) return undefined;
    const tv = new DataView(trailer.buffer);
    const headerLength = tv.getUint32(0, true);
    if (tv.getUint32(4, true) !== MAGIC || headerLength > fileSize - 8) return undefined;
    const headerAt = fileSize - 8 - headerLength;
    const bytes = await readFully(reader, headerLength, headerAt);
    if (!bytes) return undefined;
    let h: { format?: unknown; version?: unknown; layers?: unknown; count?: unknown; pages?: unknown };
    try {
      h = JSON.parse(dec.decode(bytes));
    } catch {
      return undefined;
    }
    if (typeof h !== 'object' || h === null || h.format !== FORMAT || h.version !== VERSION || !int(h.count) || !Array.isArray(h.pages) || !Array.isArray(h.layers)) return undefined;
    if (h.layers.length !== expected.length) return undefined;
    for (let i = 0; i < expected.length; i++) {
      const l = h.layers[i] as { diffID?: unknown; tarSize?: unknown } | null;
      if (typeof l !== 'object' || l === null || l.diffID !== expected[i]!.diffID || l.tarSize !== expected[i]!.tarSize) return undefined;
    }
    const pages: Page[] = [];
    let at = 0;
    for (const p of h.pages as unknown[]) {
      if (!Array.isArray(p) || p.length !== 4) return undefined;
      const [offset, length, crc, firstKey] = p;
      if (offset !== at || !int(length) || length < 4 || !int(crc) || crc > 0xffff_ffff || typeof firstKey !== 'string') return undefined;
      if (pages.length > 0 && !(pages.at(-1)!.firstKey < firstKey)) return undefined;
      pages.push({ offset, length, crc, firstKey });
      at += length;
    }
    if (at !== headerAt || (h.count === 0) !== (pages.length === 0)) return undefined;
    if (layers.length !== expected.length) throw new LayerkitError('ERR_INVALID_ARG', `lower table: ${layers.length} layer readers for ${expected.length} layers`);
    return new LowerTable(reader, layers, expected.map((l) => l.tarSize), pages, h.count, name);
  }

  #corrupt(page: number, why: string): LayerkitError {
    return new LayerkitError('ERR_STORE_CORRUPT', `${this.#name}: page ${page} ${why} (delete the file: it is rebuilt at the next open)`, { page });
  }

  async #page(i: number): Promise<Decoded> {
    let p = this.#cache.get(i);
    if (p) {
      this.#cache.delete(i); // re-inserted: most recently used last
    } else {
      p = this.#load(i);
      if (this.#cache.size >= CACHE_PAGES) this.#cache.delete(this.#cache.keys().next().value!);
      p.catch(() => this.#cache.delete(i));
    }
    this.#cache.set(i, p);
    return p;
  }

  async #load(i: number): Promise<Decoded> {
    const pg = this.#pages[i]!;
    const b = await readFully(this.#reader, pg.length, pg.offset);
    if (!b) throw this.#corrupt(i, 'is cut short');
    if (crc32(0, b) !== pg.crc) throw this.#corrupt(i, 'does not match its checksum');
    let d: Decoded;
    try {
      d = decodePage(b);
    } catch (e) {
      throw this.#corrupt(i, `cannot be decoded: ${(e as Error).message}`);
    }
    for (const n of d.nodes) {
      const inLayer = n.layer >= 0 && n.layer < this.layers.length && n.dataOffset + n.size <= this.#tarSizes[n.layer]!;
      if (n.type === 'file' ? !inLayer : n.layer < -1 || n.layer >= this.layers.length) throw this.#corrupt(i, `places "${n.path}" outside the layers`);
    }
    return d;
  }

  /** The index of the page that holds `key` if any page does (the last page whose first key is <= key). */
  #pageFor(key: string): number {
    let lo = 0;
    let hi = this.#pages.length - 1;
    if (hi < 0 || key < this.#pages[0]!.firstKey) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#pages[mid]!.firstKey <= key) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  async get(path: string): Promise<LowerNode | undefined> {
    const key = keyOf(path);
    const i = this.#pageFor(key);
    if (i < 0) return undefined;
    const { keys, nodes } = await this.#page(i);
    const k = lowerBound(keys, key);
    return keys[k] === key ? nodes[k] : undefined;
  }

  async children(dir: string): Promise<string[]> {
    const prefix = childPrefix(dir);
    const out: string[] = [];
    for (let i = Math.max(0, this.#pageFor(prefix)); i < this.#pages.length; i++) {
      const { keys } = await this.#page(i);
      for (let k = lowerBound(keys, prefix); k < keys.length; k++) {
        if (!keys[k]!.startsWith(prefix)) return out;
        out.push(keys[k]!.slice(prefix.length));
      }
    }
    return out;
  }

  read(node: LowerNode, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return readLowerBody(this.layers, node, buffer, offset, length, position);
  }

  /** Read and check every page (store check); throws ERR_STORE_CORRUPT at the first bad one. */
  async verify(): Promise<void> {
    let count = 0;
    for (let i = 0; i < this.#pages.length; i++) count += (await this.#load(i)).keys.length;
    if (count !== this.size) throw this.#corrupt(this.#pages.length - 1, `ends the table at ${count} names, the header says ${this.size}`);
  }

  async close(): Promise<void> {
    await this.#reader.close();
  }
}

function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function decodePage(b: Uint8Array): Decoded {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 0;
  const need = (n: number): void => {
    if (o + n > b.length) throw new Error('a record runs past the page');
  };
  const u32 = (): number => {
    need(4);
    o += 4;
    return v.getUint32(o - 4, true);
  };
  const f64 = (): number => {
    need(8);
    o += 8;
    return v.getFloat64(o - 8, true);
  };
  const bytes = (): Uint8Array => {
    const n = u32();
    need(n);
    o += n;
    return b.subarray(o - n, o);
  };
  const count = u32();
  const keys: string[] = [];
  const nodes: LowerNode[] = [];
  for (let r = 0; r < count; r++) {
    const path = dec.decode(bytes());
    need(1);
    const type = TYPES[b[o++]!];
    if (!type) throw new Error(`"${path}": unknown type`);
    const mode = u32();
    const uid = u32();
    const gid = u32();
    const mtime = f64();
    const linkname = dec.decode(bytes());
    const devmajor = u32();
    const devminor = u32();
    need(4);
    const layer = v.getInt32(o, true);
    o += 4;
    const dataOffset = f64();
    const size = f64();
    const ino = f64();
    const nlink = u32();
    const childCount = u32();
    const nx = u32();
    if (!Number.isSafeInteger(mtime) || !int(dataOffset) || !int(size) || !int(ino)) throw new Error(`"${path}": a bad number`);
    const node: LowerNode = {
      path, type, mode, uid, gid, mtimeNs: BigInt(mtime) * 1_000_000_000n, linkname, devmajor, devminor, layer, dataOffset, size,
      ino: BigInt(ino), nlink, childCount,
    };
    if (nx > 0) {
      const x: Record<string, Uint8Array> = {};
      for (let j = 0; j < nx; j++) {
        const k = dec.decode(bytes());
        x[k] = bytes().slice();
      }
      node.xattrs = x;
    }
    const key = keyOf(path);
    if (keys.length > 0 && !(keys.at(-1)! < key)) throw new Error(`"${path}" is out of order`);
    keys.push(key);
    nodes.push(node);
  }
  if (o !== b.length) throw new Error('bytes after the last record');
  return { keys, nodes };
}
