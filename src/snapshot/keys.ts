/**
 * Snapshot keys and the file names derived from them. A key is any non-empty string without NUL
 * or other control characters (containerd keys look like "default/12/sha256:..."). Its record is
 * meta/<encoded>.json, where the encoding keeps [A-Za-z0-9_~-] and '.' (not leading) and writes
 * every other UTF-8 byte as %XX: reversible, one file per key, safe on any filesystem, readable.
 */
import { LayerkitError } from '../errors.ts';

/** Longest encoded key (file names are limited to 255 bytes; ".json" and temp suffixes need room). */
const MAX_ENCODED = 200;
const SAFE = /^[A-Za-z0-9_~-]$/;

export function assertKey(key: unknown, what = 'key'): asserts key is string {
  if (typeof key !== 'string' || key === '') {
    throw new LayerkitError('ERR_INVALID_ARG', `snapshot ${what} must be a non-empty string`, { key });
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) {
    throw new LayerkitError('ERR_INVALID_ARG', `snapshot ${what} ${JSON.stringify(key)} contains a control character`, { key });
  }
  if (encodeKey(key).length > MAX_ENCODED) {
    throw new LayerkitError('ERR_INVALID_ARG', `snapshot ${what} is too long (${key.length} characters; at most ${MAX_ENCODED} once encoded as a file name)`, { key });
  }
}

export function encodeKey(key: string): string {
  let out = '';
  const bytes = new TextEncoder().encode(key);
  for (let i = 0; i < bytes.length; i++) {
    const c = String.fromCharCode(bytes[i]!);
    if (SAFE.test(c) || (c === '.' && i > 0)) out += c;
    else out += '%' + bytes[i]!.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** The key a record file name stands for, or undefined when the name is not one encodeKey makes. */
export function decodeKey(name: string): string | undefined {
  if (!/^(?:[A-Za-z0-9_~-]|%[0-9A-F]{2})(?:[A-Za-z0-9_~.-]|%[0-9A-F]{2})*$/.test(name)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < name.length;) {
    if (name[i] === '%') {
      bytes.push(parseInt(name.slice(i + 1, i + 3), 16));
      i += 3;
    } else bytes.push(name.charCodeAt(i++));
  }
  let key: string;
  try {
    key = new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
  return encodeKey(key) === name ? key : undefined;
}

/** A fresh snapshot directory id: 16 random hex digits. */
export function newId(): string {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export const ID_PATTERN = /^[0-9a-f]{16}$/;
