/**
 * Streaming tar reader for untrusted layers: chunks in, entries out, with limits (limits.ts)
 * enforced while parsing. Reads POSIX ustar (name prefix), PAX ('x' records: path, linkpath,
 * size, uid, gid, mtime, SCHILY.xattr.*; 'g' global headers are read and ignored, A13), GNU long
 * names ('L', 'K') and base-256 numbers. Header checksums are verified.
 *
 * Memory: one 512-byte header, at most maxHeaderBytes of extended header, and whatever chunk the
 * source hands over; bodies are yielded as views of the source chunks, never gathered.
 * Each entry's body must be consumed (or left: the reader skips what is left) before the next
 * entry is requested. After the end-of-archive blocks the rest of the stream is read (and counted
 * against maxBytes) so that a digest computed over the source completes (A13).
 *
 * Where the stream may end (the choice, and who agrees with it):
 * - after the end-of-archive blocks, or after one zero block: the end (every tar reader);
 * - where a header would start, after at least one entry, with no zero block: the end (GNU tar,
 *   bsdtar and Go's archive/tar, so containerd, moby and umoci);
 * - inside the padding after a complete body: the end (Go's archive/tar, which is what containerd,
 *   moby and umoci read layers with; umoci 0.4.7's `insert` writes such layers). GNU tar and bsdtar
 *   call this truncated; every byte of every entry is there, so we side with the layer readers;
 * - at byte 0 (an empty stream): ERR_LAYER_TRUNCATED (GNU tar: "does not look like a tar archive";
 *   even an empty tar is 1 KiB of zero blocks, and an empty blob is likelier a broken download);
 * - anywhere else (inside a header, an extended header, a body, the second zero block):
 *   ERR_LAYER_TRUNCATED, as Go's archive/tar (GNU tar takes a short last block for the end, and
 *   both tars stop at the first zero block; test/tar/reader-endings.test.ts records who says what).
 * A layer whose blob and diffID digests are checked (image unpack, apply with digests) is complete
 * whatever its ending; these rules matter for bare tars.
 *
 * Errors: ERR_LAYER_CORRUPT (checksum, numbers, PAX), ERR_LAYER_TRUNCATED (see above),
 * ERR_LIMIT_EXCEEDED, ERR_UNSUPPORTED (sparse files, volume headers and other entry kinds a layer
 * has no use for).
 */
import { LayerkitError } from '../errors.ts';
import { BLOCK, paddingFor, type TarType } from './header.ts';
import { limitError, resolveLimits, type TarLimits } from './limits.ts';
import { utf8Length } from '../utf8.ts';

export interface TarEntry {
  /** The name as stored (PAX path, GNU long name or ustar prefix/name), not cleaned. */
  name: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  /** Body size (0 for every type but 'file'). */
  size: number;
  /** Modification time, whole seconds (PAX fractions truncated). */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** SCHILY.xattr.* records, raw values. */
  xattrs?: Record<string, Uint8Array>;
  /** Byte offset of the entry's first header block in the tar (for error messages). */
  offset: number;
  /** Byte offset of the body's first byte in the tar (random access: src/union/tar-index.ts). */
  dataOffset: number;
  /** The body: exactly `size` bytes, as views valid until the next chunk is requested. */
  body(): AsyncGenerator<Uint8Array>;
}

export interface ReadTarOptions {
  limits?: Partial<TarLimits>;
}

const TYPES: Record<number, TarType> = {
  0x30: 'file', 0x00: 'file', 0x37: 'file', 0x31: 'link', 0x32: 'symlink', 0x33: 'char', 0x34: 'block', 0x35: 'dir', 0x36: 'fifo',
};
const PAX = 0x78; // 'x'
const PAX_GLOBAL = 0x67; // 'g'
const GNU_LONGNAME = 0x4c; // 'L'
const GNU_LONGLINK = 0x4b; // 'K'

const utf8 = new TextDecoder('utf-8', { fatal: true });

function corrupt(message: string, offset: number, data: Record<string, unknown> = {}): LayerkitError {
  return new LayerkitError('ERR_LAYER_CORRUPT', `tar header at byte ${offset}: ${message} (is the layer corrupted, or compressed in an unknown format?)`, { offset, ...data });
}

function truncated(what: string, offset: number): LayerkitError {
  return new LayerkitError('ERR_LAYER_TRUNCATED', `layer truncated: the stream ends ${what} (at byte ${offset})`, { offset });
}

/** Pull-based byte source over async chunks, counting bytes against maxBytes. */
class Bytes {
  readonly #it: AsyncIterator<Uint8Array>;
  readonly #max: number;
  #chunk: Uint8Array = new Uint8Array(0);
  #pos = 0;
  /** Bytes consumed by the parser so far. */
  offset = 0;
  #pulled = 0;
  #eof = false;

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, max: number) {
    this.#it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (async function* () { yield* source; })();
    this.#max = max;
  }

  /** Ensure some unread bytes are buffered; false at EOF. */
  async #fill(): Promise<boolean> {
    while (this.#pos >= this.#chunk.length) {
      if (this.#eof) return false;
      const r = await this.#it.next();
      if (r.done) {
        this.#eof = true;
        return false;
      }
      this.#pulled += r.value.length;
      if (this.#pulled > this.#max) throw limitError('maxBytes', this.#pulled, this.#max, 'decompressed layer size');
      this.#chunk = r.value;
      this.#pos = 0;
    }
    return true;
  }

  /**
   * Exactly n bytes, or null if the stream ended before the first byte: a view of the current
   * chunk when it holds them all (source chunks are never reused, so the view stays valid), else
   * a copy gathered across chunks.
   */
  exact(n: number, what: string): Uint8Array | null | Promise<Uint8Array | null> {
    const end = this.#pos + n;
    if (end <= this.#chunk.length) {
      const view = this.#chunk.subarray(this.#pos, end);
      this.#pos = end;
      this.offset += n;
      return view;
    }
    return this.#gather(n, what);
  }

  async #gather(n: number, what: string): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      if (!(await this.#fill())) {
        if (got === 0) return null;
        throw truncated(what, this.offset);
      }
      const take = Math.min(n - got, this.#chunk.length - this.#pos);
      out.set(this.#chunk.subarray(this.#pos, this.#pos + take), got);
      this.#pos += take;
      got += take;
      this.offset += take;
    }
    return out;
  }

  /** Up to n (> 0) bytes as one view of the current chunk; throws ERR_LAYER_TRUNCATED at EOF. */
  next(n: number, what: string): Uint8Array | Promise<Uint8Array> {
    if (this.#pos < this.#chunk.length) return this.#view(n);
    return this.#fill().then((more) => {
      if (!more) throw truncated(what, this.offset);
      return this.#view(n);
    });
  }

  #view(n: number): Uint8Array {
    const take = Math.min(n, this.#chunk.length - this.#pos);
    const view = this.#chunk.subarray(this.#pos, this.#pos + take);
    this.#pos += take;
    this.offset += take;
    return view;
  }

  /** Skip n bytes; ERR_LAYER_TRUNCATED if the stream ends first. Nothing to wait for when they are buffered. */
  skip(n: number, what: string): void | Promise<void> {
    const whole = this.skipUpTo(n);
    if (whole === true) return;
    return (async () => {
      if (!(await whole)) throw truncated(what, this.offset);
    })();
  }

  /** Skip up to n bytes; false if the stream ended first. Nothing to wait for (true) when they are buffered. */
  skipUpTo(n: number): boolean | Promise<boolean> {
    const take = Math.min(n, this.#chunk.length - this.#pos);
    this.#pos += take;
    this.offset += take;
    return take === n ? true : this.#skipSlow(n - take);
  }

  async #skipSlow(n: number): Promise<boolean> {
    let left = n;
    while (left > 0) {
      if (!(await this.#fill())) return false;
      const take = Math.min(left, this.#chunk.length - this.#pos);
      this.#pos += take;
      left -= take;
      this.offset += take;
    }
    return true;
  }

  /** Read (and count) everything left. */
  async drain(): Promise<void> {
    while (await this.#fill()) {
      this.offset += this.#chunk.length - this.#pos;
      this.#pos = this.#chunk.length;
    }
  }

  async close(): Promise<void> {
    if (!this.#eof) await this.#it.return?.();
  }
}

/** Octal (NUL/space terminated, leading spaces allowed) or base-256 (high bit set) number. */
export function parseNumber(b: Uint8Array, off: number, len: number, field: string, hdrOffset: number): number {
  const first = b[off]!;
  if (first & 0x80) {
    if (first === 0xff) throw corrupt(`negative base-256 ${field}`, hdrOffset, { field });
    let v = first & 0x7f;
    for (let i = 1; i < len; i++) {
      v = v * 256 + b[off + i]!;
      if (v > Number.MAX_SAFE_INTEGER) throw corrupt(`${field} too large`, hdrOffset, { field });
    }
    return v;
  }
  let i = off;
  const end = off + len;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) throw corrupt(`${field} is not an octal number`, hdrOffset, { field });
    v = v * 8 + (c - 0x30);
    digits++;
  }
  for (; i < end; i++) {
    if (b[i] !== 0 && b[i] !== 0x20) throw corrupt(`${field} is not an octal number`, hdrOffset, { field });
  }
  if (digits === 0 && field === 'checksum') throw corrupt('empty checksum', hdrOffset);
  return v;
}

function cstring(b: Uint8Array, off: number, len: number): Uint8Array {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return b.subarray(off, end);
}

function decodeName(bytes: Uint8Array, field: string, offset: number): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new LayerkitError('ERR_UNSUPPORTED', `tar header at byte ${offset}: ${field} is not valid UTF-8`, { offset, field });
  }
}

/** The stored checksum is the header's sum with the checksum field as spaces: unsigned bytes (POSIX) or signed (old tars). */
function verifyChecksum(h: Uint8Array, offset: number): void {
  const stored = parseNumber(h, 148, 8, 'checksum', offset);
  const unsigned = headerSum(h, false);
  if (stored !== unsigned && stored !== headerSum(h, true)) throw corrupt(`checksum mismatch (stored ${stored}, computed ${unsigned})`, offset);
}

function headerSum(h: Uint8Array, signed: boolean): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) {
    if (i === 148) i = 156; // the checksum field itself counts as spaces
    const c = h[i]!;
    sum += signed && c > 127 ? c - 256 : c;
  }
  return sum;
}

function isZeroBlock(h: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

interface Extended {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  xattrs?: Record<string, Uint8Array>;
}

const SAFE_DECIMAL = /^[0-9]{1,16}$/;

function paxNumber(key: string, value: Uint8Array, offset: number): number {
  const s = new TextDecoder().decode(value);
  if (!SAFE_DECIMAL.test(s) || !Number.isSafeInteger(Number(s))) throw corrupt(`PAX ${key}="${s.slice(0, 40)}" is not a valid number`, offset, { key });
  return Number(s);
}

/** Parse PAX records into `into` (global headers pass a throwaway object). */
export function parsePax(data: Uint8Array, offset: number, into: Extended): void {
  let p = 0;
  while (p < data.length) {
    let sp = p;
    let len = 0;
    while (sp < data.length && data[sp]! >= 0x30 && data[sp]! <= 0x39 && sp - p < 12) len = len * 10 + (data[sp++]! - 0x30);
    if (sp === p || data[sp] !== 0x20 || len <= sp - p + 1 || p + len > data.length || data[p + len - 1] !== 0x0a) {
      // Trailing NULs after the last record are tolerated (some writers pad).
      if (data.subarray(p).every((c) => c === 0)) return;
      throw corrupt('malformed PAX record', offset, { at: p });
    }
    const rec = data.subarray(sp + 1, p + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw corrupt('PAX record without a key', offset, { at: p });
    const key = decodeName(rec.subarray(0, eq), 'PAX key', offset);
    const value = rec.subarray(eq + 1);
    switch (key) {
      case 'path': into.path = decodeName(value, 'PAX path', offset); break;
      case 'linkpath': into.linkpath = decodeName(value, 'PAX linkpath', offset); break;
      case 'size': into.size = paxNumber(key, value, offset); break;
      case 'uid': into.uid = paxNumber(key, value, offset); break;
      case 'gid': into.gid = paxNumber(key, value, offset); break;
      case 'mtime': {
        const s = new TextDecoder().decode(value);
        if (!/^-?[0-9]{1,16}(\.[0-9]*)?$/.test(s)) throw corrupt(`PAX mtime="${s.slice(0, 40)}" is not a valid time`, offset);
        into.mtime = Math.floor(Number(s));
        break;
      }
      default:
        if (key.startsWith('SCHILY.xattr.')) {
          (into.xattrs ??= {})[key.slice('SCHILY.xattr.'.length)] = new Uint8Array(value); // a copy (value is a view of a source chunk)
        } else if (key.startsWith('GNU.sparse.')) {
          throw new LayerkitError('ERR_UNSUPPORTED', `tar header at byte ${offset}: GNU sparse files are not supported in layers`, { offset, key });
        }
      // uname, gname, atime, ctime, comment, charset, LIBARCHIVE.*: ignored (G7: numeric ids).
    }
    p += len;
  }
}

/** Entries of a tar stream; see the module comment for the contract. */
export async function* readTar(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: ReadTarOptions = {}): AsyncGenerator<TarEntry> {
  const limits = resolveLimits(options.limits);
  const src = new Bytes(source, limits.maxBytes);
  let entries = 0;
  // What the previous entry left unread: the rest of its body, then its padding.
  let bodyLeft = 0;
  let padLeft = 0;
  try {
    let ext: Extended = {};
    let extStart = -1;
    for (;;) {
      if (bodyLeft > 0) {
        const skipped = src.skip(bodyLeft, 'inside an entry body');
        if (skipped) await skipped;
        bodyLeft = 0;
      }
      if (padLeft > 0) {
        let whole = src.skipUpTo(padLeft);
        if (whole !== true) whole = await whole;
        padLeft = 0;
        // EOF inside the padding after a complete body: the end, as Go's archive/tar reads it.
        if (!whole) return;
      }
      const offset = src.offset;
      let h = src.exact(BLOCK, 'inside a header block');
      if (h instanceof Promise) h = await h;
      if (h === null) {
        // EOF where a header would start: the end, unless nothing came at all (or a PAX or GNU
        // extended header is still waiting for its entry).
        if (offset === 0) throw truncated('before the first header (an empty stream is not a tar)', offset);
        if (extStart >= 0) throw truncated('after an extended header, before its entry', offset);
        return;
      }
      if (isZeroBlock(h)) {
        if (extStart >= 0) throw corrupt('extended header not followed by an entry', extStart);
        // End of archive: a second zero block normally follows; then drain (A13).
        await src.exact(BLOCK, 'inside the end-of-archive blocks');
        await src.drain();
        return;
      }
      verifyChecksum(h, offset);
      const flag = h[156]!;
      // "ustar\0": POSIX ustar (name prefix at 345); GNU's "ustar  " has no prefix field
      const posix = h[257] === 0x75 && h[258] === 0x73 && h[259] === 0x74 && h[260] === 0x61 && h[261] === 0x72 && h[262] === 0;
      let size = parseNumber(h, 124, 12, 'size', offset);

      if (flag === PAX || flag === PAX_GLOBAL || flag === GNU_LONGNAME || flag === GNU_LONGLINK) {
        if (size > limits.maxHeaderBytes) throw limitError('maxHeaderBytes', size, limits.maxHeaderBytes, `extended header at byte ${offset}`, { offset });
        let got = src.exact(size, 'inside an extended header');
        if (got instanceof Promise) got = await got;
        const data = got ?? new Uint8Array(0);
        if (data.length < size) throw truncated('inside an extended header', src.offset);
        await src.skip(paddingFor(size), 'inside an extended header');
        if (extStart < 0) extStart = offset;
        if (flag === PAX) parsePax(data, offset, ext);
        else if (flag === PAX_GLOBAL) parsePax(data, offset, {});
        else {
          const s = cstring(data, 0, data.length);
          const max = flag === GNU_LONGNAME ? limits.maxNameBytes : limits.maxLinkBytes;
          if (s.length > max) throw limitError(flag === GNU_LONGNAME ? 'maxNameBytes' : 'maxLinkBytes', s.length, max, `GNU long name at byte ${offset}`, { offset });
          const str = decodeName(s, 'GNU long name', offset);
          if (flag === GNU_LONGNAME) ext.path = str;
          else ext.linkpath = str;
        }
        continue;
      }

      const type = TYPES[flag];
      if (type === undefined) {
        throw new LayerkitError('ERR_UNSUPPORTED', `tar header at byte ${offset}: entry type '${String.fromCharCode(flag)}' (0x${flag.toString(16)}) is not supported in a layer`, { offset, typeflag: flag });
      }
      if (++entries > limits.maxEntries) throw limitError('maxEntries', entries, limits.maxEntries, 'entries in the layer');

      let nameBytes = cstring(h, 0, 100);
      if (posix) {
        const prefix = cstring(h, 345, 155);
        if (prefix.length > 0) {
          const joined = new Uint8Array(prefix.length + 1 + nameBytes.length);
          joined.set(prefix, 0);
          joined[prefix.length] = 0x2f;
          joined.set(nameBytes, prefix.length + 1);
          nameBytes = joined;
        }
      }
      const name = ext.path ?? decodeName(nameBytes, 'name', offset);
      const linkname = ext.linkpath ?? decodeName(cstring(h, 157, 100), 'linkname', offset);
      // (a UTF-16 unit is at most 3 UTF-8 bytes: short names need no encoding to be measured)
      const nameLen = name.length * 3 <= limits.maxNameBytes ? 0 : utf8Length(name);
      if (nameLen > limits.maxNameBytes) throw limitError('maxNameBytes', nameLen, limits.maxNameBytes, `entry name at byte ${offset}`, { offset });
      const linkLen = linkname.length * 3 <= limits.maxLinkBytes ? 0 : utf8Length(linkname);
      if (linkLen > limits.maxLinkBytes) throw limitError('maxLinkBytes', linkLen, limits.maxLinkBytes, `link target at byte ${offset}`, { offset });
      if (name.includes('\0') || linkname.includes('\0')) throw corrupt('NUL byte in a name', offset);
      if (name === '') throw corrupt('empty entry name', offset);
      if (ext.size !== undefined) size = ext.size;
      // V7 tars ('\0' type) mark directories by a trailing slash (as Go's archive/tar reads them).
      const realType: TarType = flag === 0 && name.endsWith('/') ? 'dir' : type;
      // Header-only types carry no body whatever the size field says (as Go's archive/tar).
      const bodySize = realType === 'file' ? size : 0;

      const entry: TarEntry = {
        name,
        type: realType,
        mode: parseNumber(h, 100, 8, 'mode', offset) & 0o7777,
        uid: ext.uid ?? parseNumber(h, 108, 8, 'uid', offset),
        gid: ext.gid ?? parseNumber(h, 116, 8, 'gid', offset),
        size: bodySize,
        mtime: ext.mtime ?? parseNumber(h, 136, 12, 'mtime', offset),
        linkname: realType === 'link' || realType === 'symlink' ? linkname : '',
        devmajor: realType === 'char' || realType === 'block' ? parseNumber(h, 329, 8, 'devmajor', offset) : 0,
        devminor: realType === 'char' || realType === 'block' ? parseNumber(h, 337, 8, 'devminor', offset) : 0,
        offset: extStart >= 0 ? extStart : offset,
        dataOffset: src.offset,
        body: () => {
          throw new Error('unreachable');
        },
      };
      if (ext.xattrs) entry.xattrs = ext.xattrs;
      ext = {};
      extStart = -1;

      let left = bodySize;
      bodyLeft = bodySize;
      padLeft = paddingFor(bodySize);
      entry.body = async function* body() {
        while (left > 0) {
          let chunk = src.next(left, `inside the body of "${name}"`);
          if (chunk instanceof Promise) chunk = await chunk;
          left -= chunk.length;
          bodyLeft -= chunk.length;
          yield chunk;
        }
      };
      yield entry;
    }
  } finally {
    await src.close();
  }
}
