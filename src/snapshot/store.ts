/**
 * The snapshotter over a local store directory (containerd's model and semantics; its "native"
 * snapshotter's layout: one complete directory per snapshot). Layout under the root:
 *
 *   store.json              format, version, how content is shared (probed once), blob compression
 *   lock                    the O_EXCL lock file (lock.ts); lock.break while a stale lock is broken
 *   meta/<key>.json         one record per snapshot (record.ts; key encoding: keys.ts)
 *   snapshots/<id>/         the snapshot's tree: its "mount" (active: read-write; others read-only)
 *   blobs/sha256/<hex>      layer blobs of committed snapshots, by digest (shared when equal)
 *   empty/                  an empty tree: the parent of snapshots without one, for diffs
 *   containers/<name>.json  container records (container-record.ts; made on first use)
 *   tmp/                    temporary files and trees; only the lock holder writes here
 *
 * Records are the truth, written atomically (temp in tmp/, fsync, rename, fsync meta/); every
 * mutation holds the lock and orders its steps so that the record write is the single commit
 * point: whatever a killed process leaves before it (a tree in tmp/, an unreferenced tree or
 * blob) is invisible garbage, and after it the operation is done.
 *   prepare/view: materialise the parent's tree in tmp/<id>, rename to snapshots/<id>, write the record.
 *   commit: write the blob (tmp, fsync, rename by digest), write the committed record (same id: the
 *     tree stays where it is, as in containerd's native snapshotter), then unlink the active record.
 *     Between those two steps both records exist; an active record whose id a committed record
 *     holds is "superseded": ignored by every read and deleted by the next mutation.
 *   remove: unlink the record, then the tree (if no other record uses it) and the blob (same).
 * The next lock holder empties tmp/ and deletes superseded records; when it had to break a stale
 * lock it also collects orphaned trees and blobs. `layerkit store check` reports all of it.
 */
import { LayerkitError, wrapError } from '../errors.ts';
import { diff } from '../api/diff.ts';
import { acquireLock, type HeldLock } from '../fs/lock-file.ts';
import { assertKey, encodeKey, decodeKey, newId } from './keys.ts';
import { encodeJson, parseConfig, parseRecord, STORE_FORMAT, STORE_VERSION, type StoreConfig } from './record.ts';
import { CONTAINER_LABEL, containerFileName } from './container-record.ts';
import { newSha256, hex } from '../oci/digest.ts';
import type { BlobRef, Kind, Mount, SnapshotInfo, SnapshotRecord, StorePort, Usage } from './types.ts';

export interface OpenStoreOptions {
  /** Create the store when the directory is missing or empty (default true). */
  create?: boolean;
  /** On creation: how active snapshots share their parent's content (default 'auto': see chooseMethods). */
  materialize?: 'auto' | 'reflink' | 'hardlink' | 'copy';
  /** On creation: compression of committed layer blobs (default gzip). */
  compression?: StoreConfig['compression'];
  /** How long to wait for another process's lock (default 30 s). */
  lockTimeoutMs?: number;
}

export interface SnapshotOptions {
  labels?: Record<string, string>;
}

/**
 * commit with a known layer: the blob that turns the parent's tree into this one (e.g. the image
 * layer that was just applied into the active snapshot) is stored as is instead of a new diff.
 * Its bytes are read only when the store does not hold that digest yet, and verified (sha256, size).
 */
export interface KnownBlob extends BlobRef {
  read(): AsyncIterable<Uint8Array>;
}

export interface CommitOptions extends SnapshotOptions {
  blob?: KnownBlob;
}

export interface RecordSet {
  /** Visible snapshots by key. */
  live: Map<string, SnapshotRecord>;
  /** Active records left by a commit that was interrupted after its committed record was written. */
  superseded: SnapshotRecord[];
}

const DEFAULT_LOCK_TIMEOUT = 30_000;

export class SnapshotStore {
  readonly root: string;
  readonly port: StorePort;
  readonly config: StoreConfig;
  readonly #lockTimeout: number;

  private constructor(port: StorePort, root: string, config: StoreConfig, lockTimeout: number) {
    this.port = port;
    this.root = root.replace(/\/+$/, '') || '/';
    this.config = config;
    this.#lockTimeout = lockTimeout;
  }

  // ---- paths -----------------------------------------------------------------------------------
  get configPath(): string { return `${this.root}/store.json`; }
  get lockPath(): string { return `${this.root}/lock`; }
  get metaDir(): string { return `${this.root}/meta`; }
  get snapshotsDir(): string { return `${this.root}/snapshots`; }
  get blobsDir(): string { return `${this.root}/blobs/sha256`; }
  get tmpDir(): string { return `${this.root}/tmp`; }
  get emptyDir(): string { return `${this.root}/empty`; }
  get containersDir(): string { return `${this.root}/containers`; }
  /** One lock file per container while a command writes into it, commits or removes it. */
  get containerLocksDir(): string { return `${this.root}/container-locks`; }
  containerLockPath(name: string): string { return `${this.containerLocksDir}/${containerFileName(name).replace(/\.json$/, '')}.lock`; }
  /** How long a lock of this store is waited for. */
  get lockTimeoutMs(): number { return this.#lockTimeout; }
  containerPath(name: string): string { return `${this.containersDir}/${containerFileName(name)}`; }
  metaPath(key: string): string { return `${this.metaDir}/${encodeKey(key)}.json`; }
  treePath(id: string): string { return `${this.snapshotsDir}/${id}`; }
  blobPath(digest: string): string { return `${this.blobsDir}/${digest.slice('sha256:'.length)}`; }
  tmpName(prefix: string): string { return `${this.tmpDir}/${prefix}-${newId()}`; }

  /** Open the store at `root`, creating it (in a missing or empty directory) unless create is false. */
  static async open(port: StorePort, root: string, options: OpenStoreOptions = {}): Promise<SnapshotStore> {
    const timeout = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT;
    const cfgPath = `${root.replace(/\/+$/, '') || '/'}/store.json`;
    let bytes = await port.readFile(cfgPath).catch((e) => { throw wrapError(e, `open store ${root}`); });
    if (!bytes) {
      if (options.create === false) throw notAStore(root, 'no store.json');
      const names = await port.readdir(root).catch((e) => { throw wrapError(e, `open store ${root}`); });
      // Another process may be creating it right now: its files appear before store.json does.
      if (names.some((n) => n !== 'lock' && n !== 'lock.break' && n !== 'tmp')) {
        throw notAStore(root, `the directory holds other files (${names.slice(0, 3).join(', ')}...); give an empty or missing directory`);
      }
      await SnapshotStore.#initStore(port, root, options, timeout);
      bytes = await port.readFile(cfgPath);
      if (!bytes) throw notAStore(root, 'store.json vanished after creation');
    }
    const store = new SnapshotStore(port, root, parseConfig(bytes, cfgPath), timeout);
    return store;
  }

  static async #initStore(port: StorePort, root: string, options: OpenStoreOptions, timeout: number): Promise<void> {
    try {
      await port.mkdirp(root);
      const lock = await acquireLock(port, `${root}/lock`, 'create store', timeout);
      try {
        if (await port.readFile(`${root}/store.json`)) return; // someone else made it first
        for (const d of ['meta', 'snapshots', 'blobs/sha256', 'tmp', 'empty']) await port.mkdirp(`${root}/${d}`);
        const probe = await port.probe(`${root}/tmp`);
        const config: StoreConfig = {
          format: STORE_FORMAT,
          version: STORE_VERSION,
          materialize: chooseMethods(options.materialize ?? 'auto', probe),
          compression: options.compression ?? 'gzip',
        };
        // store.json last: its presence says the layout is complete.
        await port.writeFileAtomic(`${root}/store.json`, encodeJson(config), `${root}/tmp/store.json-${newId()}`);
      } finally {
        await lock.release();
      }
    } catch (e) {
      throw wrapError(e, `create store ${root}`);
    }
  }

  // ---- records ---------------------------------------------------------------------------------

  /** Every record, validated; superseded active records set apart. ERR_STORE_CORRUPT on damage. */
  async records(): Promise<RecordSet> {
    const live = new Map<string, SnapshotRecord>();
    const byId = new Map<string, SnapshotRecord>();
    const superseded: SnapshotRecord[] = [];
    const names = await this.port.readdir(this.metaDir).catch((e) => { throw wrapError(e, `read ${this.metaDir}`); });
    const all: SnapshotRecord[] = [];
    for (const name of names) {
      const file = `${this.metaDir}/${name}`;
      const key = name.endsWith('.json') ? decodeKey(name.slice(0, -5)) : undefined;
      if (key === undefined) throw new LayerkitError('ERR_STORE_CORRUPT', `${file}: not a snapshot record name (see layerkit store check)`, { path: file });
      const bytes = await this.port.readFile(file).catch((e) => { throw wrapError(e, `read ${file}`); });
      if (!bytes) continue; // removed while we listed (a reader racing a remove)
      all.push(parseRecord(bytes, file, key));
    }
    // Committed records first, so an interrupted commit's active record is the one set apart.
    all.sort((a, b) => (a.kind === 'committed' ? 0 : 1) - (b.kind === 'committed' ? 0 : 1));
    for (const r of all) {
      const other = byId.get(r.id);
      if (other) {
        if (other.kind === 'committed' && r.kind === 'active') {
          superseded.push(r);
          continue;
        }
        throw new LayerkitError('ERR_STORE_CORRUPT', `snapshots ${JSON.stringify(other.key)} and ${JSON.stringify(r.key)} share the directory ${this.treePath(r.id)} (see layerkit store check)`, { keys: [other.key, r.key], id: r.id });
      }
      byId.set(r.id, r);
      live.set(r.key, r);
    }
    return { live, superseded };
  }

  #info(r: SnapshotRecord): SnapshotInfo {
    return { ...r, path: this.treePath(r.id) };
  }

  async #get(key: string, set?: RecordSet): Promise<SnapshotRecord> {
    assertKey(key);
    const r = (set ?? (await this.records())).live.get(key);
    if (!r) throw new LayerkitError('ERR_SNAPSHOT_NOT_FOUND', `no snapshot ${JSON.stringify(key)} in ${this.root}`, { key, store: this.root });
    return r;
  }

  async #writeRecord(r: SnapshotRecord): Promise<void> {
    const path = this.metaPath(r.key);
    try {
      await this.port.writeFileAtomic(path, encodeJson(r), this.tmpName('record'));
    } catch (e) {
      throw wrapError(e, `write record ${path}`);
    }
  }

  // ---- locking ---------------------------------------------------------------------------------

  /**
   * Run `fn` holding the store lock. First: empty tmp/ and delete superseded records (leftovers of
   * a killed holder); after breaking a stale lock, also collect orphaned trees and blobs.
   */
  async withLock<T>(op: string, fn: (set: RecordSet) => Promise<T>, options: { recover?: boolean } = {}): Promise<T> {
    const lock: HeldLock = await acquireLock(this.port, this.lockPath, op, this.#lockTimeout);
    try {
      let set = await this.records();
      if (options.recover !== false) {
        for (const name of await this.port.readdir(this.tmpDir)) await this.port.remove(`${this.tmpDir}/${name}`);
        for (const r of set.superseded) await this.port.remove(this.metaPath(r.key));
        if (set.superseded.length) await this.port.syncDir(this.metaDir);
        set = { live: set.live, superseded: [] };
        if (lock.brokeStale) await this.collectGarbage(set);
      }
      return await fn(set);
    } finally {
      await lock.release();
    }
  }

  /** Trees under snapshots/ and blobs no record refers to (left by killed processes). */
  async garbage(set: RecordSet): Promise<{ trees: string[]; blobs: string[] }> {
    const ids = new Set<string>();
    const digests = new Set<string>();
    for (const r of [...set.live.values(), ...set.superseded]) {
      ids.add(r.id);
      if (r.blob) digests.add(r.blob.digest.slice('sha256:'.length));
    }
    const trees = (await this.port.readdir(this.snapshotsDir)).filter((n) => !ids.has(n)).map((n) => `${this.snapshotsDir}/${n}`);
    const blobs = (await this.port.readdir(this.blobsDir)).filter((n) => !digests.has(n)).map((n) => `${this.blobsDir}/${n}`);
    return { trees, blobs };
  }

  /** Remove what garbage() finds (the lock must be held). */
  async collectGarbage(set: RecordSet): Promise<{ trees: string[]; blobs: string[] }> {
    const g = await this.garbage(set);
    for (const t of g.trees) {
      const trash = this.tmpName('rm');
      await this.port.rename(t, trash);
      await this.port.remove(trash);
    }
    for (const b of g.blobs) await this.port.remove(b);
    return g;
  }

  // ---- the Snapshotter interface ---------------------------------------------------------------

  async stat(key: string): Promise<SnapshotInfo> {
    return this.#info(await this.#get(key));
  }

  /** Every snapshot, sorted by key (containerd's Walk). */
  async list(filter?: (info: SnapshotInfo) => boolean): Promise<SnapshotInfo[]> {
    const { live } = await this.records();
    const out = [...live.values()].map((r) => this.#info(r)).filter((i) => !filter || filter(i));
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** A new active (read-write) snapshot on `parent` (a committed snapshot), or empty. */
  prepare(key: string, parent?: string, options: SnapshotOptions = {}): Promise<Mount> {
    return this.#create('active', key, parent, options);
  }

  /** A new read-only view of `parent` (a committed snapshot), or of an empty tree. */
  view(key: string, parent?: string, options: SnapshotOptions = {}): Promise<Mount> {
    return this.#create('view', key, parent, options);
  }

  async mounts(key: string): Promise<Mount> {
    const r = await this.#get(key);
    return { path: this.treePath(r.id), readOnly: r.kind !== 'active', materialize: r.materialize };
  }

  async #create(kind: 'active' | 'view', key: string, parent: string | undefined, options: SnapshotOptions): Promise<Mount> {
    assertKey(key);
    if (parent !== undefined) assertKey(parent, 'parent');
    return this.withLock(`${kind === 'active' ? 'prepare' : 'view'} ${key}`, (set) => this.createLocked(set, kind, key, parent, options));
  }

  /** prepare/view for a caller that holds the lock (withLock) and passes its record set (kept up to date). */
  async createLocked(set: RecordSet, kind: 'active' | 'view', key: string, parent: string | undefined, options: SnapshotOptions = {}): Promise<Mount> {
    assertKey(key);
    if (parent !== undefined) assertKey(parent, 'parent');
    const labels = checkLabels(options.labels);
    {
      const taken = set.live.get(key);
      if (taken) throw new LayerkitError('ERR_SNAPSHOT_EXISTS', `snapshot ${JSON.stringify(key)} exists already (${taken.kind}); keys are unique across kinds`, { key, kind: taken.kind });
      let src: string | undefined;
      if (parent !== undefined) {
        const p = set.live.get(parent);
        if (!p) throw new LayerkitError('ERR_SNAPSHOT_NOT_FOUND', `${kind === 'active' ? 'prepare' : 'view'} ${key}: no parent snapshot ${JSON.stringify(parent)} in ${this.root}`, { key, parent });
        if (p.kind !== 'committed') {
          throw new LayerkitError('ERR_SNAPSHOT_KIND', `${kind === 'active' ? 'prepare' : 'view'} ${key}: parent ${JSON.stringify(parent)} is ${p.kind}, not committed (commit it first)`, { key, parent, kind: p.kind });
        }
        src = this.treePath(p.id);
      }
      const id = newId();
      const tmp = `${this.tmpDir}/tree-${id}`;
      const method = src === undefined ? 'empty' : this.config.materialize[kind];
      try {
        await this.port.mkdirp(tmp);
        if (src !== undefined && method !== 'empty') await this.port.materialize(src, tmp, method);
        await this.port.rename(tmp, this.treePath(id));
        await this.port.syncDir(this.snapshotsDir);
      } catch (e) {
        await this.port.remove(tmp).catch(() => {});
        throw wrapError(e, `${kind === 'active' ? 'prepare' : 'view'} ${key}`);
      }
      const now = new Date().toISOString();
      const rec: SnapshotRecord = { version: 1, key, kind, id, ...(parent !== undefined ? { parent } : {}), labels, created: now, updated: now, materialize: method };
      await this.#writeRecord(rec);
      set.live.set(key, rec);
      return { path: this.treePath(id), readOnly: kind === 'view', materialize: method };
    }
  }

  /**
   * Commit the active snapshot `key` as `name`: its layer blob (the diff from the parent's tree)
   * is stored by digest, and the tree becomes read-only content children can be prepared from.
   */
  async commit(name: string, key: string, options: CommitOptions = {}): Promise<SnapshotInfo> {
    assertKey(name, 'name');
    assertKey(key);
    const labels = checkLabels(options.labels);
    return this.withLock(`commit ${key} as ${name}`, async (set) => {
      const a = await this.#get(key, set);
      if (a.kind !== 'active') {
        throw new LayerkitError('ERR_SNAPSHOT_KIND', `commit ${key}: it is ${a.kind === 'view' ? 'a view' : 'committed already'}; only active snapshots can be committed`, { key, kind: a.kind });
      }
      const taken = set.live.get(name);
      if (taken) throw new LayerkitError('ERR_SNAPSHOT_EXISTS', `commit ${key}: snapshot ${JSON.stringify(name)} exists already (${taken.kind})`, { key, name, kind: taken.kind });
      let parentTree = this.emptyDir;
      if (a.parent !== undefined) {
        const p = set.live.get(a.parent);
        if (!p || p.kind !== 'committed') {
          throw new LayerkitError('ERR_STORE_CORRUPT', `commit ${key}: its parent ${JSON.stringify(a.parent)} is ${p ? p.kind : 'missing'} (see layerkit store check)`, { key, parent: a.parent });
        }
        parentTree = this.treePath(p.id);
      }
      const tree = this.treePath(a.id);
      const tmpBlob = this.tmpName('blob');
      let blob: BlobRef;
      try {
        const known = options.blob;
        if (known && (await this.port.kindOf(this.blobPath(known.digest))) === 'file') {
          blob = known;
        } else {
          const tf = await this.port.createTemp(tmpBlob);
          try {
            blob = known ? await copyKnownBlob(known, (c) => tf.write(c)) : await diff(this.port.fs, parentTree, tree, (c) => tf.write(c), { compression: this.config.compression });
            await tf.finish();
          } catch (e) {
            await tf.abort();
            throw e;
          }
        }
        const dest = this.blobPath(blob.digest);
        if ((await this.port.kindOf(dest)) === 'file') await this.port.remove(tmpBlob);
        else {
          await this.port.rename(tmpBlob, dest);
          await this.port.syncDir(this.blobsDir);
        }
      } catch (e) {
        throw wrapError(e, `commit ${key}`);
      }
      const usage = await this.port.usage(tree, a.parent !== undefined ? parentTree : undefined).catch((e) => { throw wrapError(e, `commit ${key}: usage`); });
      const rec: SnapshotRecord = {
        ...a,
        key: name,
        kind: 'committed',
        labels: { ...a.labels, ...labels },
        updated: new Date().toISOString(),
        blob: { digest: blob.digest, diffID: blob.diffID, size: blob.size, mediaType: blob.mediaType },
        usage,
      };
      await this.#writeRecord(rec); // the commit point
      try {
        await this.port.remove(this.metaPath(key));
        await this.port.syncDir(this.metaDir);
      } catch (e) {
        throw wrapError(e, `commit ${key}: remove the active record`);
      }
      return this.#info(rec);
    });
  }

  /** Remove a snapshot; refused while other snapshots have it as their parent. */
  async remove(key: string): Promise<void> {
    assertKey(key);
    await this.withLock(`remove ${key}`, async (set) => {
      const r = await this.#get(key, set);
      const owner = r.labels[CONTAINER_LABEL];
      if (owner !== undefined && (await this.port.kindOf(this.containerPath(owner))) === 'file') {
        throw new LayerkitError('ERR_CONTAINER_SNAPSHOT', `remove ${key}: it is the snapshot of container ${JSON.stringify(owner)}; remove the container (layerkit container rm ${owner})`, { key, container: owner });
      }
      await this.removeLocked(set, key);
    });
  }

  /** remove for a caller that holds the lock and passes its record set (kept up to date). */
  async removeLocked(set: RecordSet, key: string): Promise<void> {
    {
      const r = await this.#get(key, set);
      const children = [...set.live.values()].filter((x) => x.parent === key).map((x) => x.key).sort();
      if (children.length) {
        throw new LayerkitError('ERR_SNAPSHOT_HAS_CHILDREN', `remove ${key}: ${children.length} snapshot(s) are based on it (${children.slice(0, 5).join(', ')}${children.length > 5 ? ', ...' : ''}); remove them first`, { key, children });
      }
      try {
        await this.port.remove(this.metaPath(key)); // the commit point
        await this.port.syncDir(this.metaDir);
        const others = [...set.live.values()].filter((x) => x.key !== key);
        if (!others.some((x) => x.id === r.id)) {
          const trash = this.tmpName('rm');
          if (await this.port.kindOf(this.treePath(r.id))) await this.port.rename(this.treePath(r.id), trash);
          await this.port.remove(trash);
        }
        if (r.blob && !others.some((x) => x.blob?.digest === r.blob!.digest)) await this.port.remove(this.blobPath(r.blob.digest));
      } catch (e) {
        throw wrapError(e, `remove ${key}`);
      }
      set.live.delete(key);
    }
  }

  /**
   * Disk the snapshot costs on its own: inodes not shared with its parent's tree (each counted
   * once). Committed snapshots report what was measured at commit. With reflinks, shared extents
   * cannot be seen through stat: every cloned file counts whole.
   */
  async usage(key: string): Promise<Usage> {
    const set = await this.records();
    const r = await this.#get(key, set);
    if (r.usage) return r.usage;
    const p = r.parent !== undefined ? set.live.get(r.parent) : undefined;
    try {
      return await this.port.usage(this.treePath(r.id), p ? this.treePath(p.id) : undefined);
    } catch (e) {
      throw wrapError(e, `usage ${key}`);
    }
  }

  /**
   * The whole store: each snapshot's own usage, the disk all trees take together (each inode once),
   * what the same trees would take as independent copies, and the blobs.
   */
  async storeUsage(): Promise<StoreUsage> {
    const list = await this.list();
    const snapshots = [];
    let copies: Usage = { size: 0, inodes: 0 };
    for (const s of list) {
      snapshots.push({ key: s.key, kind: s.kind, materialize: s.materialize, usage: await this.usage(s.key) });
      const a = await this.port.apparent(s.path);
      copies = { size: copies.size + a.size, inodes: copies.inodes + a.inodes };
    }
    const trees = await this.port.usage(this.snapshotsDir);
    const blobs = await this.port.usage(this.blobsDir);
    return { snapshots, trees, copies, blobs };
  }
}

export interface StoreUsage {
  snapshots: { key: string; kind: Kind; materialize: string; usage: Usage }[];
  /** Disk taken by every snapshot tree together, each inode counted once. */
  trees: Usage;
  /** Apparent size of all trees: what they would take as independent full copies. */
  copies: Usage;
  /** blobs/sha256 (its directory counted too: inodes - 1 blobs). */
  blobs: Usage;
}

function notAStore(root: string, why: string): LayerkitError {
  return new LayerkitError('ERR_NOT_A_STORE', `${root} is not a layerkit snapshot store: ${why}`, { path: root });
}

function checkLabels(labels: Record<string, string> | undefined): Record<string, string> {
  if (labels === undefined) return {};
  if (typeof labels !== 'object' || labels === null) throw new LayerkitError('ERR_INVALID_ARG', 'labels must be an object of strings', {});
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v !== 'string' || k === '') throw new LayerkitError('ERR_INVALID_ARG', `label ${JSON.stringify(k)} must have a string value and a non-empty name`, { label: k });
  }
  return { ...labels };
}

/**
 * Which method each kind uses, given what the store's filesystem can do.
 * auto: reflink when the filesystem clones (btrfs, XFS with reflink, bcachefs, APFS): copy-on-write
 * at the block level, safe for any writer. Otherwise a hardlink farm: nothing is copied; a shared
 * file is copied up by the snapshot writer before its first change (writes must go through it).
 * Otherwise a plain copy. Views never change, so they take the cheapest method there is.
 * An explicit method is used for active snapshots as asked (copy: for trees handed to writers that
 * do not go through layerkit), falling back to copy when the filesystem cannot do it.
 */
export function chooseMethods(
  want: 'auto' | 'reflink' | 'hardlink' | 'copy',
  can: { reflink: boolean; hardlink: boolean },
): StoreConfig['materialize'] {
  const cheapest = can.reflink ? 'reflink' : can.hardlink ? 'hardlink' : 'copy';
  const active = want === 'auto' ? cheapest : want === 'copy' ? 'copy' : can[want] ? want : 'copy';
  const view = can.hardlink ? 'hardlink' : cheapest;
  return { active, view };
}

/** Copy a known layer blob to `sink`, verifying its sha256 and size. */
async function copyKnownBlob(known: KnownBlob, sink: (chunk: Uint8Array) => Promise<void>): Promise<BlobRef> {
  const h = newSha256();
  let size = 0;
  for await (const c of known.read()) {
    h.update(c);
    size += c.length;
    await sink(c);
  }
  const got = `sha256:${hex(h.digest())}`;
  if (got !== known.digest || size !== known.size) {
    throw new LayerkitError('ERR_DIGEST_MISMATCH', `layer blob ${known.digest}: read ${size} bytes hashing to ${got} (expected ${known.size} bytes)`, { digest: known.digest, actual: got, size });
  }
  return { digest: known.digest, diffID: known.diffID, size: known.size, mediaType: known.mediaType };
}
