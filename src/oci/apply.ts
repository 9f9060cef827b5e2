/**
 * Apply OCI layers to a directory through the MutableFsLike port (node or memory adapter), with
 * the layer treated as untrusted input (semantics.md A1-A15):
 *
 * - each blob is streamed: compression detected by magic (decompress.ts), the digest (blob) and
 *   diffID (tar) computed while reading and verified at the end of the layer (A13);
 * - every name goes through safe-path.ts (clean, chrooted parent resolution, final component
 *   never followed); hardlink targets too (A10);
 * - whiteouts and opaque markers come from whiteout.ts (A4, A5); the whiteout itself is never
 *   created;
 * - per entry: remove what is in the way unless dir-on-dir (A6), create, lchown, xattrs, chmod,
 *   times (A8); no chmod on symlinks, no metadata on hardlinks; a directory's chmod and times
 *   after the names below it (A9: set when the directory is settled, and again if the layer
 *   comes back into it, apply-layer-dirs.ts; a read-only one after the layer, so an unprivileged
 *   apply can write below it), resolved again by name then (a later entry of the layer may have
 *   replaced a parent with a symlink: the host path remembered at creation could lead out of the root);
 * - a directory the layer does not list but changes (a child created or removed below it) keeps
 *   its mtime: the layer says nothing about it (umoci does the same; without this an unpack's
 *   directory times would depend on the time of the unpack);
 * - without privilege: ownership that cannot be set is recorded in user.rootlesscontainers
 *   (rootless.ts), devices are skipped with a warning (A12); xattrs the filesystem refuses are
 *   skipped with a warning (A11).
 *
 * Failure: the target holds the marker INCOMPLETE_MARKER from the first write until every layer
 * was applied and verified; a later apply refuses such a target (ERR_TARGET_INCOMPLETE) unless
 * forced. An apply that throws is never a success.
 *
 * Memory: one body chunk at a time; per layer at most PENDING_MAX pending directories and the
 * outermost directories it made (apply-layer-dirs.ts), the resolver's bounded cache, and the
 * names it wrote into directories that existed before it (opaque markers need them), as 8-byte
 * hashes (name-set.ts; 32 MB at the default maxEntries). A layer that only adds new trees (a base
 * layer) keeps a constant amount.
 */
import { LayerkitError, codeOf, wrapError } from '../errors.ts';
import type { FileType, MutableFsLike, WriteHandleLike } from '../fs/types.ts';
import type { Sha256Like } from '../hash/engines.ts';
import { readTar, type TarEntry } from '../tar/reader.ts';
import { resolveLimits, type TarLimits } from '../tar/limits.ts';
import { decompressLayer, type DecompressFn } from './decompress.ts';
import { cleanName, hostPath, RootResolver } from './safe-path.ts';
import { parseWhiteout } from './whiteout.ts';
import { encodeRootlessOwner, ROOTLESS_XATTR } from './rootless.ts';
import { ApplyXattrs, xattrAllowed } from './apply-xattrs.ts';
import { LayerDirs } from './apply-layer-dirs.ts';
import type { Compression } from './media-types.ts';

/** Name of the marker at the target's root while an apply is in progress or after it failed. */
export const INCOMPLETE_MARKER = '.layerkit-incomplete';

export interface LayerSource {
  /** The blob (compressed or not), or a function returning it (called once). */
  blob: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | (() => AsyncIterable<Uint8Array> | Iterable<Uint8Array>);
  /** Expected "sha256:<hex>" of the blob. */
  digest?: string;
  /** Expected "sha256:<hex>" of the uncompressed tar. */
  diffID?: string;
  /** Shown in messages (a file name, a digest). */
  name?: string;
}

export type ApplyWarningKind = 'device-skipped' | 'xattr-skipped' | 'ownership-not-recorded';

export interface ApplyWarning {
  kind: ApplyWarningKind;
  /** Entry name (cleaned). */
  path: string;
  message: string;
}

export interface ApplyOptions {
  fs: MutableFsLike;
  limits?: Partial<TarLimits>;
  /**
   * true: never try lchown; record non-root ownership in user.rootlesscontainers. false: lchown
   * failures are errors. 'auto' (default): try, and switch to recording at the first EPERM.
   */
  rootless?: boolean | 'auto';
  /** Apply SCHILY.xattr.* records (default true). */
  xattrs?: boolean;
  /** Apply into a target carrying INCOMPLETE_MARKER (default false: ERR_TARGET_INCOMPLETE). */
  force?: boolean;
  decompress?: DecompressFn;
  sha256?: () => Sha256Like;
  onWarning?: (w: ApplyWarning) => void;
}

export interface AppliedLayer {
  name: string;
  compression: Compression;
  digest: string;
  diffID: string;
  /** Blob bytes and tar bytes read. */
  size: number;
  tarSize: number;
  entries: number;
  whiteouts: number;
}

export interface ApplyResult {
  layers: AppliedLayer[];
  entries: number;
  devicesSkipped: number;
  ownershipRecorded: number;
  xattrsSkipped: number;
  /** true when ownership was recorded instead of applied (no privilege). */
  rootless: boolean;
}


const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Apply `layers` in order onto the directory `target` (which must exist). */
export async function applyLayers(layers: readonly LayerSource[], target: string, options: ApplyOptions): Promise<ApplyResult> {
  const fs = options.fs;
  const limits = resolveLimits(options.limits);
  for (const l of layers) {
    for (const k of ['digest', 'diffID'] as const) {
      if (l[k] !== undefined && !DIGEST_RE.test(l[k]!)) {
        throw new LayerkitError('ERR_INVALID_ARG', `expected ${k} "${l[k]}" is not sha256:<64 hex digits>`, { [k]: l[k] });
      }
    }
  }
  let st;
  try {
    st = await fs.lstat(target);
  } catch (e) {
    throw wrapError(e, `apply: target ${target}`);
  }
  if (st.type !== 'dir') throw new LayerkitError('ERR_INVALID_ARG', `apply: target ${target} is a ${st.type}, not a directory`, { target });
  const marker = hostPath(target, INCOMPLETE_MARKER);
  let markerExists = true;
  try {
    await fs.lstat(marker);
  } catch (e) {
    if (codeOf(e) !== 'ENOENT') throw wrapError(e, `apply: target ${target}`);
    markerExists = false;
  }
  if (markerExists && !options.force) {
    throw new LayerkitError('ERR_TARGET_INCOMPLETE', `apply: target ${target} holds ${INCOMPLETE_MARKER}: an earlier apply did not finish, so its contents are not a valid tree (start from an empty directory, or force)`, { target });
  }
  if (!markerExists) {
    try {
      const h = await fs.createFile(marker, 0o644);
      await h.write(new TextEncoder().encode('layerkit apply in progress or failed; this tree is not complete\n'));
      await h.close();
    } catch (e) {
      throw wrapError(e, `apply: mark ${target} incomplete`);
    }
  }

  const sha = options.sha256 ?? (await defaultSha256());
  const applier = new Applier(fs, target, marker, limits, options);
  const result: ApplyResult = { layers: [], entries: 0, devicesSkipped: 0, ownershipRecorded: 0, xattrsSkipped: 0, rootless: options.rootless === true };
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    const name = layer.name ?? `#${i + 1}`;
    try {
      const applied = await applier.layer(layer, name, sha);
      result.layers.push(applied);
      result.entries += applied.entries;
    } catch (e) {
      throw wrapError(e, `apply layer ${name}`);
    }
  }
  result.devicesSkipped = applier.devicesSkipped;
  result.ownershipRecorded = applier.ownershipRecorded;
  result.xattrsSkipped = applier.xattrsSkipped;
  result.rootless = applier.rootless;
  try {
    // The marker's removal must not stamp the root with the time of the apply.
    const rootTime = (await fs.lstat(target)).mtimeNs;
    await fs.rm(marker, { recursive: true });
    await fs.lutimes(target, rootTime);
  } catch (e) {
    throw wrapError(e, `apply: remove ${marker}`);
  }
  return result;
}

class Applier {
  readonly #fs: MutableFsLike;
  readonly #root: string;
  readonly #marker: string;
  readonly #limits: TarLimits;
  readonly #o: ApplyOptions;
  readonly #paths: RootResolver;
  rootless: boolean;
  devicesSkipped = 0;
  readonly #xattrs: ApplyXattrs;
  /** What the current layer does to directories (apply-layer-dirs.ts). */
  #dirs!: LayerDirs;
  #whiteouts = 0;

  constructor(fs: MutableFsLike, root: string, marker: string, limits: TarLimits, o: ApplyOptions) {
    this.#fs = fs;
    this.#root = root;
    this.#marker = marker;
    this.#limits = limits;
    this.#o = o;
    this.#paths = new RootResolver(fs, root, limits.maxSymlinkHops);
    // A parent a layer did not list, made on the way (A7), holds only that layer's names too.
    this.#paths.onMade = (host) => this.#dirs.made(host);
    this.#xattrs = new ApplyXattrs(fs, (kind, path, message) => this.#warn(kind, path, message));
    this.rootless = o.rootless === true;
  }

  get ownershipRecorded(): number {
    return this.#xattrs.ownershipRecorded;
  }

  get xattrsSkipped(): number {
    return this.#xattrs.skipped;
  }

  async layer(layer: LayerSource, name: string, sha: () => Sha256Like): Promise<AppliedLayer> {
    const blobHash = sha();
    const tarHash = sha();
    let size = 0;
    let tarSize = 0;
    const raw = typeof layer.blob === 'function' ? layer.blob() : layer.blob;
    const source = toAsync(raw);
    const { compression, tar } = await decompressLayer(source, {
      decompress: this.#o.decompress,
      onBlob: (c) => {
        blobHash.update(c);
        size += c.length;
      },
    });
    const tapped = tap(tar, (c) => {
      tarHash.update(c);
      tarSize += c.length;
    });
    this.#whiteouts = 0;
    this.#paths.invalidate();
    this.#dirs = new LayerDirs(this.#fs, this.#root, this.#paths, [this.#marker], this.#o.xattrs === false ? undefined : this.#xattrs, () => this.rootless);
    let entries = 0;
    for await (const e of readTar(tapped, { limits: this.#limits })) {
      entries++;
      try {
        await this.#entry(e);
      } catch (err) {
        throw wrapError(err, `entry "${e.name}" (byte ${e.offset})`);
      }
    }
    const diffID = `sha256:${hex(tarHash.digest())}`;
    const digest = compression === 'none' ? diffID : `sha256:${hex(blobHash.digest())}`;
    if (layer.digest !== undefined && layer.digest !== digest) {
      throw new LayerkitError('ERR_DIGEST_MISMATCH', `digest mismatch: expected ${layer.digest}, the blob is ${digest}`, { expected: layer.digest, actual: digest });
    }
    if (layer.diffID !== undefined && layer.diffID !== diffID) {
      throw new LayerkitError('ERR_DIGEST_MISMATCH', `diffID mismatch: expected ${layer.diffID}, the tar is ${diffID}`, { expected: layer.diffID, actual: diffID });
    }
    // The directories still pending: the unlisted ones changed below get their times back, the
    // listed ones their modes and times (A9), once nothing more is written below them.
    await this.#dirs.finish();
    return { name, compression, digest, diffID, size, tarSize, entries, whiteouts: this.#whiteouts };
  }

  async #entry(e: TarEntry): Promise<void> {
    const rel = cleanName(e.name);
    if (rel === '') {
      // The root itself: only a directory may stand there (CVE-2021-29136); merge its attributes.
      if (e.type !== 'dir') throw new LayerkitError('ERR_UNSAFE_PATH', `"${e.name}" would replace the target root with a ${e.type}`, { name: e.name, type: e.type });
      await this.#dirs.relisted('', new Set(Object.keys(e.xattrs ?? {})), e.uid !== 0 || e.gid !== 0);
      await this.#metadata(this.#root, '', e);
      return;
    }
    if (rel === INCOMPLETE_MARKER || rel.startsWith(`.wh.${INCOMPLETE_MARKER}`)) {
      throw new LayerkitError('ERR_UNSAFE_PATH', `"${e.name}": the name ${INCOMPLETE_MARKER} at the root is reserved by layerkit`, { name: e.name });
    }
    const wh = parseWhiteout(rel);
    if (wh) {
      this.#whiteouts++;
      if (wh.kind === 'whiteout') {
        const touched = this.#dirs.touch(wh.target);
        if (touched) await touched;
        await this.#whiteout(wh.target);
      } else if (wh.kind === 'opaque') {
        const touched = this.#dirs.touch(wh.dir === '' ? '-' : `${wh.dir}/-`);
        if (touched) await touched;
        await this.#opaque(wh.dir);
      }
      // 'meta' (.wh..wh.plnk and other aufs internals): nothing to do.
      return;
    }
    const touched = this.#dirs.touch(rel);
    if (touched) await touched;
    const host = (await this.#paths.name(rel, true))!;
    // Create first; only a name that exists already (EEXIST) is looked at and, unless both are
    // directories, removed (A6: the name, never a symlink's target) before creating again. A fresh
    // unpack never pays an lstat per entry.
    if (e.type === 'char' || e.type === 'block') {
      // Without the privilege, mknod fails (EPERM) before it would see a name in the way: clear
      // the name first, so a skipped device leaves no stale lower entry behind.
      const existing = await this.#fs.lstat(host).catch((err: unknown) => {
        if (codeOf(err) === 'ENOENT') return undefined;
        throw err;
      });
      if (existing) await this.#remove(host, existing.type);
    }
    let created = await this.#create(host, rel, e, false);
    if (created === 'skipped' || created === 'link') return;
    if (created === 'exists') {
      const existing = await this.#fs.lstat(host);
      if (existing.type === 'dir' && e.type === 'dir') {
        await this.#dirs.relisted(rel, new Set(Object.keys(e.xattrs ?? {})), e.uid !== 0 || e.gid !== 0);
      } else {
        await this.#remove(host, existing.type);
        // the second try's result stands for the first (an open file handle above all: it must
        // be used and closed, or every replaced file would keep a descriptor open: EMFILE)
        created = await this.#create(host, rel, e, true);
        if (created === 'skipped' || created === 'link') return;
      }
    }
    if (e.type === 'dir' && created === 'done') {
      // Made by this layer: everything below it is the layer's (#opaque keeps it whole), and it
      // resolves without an lstat.
      this.#dirs.made(host);
      this.#paths.created(rel, host);
    } else {
      this.#dirs.wrote(host);
    }
    if (typeof created === 'object') {
      try {
        await this.#metadata(host, rel, e, created);
      } finally {
        await created.close();
      }
      return;
    }
    await this.#metadata(host, rel, e);
  }

  /**
   * Create `e` at `host`: 'exists' when the name is taken (EEXIST, unless `retry`: then it
   * throws), 'link' and 'skipped' when nothing more is to be done, the still open handle of a
   * regular file (its metadata can go through it), 'done' otherwise.
   */
  async #create(host: string, rel: string, e: TarEntry, retry: boolean): Promise<'exists' | 'link' | 'skipped' | 'done' | WriteHandleLike> {
    try {
      switch (e.type) {
        case 'dir':
          await this.#fs.mkdir(host, { mode: 0o700 });
          return 'done';
        case 'file': {
          const h = await this.#fs.createFile(host, 0o600);
          try {
            for await (const chunk of e.body()) await h.write(chunk);
          } catch (err) {
            await h.close().catch(() => {});
            throw err;
          }
          if (h.chown && h.chmod && h.utimes) return h;
          await h.close();
          return 'done';
        }
        case 'symlink':
          await this.#fs.symlink(e.linkname, host);
          return 'done';
        case 'link':
          await this.#fs.link(await this.#linkTarget(e), host);
          this.#dirs.wrote(host);
          return 'link'; // A8: no metadata on hardlinks (CVE-2021-32760)
        case 'char':
        case 'block':
        case 'fifo':
          try {
            await this.#fs.mknod(host, e.type, { mode: 0o600, major: e.devmajor, minor: e.devminor });
          } catch (err) {
            if (e.type === 'fifo' || (codeOf(err) !== 'EPERM' && codeOf(err) !== 'EACCES')) throw err;
            this.devicesSkipped++;
            this.#warn('device-skipped', rel, `${e.type} device ${e.devmajor}:${e.devminor} skipped: no privilege to create devices`);
            return 'skipped';
          }
          return 'done';
      }
    } catch (err) {
      if (!retry && codeOf(err) === 'EEXIST') return 'exists';
      throw err;
    }
    return 'done';
  }

  /** A10: the target exists already, inside the root, and is not a directory. */
  async #linkTarget(e: TarEntry): Promise<string> {
    const bad = (why: string): LayerkitError => new LayerkitError('ERR_UNSAFE_LINK', `hardlink "${e.name}" -> "${e.linkname}": ${why}`, { name: e.name, linkname: e.linkname });
    let rel: string;
    try {
      rel = cleanName(e.linkname, 'hardlink target');
    } catch {
      throw bad('the target leaves the root');
    }
    if (rel === '') throw bad('the target is the root directory');
    const host = await this.#paths.name(rel, false);
    if (host === null) throw bad('the target does not exist');
    let st;
    try {
      st = await this.#fs.lstat(host);
    } catch (err) {
      if (codeOf(err) === 'ENOENT') throw bad('the target does not exist');
      throw err;
    }
    if (st.type === 'dir') throw bad('the target is a directory');
    return host;
  }

  async #whiteout(target: string): Promise<void> {
    const host = await this.#paths.name(target, false);
    if (host === null) return;
    // Most whiteouts name a file: unlink it straight away; only a directory (EISDIR; EPERM where
    // unlink(2) says so for directories) is looked at and removed as a tree.
    try {
      await this.#fs.unlink(host);
      this.#paths.removedFile(host);
      return;
    } catch (err) {
      const c = codeOf(err);
      if (c === 'ENOENT') return;
      if (c !== 'EISDIR' && c !== 'EPERM') throw err;
    }
    let st;
    try {
      st = await this.#fs.lstat(host);
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return;
      throw err;
    }
    await this.#remove(host, st.type);
  }

  /**
   * Remove the name `host` (never what a symlink points to): unlink for a non-directory, a
   * recursive rm for a directory. Resolved directories are forgotten only when a directory or a
   * symlink went (a cached resolution passes through nothing else), so a layer of N whiteouts of
   * files costs N unlinks, not N re-resolutions of their parents.
   */
  async #remove(host: string, type: FileType): Promise<void> {
    if (type === 'dir') await this.#fs.rm(host, { recursive: true });
    else await this.#fs.unlink(host);
    if (type === 'dir' || type === 'symlink') this.#paths.invalidate();
  }

  /** A5: remove everything below `dir` not written earlier by this layer (containerd's walk). */
  async #opaque(dir: string): Promise<void> {
    const host = await this.#paths.dir(dir, true);
    if (host === null || this.#dirs.ownerOf(host) === 'whole') return; // made by this layer: nothing lower in it
    let removed = false;
    const clear = async (d: string, drel: string): Promise<void> => {
      for (const child of await this.#fs.readdir(d)) {
        const p = hostPath(d, child);
        const owner = this.#dirs.ownerOf(p);
        if (owner === 'whole') continue; // the layer's own directory, whole
        if (owner === 'written') {
          const st = await this.#fs.lstat(p);
          if (st.type === 'dir') {
            // names may go inside it: its time must be pending again if it was settled
            const prel = drel === '' ? child : `${drel}/${child}`;
            const touched = this.#dirs.touch(`${prel}/-`);
            if (touched) await touched;
            await clear(p, prel);
          }
          continue;
        }
        await this.#fs.rm(p, { recursive: true });
        removed = true;
      }
    };
    await clear(host, dir);
    if (removed) this.#paths.invalidate();
  }

  /**
   * A8 after creation: lchown, xattrs, chmod (not symlinks), times (directories: after the layer).
   * With the open handle of a new regular file, owner, mode and time go through it (no lookup).
   */
  async #metadata(host: string, rel: string, e: TarEntry, h?: WriteHandleLike): Promise<void> {
    const xattrs: Record<string, Uint8Array> = {};
    if (this.#o.xattrs !== false && e.xattrs) {
      for (const [k, v] of Object.entries(e.xattrs)) if (xattrAllowed(k)) xattrs[k] = v;
    }
    if (!this.rootless) {
      try {
        if (h?.chown) await h.chown(e.uid, e.gid);
        else await this.#fs.lchown(host, e.uid, e.gid);
      } catch (err) {
        const c = codeOf(err);
        if (this.#o.rootless === false || (c !== 'EPERM' && c !== 'EINVAL')) throw err;
        this.rootless = true;
      }
    }
    if (this.rootless && (e.uid !== 0 || e.gid !== 0)) {
      xattrs[ROOTLESS_XATTR] = encodeRootlessOwner(e.uid, e.gid);
    }
    const names = Object.keys(xattrs);
    if (names.length > 0) await this.#xattrs.set(host, rel, xattrs, this.rootless);
    const t = BigInt(e.mtime) * 1_000_000_000n;
    if (e.type === 'dir') {
      const settled = this.#dirs.listed(rel, e.mode & 0o7777, t);
      if (settled) await settled;
      return;
    }
    if (h?.chmod && h.utimes) {
      await h.chmod(e.mode & 0o7777);
      await h.utimes(t);
      return;
    }
    if (e.type !== 'symlink') await this.#fs.chmod(host, e.mode & 0o7777);
    await this.#fs.lutimes(host, t);
  }

  #warn(kind: ApplyWarningKind, path: string, message: string): void {
    this.#o.onWarning?.({ kind, path, message });
  }
}

async function* toAsync(src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* src;
}

async function* tap(source: AsyncIterable<Uint8Array>, fn: (chunk: Uint8Array) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    fn(chunk);
    yield chunk;
  }
}

async function defaultSha256(): Promise<() => Sha256Like> {
  const { sha256Engine } = await import('../hash/engines.ts');
  const engine = sha256Engine();
  return () => engine.create();
}

