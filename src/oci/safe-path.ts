/**
 * THE path resolver for untrusted layer names: every name and hardlink target from a layer goes
 * through here before anything touches the target (A2, A3, A10).
 *
 * - cleanName: lexical cleaning (leading '/' stripped, '.' and empty components dropped, '..'
 *   applied); a name that climbs above the root is refused (ERR_UNSAFE_PATH), never clamped.
 * - RootResolver: resolves the directories above a name as if the target were the root
 *   (chroot semantics): symlinks met on the way are followed, absolute targets re-rooted at the
 *   target, '..' at the root stays at the root, at most maxSymlinkHops links per path. The final
 *   component is never followed: callers act on the name itself with l*-style calls.
 *   Missing directories are created 0755 on request (A7).
 *
 * A per-apply cache maps a cleaned directory name to its resolved host path; it stays valid
 * while names are only added, so the applier calls invalidate() after every removal.
 */
import { LayerkitError } from '../errors.ts';
import type { MutableFsLike } from '../fs/types.ts';

/** The cleaned relative form of a layer name: '' is the root itself. */
export function cleanName(raw: string, what = 'entry'): string {
  const out: string[] = [];
  for (const c of raw.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) {
        throw new LayerkitError('ERR_UNSAFE_PATH', `${what} "${raw}" leaves the target root`, { name: raw });
      }
      out.pop();
      continue;
    }
    out.push(c);
  }
  return out.join('/');
}

/** Host path of `rel` (cleaned, relative) under `root`. */
export function hostPath(root: string, rel: string): string {
  if (rel === '') return root;
  return root.endsWith('/') ? root + rel : `${root}/${rel}`;
}

/** Split a cleaned name into its directory and last component. */
export function splitName(rel: string): { dir: string; base: string } {
  const k = rel.lastIndexOf('/');
  return k < 0 ? { dir: '', base: rel } : { dir: rel.slice(0, k), base: rel.slice(k + 1) };
}

const CACHE_MAX = 65536;

export class RootResolver {
  readonly #fs: MutableFsLike;
  readonly #root: string;
  readonly #maxHops: number;
  #cache = new Map<string, string>();
  /** Host paths of the symlinks the cached resolutions followed. */
  #viaLinks = new Set<string>();

  constructor(fs: MutableFsLike, root: string, maxHops: number) {
    this.#fs = fs;
    this.#root = root;
    this.#maxHops = maxHops;
  }

  get root(): string {
    return this.#root;
  }

  /** Told of every missing directory the resolver makes (A7), by host path. */
  onMade?: (host: string) => void;

  /**
   * Bumped by every invalidate(): while it stays the same, no directory or symlink the resolver
   * knows of was removed, so every directory seen since is still a directory where it was.
   */
  generation = 0;

  /** Forget resolved directories (after anything was removed from the target). */
  invalidate(): void {
    this.#cache.clear();
    this.#viaLinks.clear();
    this.generation++;
  }

  /**
   * A non-directory `host` was removed: cached resolutions depend on it only if one passed
   * through it (a symlink followed on the way), and then they are forgotten.
   */
  removedFile(host: string): void {
    if (this.#viaLinks.has(host)) this.invalidate();
  }

  /**
   * Host path of the directory `dir` (cleaned), every component resolved as a directory inside
   * the root. Missing components: created 0755 when `create`, else null. A component that is
   * neither a directory nor a symlink: ERR_LAYER_CONFLICT when `create`, else null.
   */
  async dir(dir: string, create: boolean): Promise<string | null> {
    if (dir === '') return this.#root;
    const hit = this.#cache.get(dir);
    if (hit !== undefined) return hit;
    // A cleaned name: resolve its parent (usually cached: names of a layer come in tree order),
    // then only the last component, so a deep tree costs one lstat per new directory, not one per
    // component. Names with '.', '..' or empty components (never from cleanName) walk from the root.
    const k = dir.lastIndexOf('/');
    const last = dir.slice(k + 1);
    let stack: string[];
    let queue: string[];
    if (k > 0 && last !== '..' && last !== '.' && last !== '' && !/(^|\/)\.{0,2}(\/|$)/.test(dir.slice(0, k))) {
      const parent = await this.dir(dir.slice(0, k), create);
      if (parent === null) return null;
      stack = parent === this.#root ? [] : parent.slice(this.#root.length + (this.#root.endsWith('/') ? 0 : 1)).split('/');
      queue = [last];
    } else {
      stack = [];
      queue = dir.split('/');
    }
    let hops = 0;
    for (let i = 0; i < queue.length; i++) {
      const c = queue[i]!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        stack.pop(); // '..' at the root stays at the root (chroot)
        continue;
      }
      stack.push(c);
      const rel = stack.join('/');
      const host = hostPath(this.#root, rel);
      let st;
      try {
        st = await this.#fs.lstat(host);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
        if (!create) return null;
        await this.#fs.mkdir(host, { mode: 0o755 });
        this.onMade?.(host);
        continue;
      }
      if (st.type === 'dir') continue;
      if (st.type === 'symlink') {
        if (++hops > this.#maxHops) {
          throw new LayerkitError('ERR_UNSAFE_PATH', `"${dir}": more than ${this.#maxHops} symlinks while resolving it inside the target`, { name: dir, limit: 'maxSymlinkHops' });
        }
        const target = await this.#fs.readlink(host);
        this.#viaLinks.add(host);
        stack.pop();
        if (target.startsWith('/')) stack.length = 0; // re-rooted at the target
        queue.splice(i + 1, 0, ...target.split('/'));
        continue;
      }
      if (!create) return null;
      throw new LayerkitError('ERR_LAYER_CONFLICT', `"${dir}": "${rel}" in the target is a ${st.type}, not a directory`, { name: dir, at: rel, type: st.type });
    }
    const out = hostPath(this.#root, stack.join('/'));
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    this.#cache.set(dir, out);
    return out;
  }

  /**
   * The caller has just made the directory `host` for the cleaned name `dir` (mkdir at the host
   * path name() gave, so a real directory): later names below it resolve without an lstat.
   */
  created(dir: string, host: string): void {
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    this.#cache.set(dir, host);
  }

  /** Host path of a cleaned non-root name: parents resolved, the final component as it is. */
  async name(rel: string, create: boolean): Promise<string | null> {
    const { dir, base } = splitName(rel);
    const parent = await this.dir(dir, create);
    return parent === null ? null : hostPath(parent, base);
  }
}
