/**
 * A pure tar header codec for writing: one TarHeader -> the bytes that precede its body (a POSIX
 * ustar block, preceded by a PAX extended header when a field does not fit or needs UTF-8).
 *
 * Why not tar-stream's encoder: it turns PAX values into UTF-8 strings (binary xattrs such as
 * security.capability would be corrupted), replaces mode 0 with 0644/0755, and overflows mtimes
 * past 2038 and uids past 2^21. The reader side may still use tar-stream; tests read our output
 * with tar-stream, GNU tar and bsdtar.
 *
 * Output is a function of the header only: numeric ids, empty uname/gname, whole-second mtimes,
 * PAX records in a fixed order (path, linkpath, size, uid, gid, mtime, then xattrs sorted by name),
 * a fixed PAX header name, so the same tree gives the same bytes everywhere (G7, G11).
 */
import { LayerkitError } from '../errors.ts';

export type TarType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  /** Entry name: relative, '/'-separated; directories end in '/'. */
  name: string;
  type: TarType;
  /** Permission bits (& 0o7777 is written). */
  mode: number;
  uid: number;
  gid: number;
  /** Body size (regular files only; 0 otherwise). */
  size: number;
  /** Modification time in whole seconds since the epoch. */
  mtime: number;
  /** Symlink target or hardlink target name. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Written as SCHILY.xattr.<name> PAX records with the raw value bytes. */
  xattrs?: Record<string, Uint8Array>;
}

export const BLOCK = 512;

const TYPEFLAG: Record<TarType, number> = {
  file: 0x30, link: 0x31, symlink: 0x32, char: 0x33, block: 0x34, dir: 0x35, fifo: 0x36,
};
const PAX_TYPEFLAG = 0x78; // 'x'
const PAX_NAME = 'PaxHeader';

const MAX_OCT7 = 0o7777777; // 8-byte fields: 7 digits + NUL
const MAX_OCT11 = 0o77777777777; // 12-byte fields: 11 digits + NUL

const utf8 = new TextEncoder();

/** Bytes to write before the body: [PAX header + records + padding] + ustar block. */
export function encodeHeader(h: TarHeader): Uint8Array {
  checkHeader(h);
  const name = utf8.encode(h.name);
  const link = utf8.encode(h.linkname ?? '');
  const records: Uint8Array[] = [];
  if (name.length > 100 || !isAscii(h.name)) records.push(paxRecord('path', name));
  if (link.length > 100 || !isAscii(h.linkname ?? '')) records.push(paxRecord('linkpath', link));
  if (h.size > MAX_OCT11) records.push(paxRecord('size', utf8.encode(String(h.size))));
  if (h.uid > MAX_OCT7) records.push(paxRecord('uid', utf8.encode(String(h.uid))));
  if (h.gid > MAX_OCT7) records.push(paxRecord('gid', utf8.encode(String(h.gid))));
  if (h.mtime < 0 || h.mtime > MAX_OCT11) records.push(paxRecord('mtime', utf8.encode(String(h.mtime))));
  if (h.xattrs) {
    for (const key of Object.keys(h.xattrs).sort()) records.push(paxRecord(`SCHILY.xattr.${key}`, h.xattrs[key]));
  }

  const ustar = ustarBlock({
    name: truncate(name, 100),
    mode: h.mode & 0o7777,
    uid: h.uid > MAX_OCT7 ? 0 : h.uid,
    gid: h.gid > MAX_OCT7 ? 0 : h.gid,
    size: h.size > MAX_OCT11 ? 0 : h.size,
    mtime: h.mtime < 0 || h.mtime > MAX_OCT11 ? 0 : h.mtime,
    typeflag: TYPEFLAG[h.type],
    linkname: truncate(link, 100),
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  if (records.length === 0) return ustar;

  const data = concat(records);
  const pax = ustarBlock({
    name: utf8.encode(PAX_NAME), mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0,
    typeflag: PAX_TYPEFLAG, linkname: new Uint8Array(0), devmajor: 0, devminor: 0,
  });
  const padded = Math.ceil(data.length / BLOCK) * BLOCK;
  const out = new Uint8Array(BLOCK + padded + BLOCK);
  out.set(pax, 0);
  out.set(data, BLOCK);
  out.set(ustar, BLOCK + padded);
  return out;
}

/** Zero bytes that pad a body of `size` bytes to a whole block. */
export function paddingFor(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

/** Two zero blocks: the end of the archive. */
export function endOfArchive(): Uint8Array {
  return new Uint8Array(2 * BLOCK);
}

function checkHeader(h: TarHeader): void {
  const bad = (field: string, value: unknown): never => {
    throw new LayerkitError('ERR_OUT_OF_RANGE', `tar entry "${h.name}": ${field} ${String(value)} cannot be written`, { name: h.name, field, value });
  };
  if (h.name === '' || h.name.includes('\0')) bad('name', JSON.stringify(h.name));
  if (h.linkname !== undefined && h.linkname.includes('\0')) bad('linkname', JSON.stringify(h.linkname));
  for (const f of ['uid', 'gid', 'size'] as const) {
    if (!Number.isSafeInteger(h[f]) || h[f] < 0) bad(f, h[f]);
  }
  if (!Number.isSafeInteger(h.mtime)) bad('mtime', h.mtime);
  if (h.type !== 'file' && h.size !== 0) bad('size', h.size);
  for (const f of ['devmajor', 'devminor'] as const) {
    const v = h[f] ?? 0;
    if (!Number.isSafeInteger(v) || v < 0 || v > MAX_OCT7) bad(f, v);
  }
}

interface UstarFields {
  name: Uint8Array; mode: number; uid: number; gid: number; size: number; mtime: number;
  typeflag: number; linkname: Uint8Array; devmajor: number; devminor: number;
}

function ustarBlock(f: UstarFields): Uint8Array {
  const b = new Uint8Array(BLOCK);
  b.set(f.name, 0);
  octal(b, 100, 8, f.mode);
  octal(b, 108, 8, f.uid);
  octal(b, 116, 8, f.gid);
  octal(b, 124, 12, f.size);
  octal(b, 136, 12, f.mtime);
  b[156] = f.typeflag;
  b.set(f.linkname, 157);
  b.set([0x75, 0x73, 0x74, 0x61, 0x72, 0x00, 0x30, 0x30], 257); // "ustar\0" "00"
  octal(b, 329, 8, f.devmajor);
  octal(b, 337, 8, f.devminor);
  // Checksum: sum of all bytes with the checksum field as spaces; 6 digits, NUL, space.
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  octal(b, 148, 7, sum);
  b[155] = 0x20;
  return b;
}

/** `width - 1` zero-padded octal digits then NUL. */
function octal(b: Uint8Array, offset: number, width: number, value: number): void {
  const s = value.toString(8).padStart(width - 1, '0');
  for (let i = 0; i < width - 1; i++) b[offset + i] = s.charCodeAt(i);
  b[offset + width - 1] = 0;
}

/** One PAX record: "<len> <key>=<value>\n", where len counts the whole record. */
function paxRecord(key: string, value: Uint8Array): Uint8Array {
  const k = utf8.encode(key);
  const rest = 1 + k.length + 1 + value.length + 1; // ' ' key '=' value '\n'
  let len = rest + 1;
  while (String(len).length + rest !== len) len = String(len).length + rest;
  const out = new Uint8Array(len);
  const prefix = utf8.encode(`${len} `);
  out.set(prefix, 0);
  out.set(k, prefix.length);
  out[prefix.length + k.length] = 0x3d;
  out.set(value, prefix.length + k.length + 1);
  out[len - 1] = 0x0a;
  return out;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7e) return false;
  return true;
}

/** The longest prefix of `bytes` within `max` that does not cut a UTF-8 sequence. */
function truncate(bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.length <= max) return bytes;
  let end = max;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
