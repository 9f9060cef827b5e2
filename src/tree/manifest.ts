/**
 * Snapshot manifests: a versioned, compact, sorted binary table of Entries. It is the saved form of
 * a snapshot and the stat cache that lets the next snapshot skip re-hashing unchanged files.
 *
 * Format, version 1. All integers little-endian; strings UTF-8.
 *
 *   Header, 16 bytes
 *     0   6  magic "LKSNAP"
 *     6   u16 version (1)
 *     8   u32 flags (0; readers reject unknown bits)
 *     12  u32 reserved (0)
 *   Records, one per entry, sorted by comparePaths, no path twice; each is 48 fixed bytes:
 *     0   u8  type: 0 file, 1 dir, 2 symlink, 3 char, 4 block, 5 fifo, 6 socket
 *     1   u8  flags: bit0 content hash present, bit1 linkname present, bit2 xattrs present,
 *                bit3 racy (a file modified less than a second before the walk saw it: its mtime
 *                cannot vouch for its content later; Entry.racy). Only such files make a
 *                manifest depend on when it was taken.
 *     2   u16 mode (permission bits incl. setuid/setgid/sticky, <= 0o7777)
 *     4   u32 uid
 *     8   u32 gid
 *     12  u32 nlink (0: not recorded; directories)
 *     16  u64 size (<= 2^53-1)
 *     24  i64 mtime, ns since the epoch
 *     32  u32 inode: hardlink group id, renumbered 1, 2, ... in path order (0: none)
 *     36  u32 devmajor (char/block; 0 otherwise)
 *     40  u32 devminor
 *     44  u16 path prefix: bytes shared with the previous record's path (front coding; 0 for the first)
 *     46  u16 path suffix length
 *   followed by
 *         the path suffix bytes
 *         if linkname: u32 length, bytes
 *         if xattrs:   u16 count, then per attribute (sorted by name): u16 name length, name, u32 value length, value
 *         if hash:     32 bytes BLAKE3-256 of the content
 *   Trailer, 40 bytes
 *     0   u64 entry count
 *     8   32  SHA-256 of every byte before it (header, records, count)
 *
 * No machine-specific data is stored (no dev/ino), and hardlink ids are renumbered in path order,
 * so the same tree gives byte-identical manifests on any machine.
 */
import { comparePaths, type Entry, type EntryType } from './entry.ts';
import { LayerkitError } from '../errors.ts';
import { defaultSha256, type Sha256Factory, type Sha256Stream } from './defaults.ts';

export const MANIFEST_MAGIC = 'LKSNAP';
export const MANIFEST_VERSION = 1;
const HEADER = 16;
const FIXED = 48;
const TRAILER = 40;
const HASH_LEN = 32;
const F_HASH = 1;
const F_LINK = 2;
const F_XATTR = 4;
const F_RACY = 8;

const TYPE_CODES: EntryType[] = ['file', 'dir', 'symlink', 'char', 'block', 'fifo', 'socket'];
const CODE_OF = new Map<EntryType, number>(TYPE_CODES.map((t, i) => [t, i]));
const U32 = 0xffffffff;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

export interface ManifestOptions {
  /** SHA-256 for the checksum trailer (default: the platform engine, loaded lazily). */
  sha256?: Sha256Factory;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

function badEntry(e: Entry, why: string): LayerkitError {
  return new LayerkitError('ERR_INVALID_ARG', `manifest entry ${JSON.stringify(e.path)}: ${why}`, { path: e.path });
}

function checkU32(e: Entry, v: number | undefined, name: string): number {
  const n = v ?? 0;
  if (!Number.isInteger(n) || n < 0 || n > U32) throw badEntry(e, `${name} ${n} is not a 32-bit unsigned integer`);
  return n;
}

/**
 * Streaming encoder: push entries in comparePaths order, get their bytes back; finish() gives the
 * trailer. The header is returned by the first push (or by finish() for an empty manifest).
 */
export class ManifestEncoder {
  readonly #hash: Sha256Stream;
  #prevPath: Uint8Array | undefined;
  #prevStr = '';
  #count = 0;
  #started = false;
  #finished = false;
  readonly #inodes = new Map<number, number>();

  private constructor(hash: Sha256Stream) {
    this.#hash = hash;
  }

  static async create(options: ManifestOptions = {}): Promise<ManifestEncoder> {
    return new ManifestEncoder(await (options.sha256 ?? defaultSha256)());
  }

  #header(): Uint8Array {
    const h = new Uint8Array(HEADER);
    h.set(utf8.encode(MANIFEST_MAGIC), 0);
    new DataView(h.buffer).setUint16(6, MANIFEST_VERSION, true);
    return h;
  }

  #emit(parts: Uint8Array[]): Uint8Array {
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    this.#hash.update(out);
    return out;
  }

  push(e: Entry): Uint8Array {
    if (this.#finished) throw new LayerkitError('ERR_USED_AFTER_FINISH', 'manifest encoder: push after finish');
    const parts: Uint8Array[] = [];
    if (!this.#started) {
      parts.push(this.#header());
      this.#started = true;
    }
    if (this.#prevPath !== undefined && comparePaths(this.#prevStr, e.path) >= 0) {
      throw badEntry(e, `out of order or repeated (after ${JSON.stringify(this.#prevStr)}); entries must be sorted with comparePaths`);
    }
    const type = CODE_OF.get(e.type);
    if (type === undefined) throw badEntry(e, `unknown type ${String(e.type)}`);
    if (!Number.isInteger(e.mode) || e.mode < 0 || e.mode > 0o7777) throw badEntry(e, `mode ${e.mode} is outside 0..0o7777`);
    if (!Number.isSafeInteger(e.size) || e.size < 0) throw badEntry(e, `size ${e.size} is not a safe non-negative integer`);
    if (typeof e.mtimeNs !== 'bigint' || e.mtimeNs < I64_MIN || e.mtimeNs > I64_MAX) throw badEntry(e, 'mtimeNs must be a 64-bit bigint');
    if (e.blake3 !== undefined && e.blake3.length !== HASH_LEN) throw badEntry(e, `content hash must be ${HASH_LEN} bytes`);

    const path = utf8.encode(e.path);
    const prev = this.#prevPath ?? new Uint8Array(0);
    let prefix = 0;
    const max = Math.min(prev.length, path.length, 0xffff);
    while (prefix < max && prev[prefix] === path[prefix]) prefix++;
    const suffix = path.subarray(prefix);
    if (suffix.length > 0xffff) throw badEntry(e, 'path longer than 65535 bytes');

    let inode = 0;
    if (e.inode) {
      inode = this.#inodes.get(e.inode) ?? this.#inodes.size + 1;
      this.#inodes.set(e.inode, inode);
    }
    const isDev = e.type === 'char' || e.type === 'block';
    const fixed = new Uint8Array(FIXED);
    const dv = new DataView(fixed.buffer);
    const flags = (e.blake3 ? F_HASH : 0) | (e.linkname !== undefined ? F_LINK : 0) | (e.xattrs && Object.keys(e.xattrs).length > 0 ? F_XATTR : 0)
      | (e.racy && type === 0 ? F_RACY : 0);
    dv.setUint8(0, type);
    dv.setUint8(1, flags);
    dv.setUint16(2, e.mode, true);
    dv.setUint32(4, checkU32(e, e.uid, 'uid'), true);
    dv.setUint32(8, checkU32(e, e.gid, 'gid'), true);
    dv.setUint32(12, checkU32(e, e.nlink, 'nlink'), true);
    dv.setBigUint64(16, BigInt(e.size), true);
    dv.setBigInt64(24, e.mtimeNs, true);
    dv.setUint32(32, inode, true);
    dv.setUint32(36, isDev ? checkU32(e, e.devmajor, 'devmajor') : 0, true);
    dv.setUint32(40, isDev ? checkU32(e, e.devminor, 'devminor') : 0, true);
    dv.setUint16(44, prefix, true);
    dv.setUint16(46, suffix.length, true);
    parts.push(fixed, suffix);

    if (flags & F_LINK) {
      const link = utf8.encode(e.linkname!);
      parts.push(u32le(link.length), link);
    }
    if (flags & F_XATTR) {
      const names = Object.keys(e.xattrs!).sort();
      if (names.length > 0xffff) throw badEntry(e, 'more than 65535 xattrs');
      parts.push(u16le(names.length));
      for (const n of names) {
        const name = utf8.encode(n);
        const value = e.xattrs![n];
        if (name.length > 0xffff) throw badEntry(e, `xattr name ${n} too long`);
        parts.push(u16le(name.length), name, u32le(value.length), value);
      }
    }
    if (flags & F_HASH) parts.push(e.blake3!);

    this.#prevPath = path;
    this.#prevStr = e.path;
    this.#count++;
    return this.#emit(parts);
  }

  /** The trailer (and the header, if nothing was pushed). */
  finish(): Uint8Array {
    if (this.#finished) throw new LayerkitError('ERR_USED_AFTER_FINISH', 'manifest encoder: finish called twice');
    this.#finished = true;
    const parts: Uint8Array[] = [];
    if (!this.#started) parts.push(this.#header());
    const count = new Uint8Array(8);
    new DataView(count.buffer).setBigUint64(0, BigInt(this.#count), true);
    parts.push(count);
    const head = this.#emit(parts);
    const digest = this.#hash.digest();
    const out = new Uint8Array(head.length + HASH_LEN);
    out.set(head, 0);
    out.set(digest, head.length);
    return out;
  }
}

function u16le(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, n >>> 8]);
}
function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** Encode a sorted list of entries into one manifest buffer. */
export async function encodeManifest(entries: Iterable<Entry> | AsyncIterable<Entry>, options: ManifestOptions = {}): Promise<Uint8Array> {
  const enc = await ManifestEncoder.create(options);
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const e of entries) {
    const c = enc.push(e);
    chunks.push(c);
    n += c.length;
  }
  const last = enc.finish();
  const out = new Uint8Array(n + last.length);
  let o = 0;
  for (const c of [...chunks, last]) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function corrupt(why: string, data: Record<string, unknown> = {}): LayerkitError {
  return new LayerkitError('ERR_MANIFEST_CORRUPT', `snapshot manifest is corrupt: ${why}`, data);
}

/** Check magic, version, length and checksum; throws ERR_MANIFEST_CORRUPT / ERR_MANIFEST_VERSION. */
export async function verifyManifest(bytes: Uint8Array, options: ManifestOptions = {}): Promise<void> {
  checkHeader(bytes);
  if (bytes.length < HEADER + TRAILER) throw corrupt(`truncated (${bytes.length} bytes; a manifest has at least ${HEADER + TRAILER})`, { length: bytes.length });
  const h = await (options.sha256 ?? defaultSha256)();
  const body = bytes.subarray(0, bytes.length - HASH_LEN);
  h.update(body);
  const want = bytes.subarray(bytes.length - HASH_LEN);
  const got = h.digest();
  for (let i = 0; i < HASH_LEN; i++) {
    if (got[i] !== want[i]) throw corrupt('checksum mismatch (the file is truncated or was modified)', { length: bytes.length });
  }
}

function checkHeader(bytes: Uint8Array): void {
  if (bytes.length < 8 || fromAscii(bytes.subarray(0, 6)) !== MANIFEST_MAGIC) {
    throw corrupt(`not a layerkit snapshot manifest (bad magic; expected "${MANIFEST_MAGIC}")`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(6, true);
  if (version !== MANIFEST_VERSION) {
    throw new LayerkitError('ERR_MANIFEST_VERSION', `snapshot manifest version ${version} is not supported (this build reads version ${MANIFEST_VERSION})`, { version });
  }
}

function fromAscii(b: Uint8Array): string {
  return String.fromCharCode(...b);
}

/** Where the record decoder is between records: the previous path (front coding) and the count. */
export interface RecordState {
  prev: Uint8Array;
  prevStr: string | undefined;
  n: bigint;
}

export function newRecordState(): RecordState {
  return { prev: new Uint8Array(0), prevStr: undefined, n: 0n };
}

/** The record at `off` did not fit before `limit`: what was missing (for the error message). */
export class Incomplete {
  constructor(readonly what: string) {}
}

/**
 * Decode the record at `bytes[off..]`, reading nothing at or past `limit`. Returns the entry and
 * the offset after it (and advances `state`), or Incomplete when the record runs past `limit`.
 * Throws ERR_MANIFEST_CORRUPT on impossible fields.
 */
export function decodeRecord(bytes: Uint8Array, dv: DataView, off: number, limit: number, state: RecordState): [Entry, number] | Incomplete {
  const n = state.n;
  if (off + FIXED > limit) return new Incomplete('fixed fields');
  const typeCode = dv.getUint8(off);
  const flags = dv.getUint8(off + 1);
  const type = TYPE_CODES[typeCode];
  if (type === undefined) throw corrupt(`record ${n} has unknown type ${typeCode}`, { offset: off });
  if (flags & ~(F_HASH | F_LINK | F_XATTR | F_RACY)) throw corrupt(`record ${n} has unknown flags 0x${flags.toString(16)}`, { offset: off });
  const mode = dv.getUint16(off + 2, true);
  const uid = dv.getUint32(off + 4, true);
  const gid = dv.getUint32(off + 8, true);
  const nlink = dv.getUint32(off + 12, true);
  const sizeLo = dv.getUint32(off + 16, true);
  const sizeHi = dv.getUint32(off + 20, true);
  const mtimeNs = dv.getBigInt64(off + 24, true);
  const inode = dv.getUint32(off + 32, true);
  const devmajor = dv.getUint32(off + 36, true);
  const devminor = dv.getUint32(off + 40, true);
  const prefix = dv.getUint16(off + 44, true);
  const suffixLen = dv.getUint16(off + 46, true);
  const at = off;
  off += FIXED;
  // size <= 2^53 - 1: the high word is at most 0x1fffff.
  if (mode > 0o7777 || sizeHi > 0x1fffff || prefix > state.prev.length) {
    throw corrupt(`record ${n} has impossible fields`, { offset: at });
  }
  const size = sizeHi * 0x100000000 + sizeLo;
  if (off + suffixLen > limit) return new Incomplete('path');
  const pathBytes = new Uint8Array(prefix + suffixLen);
  pathBytes.set(state.prev.subarray(0, prefix), 0);
  pathBytes.set(bytes.subarray(off, off + suffixLen), prefix);
  off += suffixLen;
  const path = decodeText(pathBytes, n);
  if (state.prevStr !== undefined && comparePaths(state.prevStr, path) >= 0) throw corrupt(`record ${n} (${JSON.stringify(path)}) is out of order`, { offset: at });
  const e: Entry = { path, type, mode, uid, gid, size, mtimeNs };
  if (flags & F_LINK) {
    if (off + 4 > limit) return new Incomplete('linkname length');
    const len = dv.getUint32(off, true);
    off += 4;
    if (off + len > limit) return new Incomplete('linkname');
    e.linkname = decodeText(bytes.subarray(off, off + len), n);
    off += len;
  }
  if (type === 'char' || type === 'block') {
    e.devmajor = devmajor;
    e.devminor = devminor;
  }
  if (nlink) e.nlink = nlink;
  if (inode) e.inode = inode;
  if (flags & F_XATTR) {
    if (off + 2 > limit) return new Incomplete('xattr count');
    const k = dv.getUint16(off, true);
    off += 2;
    const x: Record<string, Uint8Array> = {};
    for (let i = 0; i < k; i++) {
      if (off + 2 > limit) return new Incomplete('xattr name length');
      const nl = dv.getUint16(off, true);
      off += 2;
      if (off + nl + 4 > limit) return new Incomplete('xattr name');
      const name = decodeText(bytes.subarray(off, off + nl), n);
      off += nl;
      const vl = dv.getUint32(off, true);
      off += 4;
      if (off + vl > limit) return new Incomplete('xattr value');
      x[name] = bytes.slice(off, off + vl);
      off += vl;
    }
    e.xattrs = x;
  }
  if (flags & F_HASH) {
    if (off + HASH_LEN > limit) return new Incomplete('content hash');
    e.blake3 = bytes.slice(off, off + HASH_LEN);
    off += HASH_LEN;
  }
  if (flags & F_RACY) {
    if (type !== 'file') throw corrupt(`record ${n} is racy but not a regular file`, { offset: off });
    e.racy = true;
  }
  state.prev = pathBytes;
  state.prevStr = path;
  state.n++;
  return [e, off];
}

/** Check the header at the start of a manifest (magic, version, flags). */
export function checkManifestHeader(bytes: Uint8Array): void {
  checkHeader(bytes);
  if (bytes.length < HEADER) throw corrupt(`truncated (${bytes.length} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(8, true) !== 0) throw corrupt('unknown header flags');
}

/** The trailer's entry count against the records decoded. */
export function checkManifestCount(trailer: Uint8Array, state: RecordState): void {
  const count = new DataView(trailer.buffer, trailer.byteOffset, trailer.byteLength).getBigUint64(0, true);
  if (state.n !== count) throw corrupt(`entry count ${count} in the trailer, ${state.n} records found`);
}

export const MANIFEST_HEADER_BYTES = HEADER;
export const MANIFEST_TRAILER_BYTES = TRAILER;

/**
 * Iterate the entries of a manifest without materialising them all. Structural checks only: call
 * verifyManifest first (decodeManifest does both) to catch corruption before trusting the data.
 */
export function* readManifestEntries(bytes: Uint8Array): Generator<Entry> {
  checkHeader(bytes);
  if (bytes.length < HEADER + TRAILER) throw corrupt(`truncated (${bytes.length} bytes)`);
  checkManifestHeader(bytes);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length - TRAILER;
  const state = newRecordState();
  let off = HEADER;
  while (off < end) {
    const r = decodeRecord(bytes, dv, off, end, state);
    if (r instanceof Incomplete) throw corrupt(`record ${state.n} runs past the end (${r.what})`, { offset: off });
    off = r[1];
    yield r[0];
  }
  checkManifestCount(bytes.subarray(end), state);
}

function decodeText(b: Uint8Array, record: bigint): string {
  try {
    return fromUtf8.decode(b);
  } catch {
    throw corrupt(`record ${record} has a name that is not valid UTF-8`);
  }
}

/** Verify and decode a whole manifest. */
export async function decodeManifest(bytes: Uint8Array, options: ManifestOptions = {}): Promise<Entry[]> {
  await verifyManifest(bytes, options);
  return [...readManifestEntries(bytes)];
}
