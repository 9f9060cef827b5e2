/**
 * An in-memory filesystem implementing FsLike (and WritableFsLike), for core tests and browsers.
 * POSIX-like: inodes with link counts (hardlinks), symlinks (followed in the middle of a path and
 * by open/writeFile/chmod/chown/utimes, not by lstat/readlink/lutimes/lchown), devices, fifos and
 * sockets as plain records, xattrs, nanosecond mtimes. Adding or removing a name updates the
 * directory's mtime, writing a file updates its own, as a real filesystem does.
 * Paths are '/'-separated; relative paths are taken from the root. Errors look like node's
 * (`code` 'ENOENT', 'ENOTDIR', 'EEXIST', 'EISDIR', 'ENOTEMPTY', 'ELOOP', 'EINVAL').
 */
import type { FileHandleLike, FileStat, FileType, MutableFsLike, WriteHandleLike } from './types.ts';
import { fileStat } from './types.ts';

interface Inode {
  ino: number;
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  nlink: number;
  data: Uint8Array;
  target: string;
  children: Map<string, Inode> | undefined;
  devmajor: number;
  devminor: number;
  xattrs: Map<string, Uint8Array>;
}

export interface MemoryFsOptions {
  /** Device number reported by lstat (default 1). */
  dev?: number;
  /** Clock for new mtimes, in ns (default: wall clock, strictly increasing). */
  now?: () => bigint;
  /** Owner of new files (default 0:0). */
  uid?: number;
  gid?: number;
  /**
   * false: behave like an unprivileged process (tests of rootless apply): lchown to any owner but
   * uid:gid, char/block devices and trusted.* / security.* xattrs fail with EPERM. Default true.
   */
  privileged?: boolean;
}

const MAX_SYMLINK_HOPS = 40;

function fsError(code: string, syscall: string, path: string): Error {
  const text: Record<string, string> = {
    ENOENT: 'no such file or directory',
    ENOTDIR: 'not a directory',
    EEXIST: 'file already exists',
    EISDIR: 'illegal operation on a directory',
    ENOTEMPTY: 'directory not empty',
    ELOOP: 'too many symbolic links encountered',
    EINVAL: 'invalid argument',
    EPERM: 'operation not permitted',
  };
  return Object.assign(new Error(`${code}: ${text[code] ?? code}, ${syscall} '${path}'`), { code, syscall, path });
}

/** Whether `inner` is somewhere below the directory `dir`. */
function contains(dir: Inode, inner: Inode): boolean {
  for (const c of dir.children!.values()) if (c === inner || (c.type === 'dir' && contains(c, inner))) return true;
  return false;
}

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

class MemoryFileHandle implements FileHandleLike {
  #data: Uint8Array | undefined;
  constructor(data: Uint8Array) {
    this.#data = data;
  }
  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    if (!this.#data) throw fsError('EBADF', 'read', '');
    const src = this.#data.subarray(Math.min(position, this.#data.length), Math.min(position + length, this.#data.length));
    buffer.set(src, offset);
    return src.length;
  }
  async close(): Promise<void> {
    this.#data = undefined;
  }
}

export class MemoryFs implements MutableFsLike {
  readonly #dev: bigint;
  readonly #now: () => bigint;
  readonly #uid: number;
  readonly #gid: number;
  readonly #privileged: boolean;
  #nextIno = 1;
  #lastNow = 0n;
  readonly #root: Inode;

  constructor(options: MemoryFsOptions = {}) {
    this.#dev = BigInt(options.dev ?? 1);
    this.#uid = options.uid ?? 0;
    this.#gid = options.gid ?? 0;
    this.#privileged = options.privileged ?? true;
    this.#now = options.now ?? (() => {
      const t = BigInt(Date.now()) * 1_000_000n;
      this.#lastNow = t > this.#lastNow ? t : this.#lastNow + 1n;
      return this.#lastNow;
    });
    this.#root = this.#inode('dir', 0o755);
  }

  #inode(type: FileType, mode: number): Inode {
    return {
      ino: this.#nextIno++, type, mode: mode & 0o7777, uid: this.#uid, gid: this.#gid, mtimeNs: this.#now(),
      nlink: 1, data: new Uint8Array(0), target: '', children: type === 'dir' ? new Map() : undefined,
      devmajor: 0, devminor: 0, xattrs: new Map(),
    };
  }

  /** Resolve a path to its inode; `follow` decides whether a final symlink is followed. */
  #lookup(path: string, follow: boolean, syscall: string): Inode {
    const stack: Inode[] = [this.#root]; // the current directory is on top
    let parts = components(path);
    let hops = 0;
    for (let i = 0; i < parts.length; ) {
      const name = parts[i];
      if (name === '..') {
        if (stack.length > 1) stack.pop();
        i++;
        continue;
      }
      const cur = stack[stack.length - 1];
      if (cur.type !== 'dir') throw fsError('ENOTDIR', syscall, path);
      const next = cur.children!.get(name);
      if (!next) throw fsError('ENOENT', syscall, path);
      if (next.type === 'symlink' && (i < parts.length - 1 || follow)) {
        if (++hops > MAX_SYMLINK_HOPS) throw fsError('ELOOP', syscall, path);
        if (next.target.startsWith('/')) stack.length = 1;
        parts = [...components(next.target), ...parts.slice(i + 1)];
        i = 0;
        continue;
      }
      stack.push(next);
      i++;
    }
    return stack[stack.length - 1];
  }

  /** The directory that holds the last component of `path`, and that component's name. */
  #parent(path: string, syscall: string): [Inode, string] {
    const parts = components(path);
    const name = parts.pop();
    if (name === undefined || name === '..') throw fsError('EINVAL', syscall, path);
    const dir = this.#lookup(parts.join('/'), true, syscall);
    if (dir.type !== 'dir') throw fsError('ENOTDIR', syscall, path);
    return [dir, name];
  }

  #add(path: string, syscall: string, node: Inode): void {
    const [dir, name] = this.#parent(path, syscall);
    if (dir.children!.has(name)) throw fsError('EEXIST', syscall, path);
    dir.children!.set(name, node);
    dir.mtimeNs = this.#now();
  }

  // ---- FsLike ----

  async open(path: string): Promise<FileHandleLike> {
    const node = this.#lookup(path, true, 'open');
    if (node.type === 'dir') throw fsError('EISDIR', 'open', path);
    return new MemoryFileHandle(node.data);
  }

  async lstat(path: string): Promise<FileStat> {
    const n = this.#lookup(path, false, 'lstat');
    return fileStat({
      type: n.type, mode: n.mode, uid: n.uid, gid: n.gid,
      size: n.type === 'file' ? n.data.length : n.type === 'symlink' ? new TextEncoder().encode(n.target).length : 0,
      mtimeNs: n.mtimeNs, ino: BigInt(n.ino), dev: this.#dev,
      nlink: n.type === 'dir' ? 2 + [...n.children!.values()].filter((c) => c.type === 'dir').length : n.nlink,
      devmajor: n.devmajor, devminor: n.devminor,
    });
  }

  async readdir(path: string): Promise<string[]> {
    const n = this.#lookup(path, true, 'scandir');
    if (n.type !== 'dir') throw fsError('ENOTDIR', 'scandir', path);
    return [...n.children!.keys()];
  }

  async readlink(path: string): Promise<string> {
    const n = this.#lookup(path, false, 'readlink');
    if (n.type !== 'symlink') throw fsError('EINVAL', 'readlink', path);
    return n.target;
  }

  async xattrs(path: string): Promise<Record<string, Uint8Array>> {
    const n = this.#lookup(path, false, 'llistxattr');
    const out: Record<string, Uint8Array> = {};
    for (const [k, v] of n.xattrs) out[k] = v.slice();
    return out;
  }

  // ---- WritableFsLike ----

  async writeFile(path: string, data: Uint8Array | string, options: { mode?: number } = {}): Promise<void> {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data.slice();
    let node: Inode | undefined;
    try {
      node = this.#lookup(path, true, 'open');
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') throw e;
    }
    if (node) {
      if (node.type === 'dir') throw fsError('EISDIR', 'open', path);
      node.data = bytes; // a new array: handles opened earlier keep reading the old content
      node.mtimeNs = this.#now();
      return;
    }
    // O_CREAT follows a final symlink, a dangling one too: the file is created at its target.
    let target = path;
    for (let hops = 0; ; hops++) {
      let link: Inode;
      try {
        link = this.#lookup(target, false, 'open');
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
        break;
      }
      if (link.type !== 'symlink') break;
      if (hops >= MAX_SYMLINK_HOPS) throw fsError('ELOOP', 'open', path);
      target = link.target.startsWith('/') ? link.target : `${components(target).slice(0, -1).join('/')}/${link.target}`;
    }
    node = this.#inode('file', options.mode ?? 0o644);
    node.data = bytes;
    this.#add(target, 'open', node);
  }

  async rename(from: string, to: string): Promise<void> {
    const [fromDir, fromName] = this.#parent(from, 'rename');
    const node = fromDir.children!.get(fromName);
    if (!node) throw fsError('ENOENT', 'rename', from);
    const [toDir, toName] = this.#parent(to, 'rename');
    const old = toDir.children!.get(toName);
    if (old === node) return;
    if (node.type === 'dir' && (toDir === node || contains(node, toDir))) throw fsError('EINVAL', 'rename', to); // into its own subtree
    if (old) {
      if (old.type === 'dir' && (node.type !== 'dir' || old.children!.size > 0)) {
        throw fsError(node.type === 'dir' ? 'ENOTEMPTY' : 'EISDIR', 'rename', to);
      }
      if (old.type !== 'dir' && node.type === 'dir') throw fsError('ENOTDIR', 'rename', to);
      old.nlink--;
    }
    fromDir.children!.delete(fromName);
    toDir.children!.set(toName, node);
    fromDir.mtimeNs = toDir.mtimeNs = this.#now();
  }

  async unlink(path: string): Promise<void> {
    const [dir, name] = this.#parent(path, 'unlink');
    const node = dir.children!.get(name);
    if (!node) throw fsError('ENOENT', 'unlink', path);
    if (node.type === 'dir') throw fsError('EISDIR', 'unlink', path);
    dir.children!.delete(name);
    node.nlink--;
    dir.mtimeNs = this.#now();
  }

  /** Remove a name; directories only with `recursive` or when empty. */
  async rm(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const [dir, name] = this.#parent(path, 'rm');
    const node = dir.children!.get(name);
    if (!node) throw fsError('ENOENT', 'rm', path);
    if (node.type === 'dir' && node.children!.size > 0 && !options.recursive) throw fsError('ENOTEMPTY', 'rm', path);
    dir.children!.delete(name);
    // Every name below goes too: hardlinked files elsewhere lose one link each.
    const unlinkAll = (n: Inode): void => {
      n.nlink--;
      if (n.type === 'dir') for (const c of n.children!.values()) unlinkAll(c);
    };
    unlinkAll(node);
    dir.mtimeNs = this.#now();
  }

  async mkdir(path: string, options: { recursive?: boolean; mode?: number } = {}): Promise<void> {
    if (!options.recursive) {
      this.#add(path, 'mkdir', this.#inode('dir', options.mode ?? 0o755));
      return;
    }
    const parts = components(path);
    for (let i = 1; i <= parts.length; i++) {
      const sub = parts.slice(0, i).join('/');
      try {
        const n = this.#lookup(sub, true, 'mkdir');
        if (n.type !== 'dir') throw fsError('ENOTDIR', 'mkdir', path);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
        this.#add(sub, 'mkdir', this.#inode('dir', options.mode ?? 0o755));
      }
    }
  }

  async symlink(target: string, path: string): Promise<void> {
    const node = this.#inode('symlink', 0o777);
    node.target = target;
    this.#add(path, 'symlink', node);
  }

  /** A new name for an existing non-directory (does not follow a final symlink, like link(2) on Linux). */
  async link(existing: string, path: string): Promise<void> {
    const node = this.#lookup(existing, false, 'link');
    if (node.type === 'dir') throw fsError('EPERM', 'link', existing); // as link(2) on Linux
    this.#add(path, 'link', node);
    node.nlink++;
  }

  /** Create a device, fifo or socket record. */
  async mknod(path: string, type: 'char' | 'block' | 'fifo' | 'socket', options: { mode?: number; major?: number; minor?: number } = {}): Promise<void> {
    if (!this.#privileged && (type === 'char' || type === 'block')) throw fsError('EPERM', 'mknod', path);
    const node = this.#inode(type, options.mode ?? 0o644);
    node.devmajor = options.major ?? 0;
    node.devminor = options.minor ?? 0;
    this.#add(path, 'mknod', node);
  }

  async chmod(path: string, mode: number): Promise<void> {
    this.#lookup(path, true, 'chmod').mode = mode & 0o7777;
  }

  async chown(path: string, uid: number, gid: number): Promise<void> {
    const n = this.#lookup(path, true, 'chown');
    n.uid = uid;
    n.gid = gid;
  }

  async lchown(path: string, uid: number, gid: number): Promise<void> {
    const n = this.#lookup(path, false, 'lchown');
    if (!this.#privileged && (uid !== this.#uid || gid !== this.#gid)) throw fsError('EPERM', 'lchown', path);
    n.uid = uid;
    n.gid = gid;
  }

  /** Set the modification time in ns (follows a final symlink; see lutimes). */
  async utimes(path: string, mtimeNs: bigint): Promise<void> {
    this.#lookup(path, true, 'utime').mtimeNs = mtimeNs;
  }

  async lutimes(path: string, mtimeNs: bigint): Promise<void> {
    this.#lookup(path, false, 'lutime').mtimeNs = mtimeNs;
  }

  async setXattr(path: string, name: string, value: Uint8Array): Promise<void> {
    if (!this.#privileged && !name.startsWith('user.')) throw Object.assign(fsError('EPERM', 'lsetxattr', path), { attr: name });
    this.#lookup(path, false, 'lsetxattr').xattrs.set(name, value.slice());
  }

  async setXattrs(path: string, xattrs: Record<string, Uint8Array>): Promise<void> {
    for (const [k, v] of Object.entries(xattrs)) await this.setXattr(path, k, v);
  }

  async xattrsOfMany(paths: string[]): Promise<Map<string, Record<string, Uint8Array>>> {
    const out = new Map<string, Record<string, Uint8Array>>();
    for (const p of paths) {
      try {
        out.set(p, await this.xattrs(p));
      } catch {
        // missing names are left out, as getfattr does
      }
    }
    return out;
  }

  async removeXattrs(path: string, names: string[]): Promise<void> {
    const n = this.#lookup(path, false, 'lremovexattr');
    for (const k of names) {
      if (!this.#privileged && !k.startsWith('user.')) throw Object.assign(fsError('EPERM', 'lremovexattr', path), { attr: k });
      n.xattrs.delete(k);
    }
  }

  /** A new empty file (EEXIST if the name exists, whatever it is); the handle appends. */
  async createFile(path: string, mode: number): Promise<WriteHandleLike> {
    const node = this.#inode('file', mode);
    this.#add(path, 'open', node);
    let buf = new Uint8Array(0);
    let len = 0;
    let closed = false;
    return {
      write: async (data: Uint8Array) => {
        if (closed) throw fsError('EBADF', 'write', path);
        if (len + data.length > buf.length) {
          const next = new Uint8Array(Math.max(len + data.length, buf.length * 2, 64));
          next.set(buf.subarray(0, len));
          buf = next;
        }
        buf.set(data, len);
        len += data.length;
        node.data = buf.subarray(0, len);
        node.mtimeNs = this.#now();
      },
      close: async () => {
        if (closed) return;
        closed = true;
        node.data = buf.slice(0, len);
      },
    };
  }
}
