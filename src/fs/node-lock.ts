/**
 * The lock protocol's port (src/fs/lock-file.ts) on node:fs: exclusive creates by link(), owners as
 * pid + host + Linux process start time, so a lock left by a killed process is seen as stale. The
 * snapshot store's port (src/platform/store-node.ts) and the image layout's adapter
 * (src/fs/node-store.ts) both use it.
 */
import { link, lstat, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { LockOwner, LockPort } from './lock-file.ts';

function isCode(e: unknown, ...codes: string[]): boolean {
  return codes.includes((e as { code?: string })?.code ?? '');
}

/** Linux: field 22 of /proc/PID/stat (start time in clock ticks since boot); undefined elsewhere. */
function procStart(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Asked on first use: importing this module needs no permission (Deno asks --allow-sys for it). */
let host: string | undefined;
const HOST = (): string => (host ??= hostname());

export const nodeLockPort: LockPort = {
  async readFile(path) {
    try {
      return new Uint8Array(await readFile(path));
    } catch (e) {
      if (isCode(e, 'ENOENT')) return undefined;
      throw e;
    }
  },
  async createExclusive(path, data) {
    // Written under a unique name first, then link()ed into place: link fails with EEXIST like
    // O_EXCL, and the lock file is never seen empty or half-written.
    const tmp = `${path}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, data, { flag: 'wx' });
    try {
      await link(tmp, path);
      return true;
    } catch (e) {
      if (isCode(e, 'EEXIST')) return false;
      throw e;
    } finally {
      await unlink(tmp).catch(() => {});
    }
  },
  async kindOf(path) {
    try {
      const st = await lstat(path);
      return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    } catch (e) {
      if (isCode(e, 'ENOENT', 'ENOTDIR')) return undefined;
      throw e;
    }
  },
  async ageMs(path) {
    try {
      return Date.now() - (await lstat(path)).mtimeMs;
    } catch (e) {
      if (isCode(e, 'ENOENT')) return undefined;
      throw e;
    }
  },
  async remove(path) {
    await rm(path, { recursive: true, force: true });
  },
  self(): LockOwner {
    const start = procStart(process.pid);
    return { pid: process.pid, host: HOST(), ...(start ? { start } : {}) };
  },
  alive(owner) {
    if (owner.host !== HOST()) return true;
    try {
      process.kill(owner.pid, 0);
    } catch (e) {
      if (isCode(e, 'ESRCH')) return false;
    }
    if (owner.start !== undefined) {
      const now = procStart(owner.pid);
      if (now !== undefined && now !== owner.start) return false; // the pid was reused
    }
    return true;
  },
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};
