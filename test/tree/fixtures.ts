/**
 * Declarative tree fixtures, built the same way on disk (node:fs) and in a MemoryFs:
 *   await build(dir, file('a/b', 'x', { mode: 0o644 }), dir('c'), symlink('d', 'a/b'), hardlink('e', 'a/b'))
 * Parents are created as needed; mtimes given in ns are applied last (deepest first), so adding
 * children does not disturb them. Also: the node:crypto test hasher (counts its calls).
 */
import * as nfs from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryFs } from '../../src/fs/memory.ts';
import type { FsLike } from '../../src/fs/types.ts';
import type { FileHasher, Sha256Factory } from '../../src/tree/defaults.ts';

export interface Attrs {
  mode?: number;
  uid?: number;
  gid?: number;
  /** mtime in ns; on disk use values whose fraction is exact in a double (.5, .25, ...). */
  mtime?: bigint;
}

export type Op =
  | { op: 'file'; path: string; content: string | Uint8Array; attrs: Attrs }
  | { op: 'dir'; path: string; attrs: Attrs }
  | { op: 'symlink'; path: string; target: string; attrs: Attrs }
  | { op: 'hardlink'; path: string; target: string }
  | { op: 'fifo' | 'socket'; path: string; attrs: Attrs }
  | { op: 'remove'; path: string };

export const file = (path: string, content: string | Uint8Array = '', attrs: Attrs = {}): Op => ({ op: 'file', path, content, attrs });
export const dir = (path: string, attrs: Attrs = {}): Op => ({ op: 'dir', path, attrs });
export const symlink = (path: string, target: string, attrs: Attrs = {}): Op => ({ op: 'symlink', path, target, attrs });
export const hardlink = (path: string, target: string): Op => ({ op: 'hardlink', path, target });
export const fifo = (path: string, attrs: Attrs = {}): Op => ({ op: 'fifo', path, attrs });
export const socket = (path: string, attrs: Attrs = {}): Op => ({ op: 'socket', path, attrs });
export const remove = (path: string): Op => ({ op: 'remove', path });

/** What build needs from a filesystem; MemoryFs has it natively, nodeWriter adapts node:fs. */
interface Writer {
  writeFile(p: string, data: string | Uint8Array): Promise<void>;
  mkdir(p: string): Promise<void>;
  symlink(target: string, p: string): Promise<void>;
  link(existing: string, p: string): Promise<void>;
  special(p: string, type: 'fifo' | 'socket'): Promise<void>;
  rm(p: string): Promise<void>;
  chmod(p: string, mode: number): Promise<void>;
  lchown(p: string, uid: number, gid: number): Promise<void>;
  lutimes(p: string, ns: bigint): Promise<void>;
}

const nsToSeconds = (ns: bigint) => Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9;

const nodeWriter: Writer = {
  writeFile: (p, d) => nfs.writeFile(p, d),
  mkdir: async (p) => { await nfs.mkdir(p, { recursive: true }); },
  symlink: (t, p) => nfs.symlink(t, p),
  link: (e, p) => nfs.link(e, p),
  special: async (p, type) => {
    if (type === 'fifo') execFileSync('mkfifo', [p]);
    else execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', p]);
  },
  rm: (p) => nfs.rm(p, { recursive: true }),
  chmod: (p, m) => nfs.chmod(p, m),
  lchown: (p, u, g) => nfs.lchown(p, u, g),
  lutimes: (p, ns) => nfs.lutimes(p, nsToSeconds(ns), nsToSeconds(ns)),
};

function memoryWriter(m: MemoryFs): Writer {
  return {
    writeFile: (p, d) => m.writeFile(p, d),
    mkdir: (p) => m.mkdir(p, { recursive: true }),
    symlink: (t, p) => m.symlink(t, p),
    link: (e, p) => m.link(e, p),
    special: (p, type) => m.mknod(p, type),
    rm: (p) => m.rm(p, { recursive: true }),
    chmod: (p, mode) => m.chmod(p, mode),
    lchown: (p, u, g) => m.lchown(p, u, g),
    lutimes: (p, ns) => m.lutimes(p, ns),
  };
}

export type Where = string | { fs: MemoryFs; root: string };

/** Apply ops under a directory on disk (a string) or in a MemoryFs. */
export async function build(where: Where, ...ops: Op[]): Promise<void> {
  const [w, root] = typeof where === 'string' ? [nodeWriter, where] : [memoryWriter(where.fs), where.root];
  const at = (p: string) => (p === '' ? root : `${root}/${p}`);
  const parent = (p: string) => p.split('/').slice(0, -1).join('/');
  const times: [string, bigint][] = [];
  await w.mkdir(root);
  for (const o of ops) {
    if (o.op === 'remove') {
      await w.rm(at(o.path));
      continue;
    }
    if (o.path !== '' && parent(o.path) !== '') await w.mkdir(at(parent(o.path)));
    if (o.op === 'file') await w.writeFile(at(o.path), o.content);
    else if (o.op === 'dir') await w.mkdir(at(o.path));
    else if (o.op === 'symlink') await w.symlink(o.target, at(o.path));
    else if (o.op === 'hardlink') await w.link(at(o.target), at(o.path));
    else await w.special(at(o.path), o.op);
    if (o.op === 'hardlink') continue;
    const a = o.attrs;
    // chown before chmod: chown clears setuid/setgid
    if (a.uid !== undefined || a.gid !== undefined) await w.lchown(at(o.path), a.uid ?? 0, a.gid ?? 0);
    if (a.mode !== undefined && o.op !== 'symlink') await w.chmod(at(o.path), a.mode);
    if (a.mtime !== undefined) times.push([o.path, a.mtime]);
  }
  times.sort((x, y) => y[0].split('/').length - x[0].split('/').length);
  for (const [p, ns] of times) await w.lutimes(at(p), ns);
}

/** A fresh temporary directory on disk and its cleanup. */
export function tempDir(): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'layerkit-tree-'));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** SHA-256 (node:crypto) of a file read through FsLike, standing in for BLAKE3; counts its calls. */
export function countingHasher(): FileHasher & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (fs: FsLike, path: string) => {
    calls.push(path);
    const fh = await fs.open(path);
    const h = createHash('sha256');
    const buf = new Uint8Array(64 * 1024);
    try {
      for (let pos = 0; ; ) {
        const n = await fh.read(buf, 0, buf.length, pos);
        if (n === 0) break;
        h.update(buf.subarray(0, n));
        pos += n;
      }
    } finally {
      await fh.close();
    }
    return new Uint8Array(h.digest());
  };
  return Object.assign(fn, { calls });
}

export const nodeSha256: Sha256Factory = () => {
  const h = createHash('sha256');
  return { update: (b: Uint8Array) => void h.update(b), digest: () => new Uint8Array(h.digest()) };
};

export const T0 = 1_700_000_000_000_000_000n; // whole second
export const sec = (s: number, frac = 0) => T0 + BigInt(s) * 1_000_000_000n + BigInt(Math.round(frac * 1e9));
