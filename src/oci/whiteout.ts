/**
 * Whiteout encoding (OCI image-spec layer.md, aufs-style): the one place that knows the names.
 * `dir/.wh.name` deletes dir/name (recursively); `dir/.wh..wh..opq` hides everything below dir
 * that lower layers hold. Paths here are relative, '/'-separated, no trailing '/' (Entry paths).
 */
import { LayerkitError } from '../errors.ts';

export const WHITEOUT_PREFIX = '.wh.';
/** aufs metadata prefix (`.wh..wh.plnk`, ...): never a whiteout of a real name. */
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export type ParsedWhiteout =
  | { kind: 'whiteout'; dir: string; name: string; target: string }
  | { kind: 'opaque'; dir: string }
  | { kind: 'meta'; dir: string; name: string };

function split(path: string): { dir: string; base: string } {
  const k = path.lastIndexOf('/');
  return k < 0 ? { dir: '', base: path } : { dir: path.slice(0, k), base: path.slice(k + 1) };
}

function join(dir: string, base: string): string {
  return dir === '' ? base : `${dir}/${base}`;
}

/** Whether a name (or the last component of a path) uses the whiteout prefix. */
export function isWhiteout(nameOrPath: string): boolean {
  return split(nameOrPath).base.startsWith(WHITEOUT_PREFIX);
}

/** Whether a name (or the last component of a path) is the opaque marker. */
export function isOpaque(nameOrPath: string): boolean {
  return split(nameOrPath).base === OPAQUE_MARKER;
}

/** The whiteout path that deletes `path` ("a/b" -> "a/.wh.b"). */
export function whiteoutFor(path: string): string {
  const { dir, base } = split(path);
  checkTargetName(base, path);
  return join(dir, WHITEOUT_PREFIX + base);
}

/** The opaque marker path for directory `dir` ('' is the root). */
export function opaqueFor(dir: string): string {
  return join(dir, OPAQUE_MARKER);
}

/**
 * Decode a whiteout path: null when the last component is not a whiteout. Malformed names
 * (`.wh.`, `.wh..`, `.wh...`: nothing, '.' or '..' to remove) throw ERR_INVALID_WHITEOUT (A4).
 * `.wh..wh.*` other than the opaque marker is aufs metadata (kind 'meta'): appliers skip it.
 */
export function parseWhiteout(path: string): ParsedWhiteout | null {
  const { dir, base } = split(path);
  if (!base.startsWith(WHITEOUT_PREFIX)) return null;
  if (base === OPAQUE_MARKER) return { kind: 'opaque', dir };
  if (base.startsWith(WHITEOUT_META_PREFIX)) return { kind: 'meta', dir, name: base };
  const name = base.slice(WHITEOUT_PREFIX.length);
  checkTargetName(name, path);
  return { kind: 'whiteout', dir, name, target: join(dir, name) };
}

function checkTargetName(name: string, path: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new LayerkitError('ERR_INVALID_WHITEOUT', `invalid whiteout for "${path}": the removed name must be a non-empty basename other than "." and ".."`, { path });
  }
}

/**
 * Refuse a real entry whose name uses the whiteout prefix (G6): written into a layer it would be
 * read back as a deletion.
 */
export function assertNotWhiteoutName(path: string): void {
  if (isWhiteout(path)) {
    throw new LayerkitError('ERR_WHITEOUT_NAME', `cannot write "${path}" into a layer: names starting with "${WHITEOUT_PREFIX}" are whiteouts`, { path });
  }
}
