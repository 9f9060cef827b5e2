/**
 * Extended attributes for the node adapter, read with getfattr (Debian package `attr`).
 *
 * Why a process: node:fs has no getxattr/listxattr, and a native addon would need a compiler on
 * every user's machine (and does not load in Deno's npm layer the same way). getfattr reads a
 * whole tree in one run (`-R`), so a walk pays one process start, and that process runs beside the
 * walk on another core. Names with bytes getfattr cannot print are written as octal escapes
 * (\012, \134); values are asked for in base64 ("0s..."), so binary values such as
 * security.capability arrive intact.
 *
 * Without getfattr on the PATH (or where it fails to start), no xattrs are read: `available()`
 * says so, and the README documents it. Files getfattr cannot read (permissions) are left out of
 * its output; the walk reports those files' own errors when it reads them.
 */
import { spawn } from 'node:child_process';

export type XattrMap = Map<string, Record<string, Uint8Array>>;

/** Undo getfattr's octal escapes (\ooo) in raw bytes. */
function unescapeOctal(bytes: Uint8Array): Uint8Array {
  if (!bytes.includes(0x5c)) return bytes;
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x5c && i + 3 < bytes.length && isOctal(bytes[i + 1]) && isOctal(bytes[i + 2]) && isOctal(bytes[i + 3])) {
      out.push(((bytes[i + 1]! - 48) << 6) | ((bytes[i + 2]! - 48) << 3) | (bytes[i + 3]! - 48));
      i += 3;
    } else out.push(b);
  }
  return Uint8Array.from(out);
}

function isOctal(b: number | undefined): boolean {
  return b !== undefined && b >= 48 && b <= 55;
}

const utf8 = new TextDecoder();
const FILE = new TextEncoder().encode('# file: ');

function startsWith(line: Uint8Array, prefix: Uint8Array): boolean {
  if (line.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (line[i] !== prefix[i]) return false;
  return true;
}

/** Decode a value as getfattr prints it with `-e base64` (0s...), or hex (0x...), or "text". */
function decodeValue(v: string): Uint8Array {
  if (v === '') return new Uint8Array(0);
  if (v.startsWith('0s')) return Uint8Array.from(atob(v.slice(2)), (c) => c.charCodeAt(0));
  if (v.startsWith('0x')) return Uint8Array.from(v.slice(2).match(/../g) ?? [], (h) => parseInt(h, 16));
  if (v.startsWith('"') && v.endsWith('"')) return new TextEncoder().encode(v.slice(1, -1));
  throw new Error(`getfattr: unreadable value ${v.slice(0, 20)}`);
}

/**
 * Parse `getfattr -d -m - -e base64 --absolute-names` output into path -> {name: value}. Paths are
 * the ones getfattr printed (the root as given, joined with '/'), unescaped and UTF-8 decoded.
 */
export function parseGetfattrDump(out: Uint8Array): XattrMap {
  const map: XattrMap = new Map();
  let current: Record<string, Uint8Array> | undefined;
  let start = 0;
  while (start < out.length) {
    let end = out.indexOf(0x0a, start);
    if (end < 0) end = out.length;
    const line = out.subarray(start, end);
    start = end + 1;
    if (line.length === 0) {
      current = undefined;
      continue;
    }
    if (startsWith(line, FILE)) {
      const path = utf8.decode(unescapeOctal(line.subarray(FILE.length)));
      current = {};
      map.set(path, current);
      continue;
    }
    if (!current) continue;
    const eq = line.indexOf(0x3d);
    const name = utf8.decode(unescapeOctal(eq < 0 ? line : line.subarray(0, eq)));
    current[name] = decodeValue(eq < 0 ? '' : utf8.decode(line.subarray(eq + 1)));
  }
  return map;
}

let missing = false;

/** Run getfattr over `paths` (recursively if asked); resolves to undefined when getfattr cannot run. */
export function getfattr(paths: string[], recursive: boolean): Promise<XattrMap | undefined> {
  if (missing) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const args = [...(recursive ? ['-R', '-P'] : []), '-h', '--absolute-names', '-d', '-m', '-', '-e', 'base64', '--', ...paths];
    let child;
    try {
      child = spawn('getfattr', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      // e.g. Deno without --allow-run: no xattrs, as without getfattr
      missing = true;
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        missing = true;
        resolve(undefined);
      } else reject(e);
    });
    // Exit status 1 means "some name could not be read"; what was read is still right.
    child.on('close', (code) => {
      if (code !== 0 && code !== 1) {
        resolve(undefined);
        return;
      }
      try {
        resolve(parseGetfattrDump(Buffer.concat(chunks)));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/**
 * A cache of whole-tree reads: `prepare(root)` starts getfattr -R on root (once per root); `get`
 * answers for a path under a prepared root from that read, and for any other path with a
 * getfattr run of its own.
 */
export class TreeXattrs {
  #trees: { root: string; map: Promise<XattrMap | undefined> }[] = [];

  prepare(root: string): void {
    if (this.#trees.some((t) => t.root === root)) return;
    // getfattr prints root + '/' + relative path, whatever the root ends with: key by the part
    // after that, so lookups need not care how the root was spelled.
    const map = getfattr([root], true).then((m) => {
      if (!m) return undefined;
      const byRel: XattrMap = new Map();
      for (const [p, x] of m) byRel.set(p === root ? '' : p.slice(root.length + 1), x);
      return byRel;
    });
    this.#trees.push({ root, map });
  }

  async get(path: string): Promise<Record<string, Uint8Array>> {
    for (const t of this.#trees) {
      const dir = t.root.endsWith('/') ? t.root : `${t.root}/`;
      if (path === t.root || path.startsWith(dir)) {
        const map = await t.map;
        return map?.get(path === t.root ? '' : path.slice(dir.length)) ?? {};
      }
    }
    const one = await getfattr([path], false);
    return one?.get(path) ?? {};
  }
}
