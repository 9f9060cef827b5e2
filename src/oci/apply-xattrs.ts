/**
 * Extended attributes during apply (A11): set those a layer carries, tolerating filesystems and
 * processes that refuse them (counted and reported, never fatal), and take off a re-listed
 * directory the ones its entry no longer lists.
 */
import { codeOf } from '../errors.ts';
import type { MutableFsLike } from '../fs/types.ts';
import { ROOTLESS_XATTR } from './rootless.ts';

/** xattrs never applied from a layer: overlayfs internals could redirect or hide lower paths. */
export function xattrAllowed(name: string): boolean {
  return !name.startsWith('trusted.overlay.') && !name.startsWith('user.overlay.');
}

const REFUSED = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EPERM', 'EACCES']);

/** A directory a layer listed again: which names its entry sets, and whether its owner was recorded. */
export interface RelistedDir {
  host: string;
  rel: string;
  keep: Set<string>;
  /** user.rootlesscontainers holds this entry's (non-root) owner: it stays. */
  ownerRecorded: boolean;
}

export class ApplyXattrs {
  skipped = 0;
  ownershipRecorded = 0;
  readonly #fs: MutableFsLike;
  readonly #warn: (kind: 'xattr-skipped' | 'ownership-not-recorded', path: string, message: string) => void;

  constructor(fs: MutableFsLike, warn: (kind: 'xattr-skipped' | 'ownership-not-recorded', path: string, message: string) => void) {
    this.#fs = fs;
    this.#warn = warn;
  }

  /** Set `xattrs` on `host` one at a time, so one refused attribute does not lose the others. */
  async set(host: string, rel: string, xattrs: Record<string, Uint8Array>, rootless: boolean): Promise<void> {
    const owner = xattrs[ROOTLESS_XATTR] !== undefined && rootless;
    if (!this.#fs.setXattrs) {
      this.#skip(rel, Object.keys(xattrs), 'the filesystem adapter cannot set xattrs', owner);
      return;
    }
    for (const [k, v] of Object.entries(xattrs)) {
      try {
        await this.#fs.setXattrs(host, { [k]: v });
        if (k === ROOTLESS_XATTR && owner) this.ownershipRecorded++;
      } catch (err) {
        if (!REFUSED.has(codeOf(err) ?? '')) throw err;
        this.#skip(rel, [k], (err as Error).message, owner && k === ROOTLESS_XATTR);
      }
    }
  }

  /**
   * A directory entry over an existing directory sets its attributes: xattrs the entry does not
   * list go (as umoci; containerd and moby keep them). Otherwise a layer could never take an
   * xattr off a directory, and apply(diff(OLD, NEW)) onto OLD would not give NEW. Not removed:
   * security.selinux (the host's labelling), system.* (POSIX ACLs a directory may inherit from
   * the target's defaults), the names the entry sets, and a recorded owner. One listing for all.
   */
  async dropStale(dirs: readonly RelistedDir[]): Promise<void> {
    if (dirs.length === 0 || !this.#fs.xattrsOfMany || !this.#fs.removeXattrs) return;
    const now = await this.#fs.xattrsOfMany(dirs.map((d) => d.host));
    if (!now) return;
    for (const d of dirs) {
      const have = now.get(d.host);
      if (!have) continue;
      const stale = Object.keys(have).filter((k) => !d.keep.has(k) && xattrAllowed(k) && k !== 'security.selinux' && !k.startsWith('system.')
        && !(d.ownerRecorded && k === ROOTLESS_XATTR));
      for (const k of stale) {
        try {
          await this.#fs.removeXattrs(d.host, [k]);
        } catch (err) {
          const c = codeOf(err) ?? '';
          if (!REFUSED.has(c) && c !== 'ENODATA') throw err;
          this.skipped++;
          this.#warn('xattr-skipped', d.rel, `xattr ${k} not removed: ${(err as Error).message}`);
        }
      }
    }
  }

  #skip(rel: string, names: string[], why: string, owner: boolean): void {
    for (const k of names) {
      if (owner && k === ROOTLESS_XATTR) {
        this.#warn('ownership-not-recorded', rel, `ownership could not be applied nor recorded in ${ROOTLESS_XATTR}: ${why}`);
      } else {
        this.skipped++;
        this.#warn('xattr-skipped', rel, `xattr ${k} not applied: ${why}`);
      }
    }
  }
}
