/**
 * Lock files: one process at a time across processes and threads. The snapshot store's lock
 * serialises every store mutation (prepare, view, commit, remove, check; readers take no lock:
 * every file they read is replaced atomically, see snapshot/store.ts); an image layout's lock
 * serialises index.json updates (oci/layout/layout.ts).
 *
 * Why a lock FILE created with O_EXCL ('wx') rather than flock: Node and Deno have no flock or
 * fcntl locks, and a native addon would need a compiler on every machine. Creating a file with
 * O_EXCL is atomic on local filesystems (and NFSv3+); the file records its owner (pid, host,
 * process start time) so a lock left by a killed process is recognised as stale and broken.
 * The start time guards against pid reuse (Linux: /proc/PID/stat); a lock from another host is
 * never broken automatically.
 *
 * Breaking a stale lock is itself serialised by a second O_EXCL file (lock.break): a breaker
 * re-reads the lock while holding it and removes the lock only if it still holds the same dead
 * owner, so two processes that both saw the stale lock cannot remove a fresh one. A lock.break
 * older than BREAK_STALE_MS (its maker died in those few microseconds) is removed.
 */
import { LayerkitError, wrapError, type ErrorCode } from '../errors.ts';

/** Who holds a lock: enough to tell, on the same host, whether it is still running. */
export interface LockOwner {
  pid: number;
  host: string;
  /** Process start time as the platform reports it (Linux: /proc/PID/stat field 22), when known. */
  start?: string;
}

/** What the lock protocol needs of a platform (a subset of the store's port). */
export interface LockPort {
  /** Create `path` with O_EXCL and write `data` (synced); false when it exists. */
  createExclusive(path: string, data: Uint8Array): Promise<boolean>;
  readFile(path: string): Promise<Uint8Array | undefined>;
  /** Remove a file or a tree; no error if missing. */
  remove(path: string): Promise<void>;
  /** 'dir', 'file', 'other' or undefined (missing); does not follow a final symlink. */
  kindOf(path: string): Promise<'dir' | 'file' | 'other' | undefined>;
  /** Age in milliseconds of `path` (mtime), undefined when missing. */
  ageMs(path: string): Promise<number | undefined>;
  self(): LockOwner;
  /** false only when the owner is known to be dead (same host, no such process, or a different start time). */
  alive(owner: LockOwner): boolean;
  sleep(ms: number): Promise<void>;
}

/** What a lock guards, for the error when it cannot be taken. */
export interface LockSubject {
  /** e.g. "store", "image layout /x" (default "store"). */
  what?: string;
  /** default ERR_STORE_LOCKED */
  code?: ErrorCode;
}

const encodeJson = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v, null, 2) + '\n');

const BREAK_STALE_MS = 10_000;

export interface LockFileContent extends LockOwner {
  /** What the holder is doing (for error messages). */
  op: string;
  acquired: string;
}

export interface HeldLock {
  /** The dead owner whose lock was broken to get this one (the store may hold its leftovers). */
  brokeStale?: LockFileContent;
  release(): Promise<void>;
}

/** A LockOwner (or a lock file's content) written as JSON; undefined when it does not parse as one. */
export function parseOwner<T extends LockOwner = LockOwner>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as T;
    if (typeof v === 'object' && v && Number.isSafeInteger(v.pid) && typeof v.host === 'string') return v;
  } catch { /* a lock file being written (created empty, then filled) or damaged */ }
  return undefined;
}

function parseLock(bytes: Uint8Array | undefined): LockFileContent | undefined {
  return bytes ? parseOwner<LockFileContent>(new TextDecoder().decode(bytes)) : undefined;
}

export async function readLock(port: LockPort, path: string): Promise<LockFileContent | undefined> {
  return parseLock(await port.readFile(path));
}

/**
 * Take the lock at `path`, waiting up to `timeoutMs` for a live holder. ERR_STORE_LOCKED names the
 * holder when the wait runs out.
 */
export async function acquireLock(port: LockPort, path: string, op: string, timeoutMs: number, subject: LockSubject = {}): Promise<HeldLock> {
  const me: LockFileContent = { ...port.self(), op, acquired: new Date().toISOString() };
  const bytes = encodeJson(me);
  const deadline = Date.now() + timeoutMs;
  let brokeStale: LockFileContent | undefined;
  let delay = 5;
  let unreadable = 0;
  for (;;) {
    let created: boolean;
    try {
      created = await port.createExclusive(path, bytes);
    } catch (e) {
      throw wrapError(e, `lock ${path}`);
    }
    if (created) {
      return {
        brokeStale,
        release: async () => {
          // Remove only our own lock (never one a breaker handed to someone else).
          const cur = await readLock(port, path);
          if (cur && cur.pid === me.pid && cur.host === me.host && cur.acquired === me.acquired) await port.remove(path);
        },
      };
    }
    const holder = await readLock(port, path);
    if (holder && !port.alive(holder)) {
      const broken = await breakStale(port, path, holder);
      if (broken) {
        brokeStale = holder;
        continue;
      }
    } else if (!holder && (await port.kindOf(path)) !== undefined) {
      // Created but not yet written, or damaged: damaged if it stays unreadable for a while.
      if (++unreadable > 50 && ((await port.ageMs(path)) ?? 0) > BREAK_STALE_MS) {
        await breakStale(port, path, undefined);
        continue;
      }
    }
    if (Date.now() >= deadline) {
      const who = holder ? `process ${holder.pid} on ${holder.host} (${holder.op}, since ${holder.acquired})` : 'an unknown process';
      throw new LayerkitError(subject.code ?? 'ERR_STORE_LOCKED', `${subject.what ?? 'store'} is locked by ${who}: ${path}`, { path, holder });
    }
    await port.sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
}

async function breakStale(port: LockPort, path: string, seen: LockFileContent | undefined): Promise<boolean> {
  const breaker = `${path}.break`;
  if (!(await port.createExclusive(breaker, encodeJson(port.self())))) {
    const age = await port.ageMs(breaker);
    if (age !== undefined && age > BREAK_STALE_MS) await port.remove(breaker);
    return false;
  }
  try {
    const now = await port.readFile(path);
    const cur = parseLock(now);
    const same = seen ? cur !== undefined && cur.pid === seen.pid && cur.host === seen.host && cur.acquired === seen.acquired : now !== undefined && cur === undefined;
    if (!same) return false;
    await port.remove(path);
    return true;
  } finally {
    await port.remove(breaker);
  }
}
