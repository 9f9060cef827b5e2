/**
 * `layerkit store check`: the store's fsck. It holds the lock (a quiescent store), reads every
 * record and verifies that the store holds together:
 *
 * errors (the store is inconsistent; ERR_STORE_CORRUPT from the CLI):
 *   - a record that does not parse, whose name is not an encoded key, or whose key differs from its name
 *   - a record whose tree is missing, or two records sharing a tree (other than an interrupted commit)
 *   - a parent that is missing or not committed; a cycle of parents
 *   - a committed snapshot whose blob is missing, of another size, or of another sha256
 *   - store.json damaged, empty/ not empty
 *   - a container record that does not parse (or is misnamed), whose snapshot is missing, not
 *     active or not labelled as its own, or whose snapshot's parent is not the recorded chain ID;
 *     a union container record whose upper directory is missing
 * leftovers (harmless; what a killed process leaves; removed by --repair or the next mutation):
 *   - entries in tmp/, a stale lock (the store's, or a container's in container-locks/ whose
 *     holder is gone), an active record superseded by its commit,
 *     trees and blobs no record refers to, an active snapshot labelled as a container that has
 *     no container record (an interrupted container create or rm), an image layer's unpack/...
 *     snapshot whose unpacking process is gone (killed before its commit), a union container directory
 *     (union/containers/<name>) without a record
 * Not checked: the union layer cache (union/cache/: verified when filled; an index or lower table
 * whose header does not validate is rebuilt; a lower table's pages are checked against their
 * CRC-32 when read; store gc drops the entries no union container uses).
 */
import { isLayerkitError, wrapError } from '../errors.ts';
import { acquireLock, parseOwner, readLock } from '../fs/lock-file.ts';
import { decodeKey, encodeKey } from './keys.ts';
import { parseConfig, parseRecord } from './record.ts';
import { CONTAINER_LABEL, UNION_CONTAINERS_DIR, UNPACK_OWNER_LABEL, containerNameOf, parseContainer } from './container-record.ts';
import type { SnapshotStore } from './store.ts';
import type { SnapshotRecord } from './types.ts';

export interface Issue {
  /** A short stable name: bad-record, missing-tree, shared-tree, missing-parent, parent-kind, cycle, missing-blob, blob-size, blob-digest, config, empty-not-empty, bad-container, container-snapshot, container-upper, tmp, stale-lock, superseded, orphan-tree, orphan-blob, orphan-container-snapshot, orphan-unpack, orphan-union-upper */
  kind: string;
  path: string;
  message: string;
}

export interface CheckReport {
  ok: boolean;
  snapshots: number;
  blobs: number;
  errors: Issue[];
  leftovers: Issue[];
  /** With repair: the leftovers that were removed. */
  repaired: number;
}

export interface CheckOptions {
  /** Remove the leftovers (never touches anything an error is about). */
  repair?: boolean;
  /** Hash blobs to verify their digests (default true). */
  verifyBlobs?: boolean;
  /** sha256 hex of a file (the platform's; reading through FsLike). */
  sha256File: (path: string) => Promise<string>;
  lockTimeoutMs?: number;
}

export async function checkStore(store: SnapshotStore, options: CheckOptions): Promise<CheckReport> {
  const port = store.port;
  const errors: Issue[] = [];
  const leftovers: Issue[] = [];
  const err = (kind: string, path: string, message: string) => errors.push({ kind, path, message });
  const left = (kind: string, path: string, message: string) => leftovers.push({ kind, path, message });

  const before = await readLock(port, store.lockPath);
  const lock = await acquireLock(port, store.lockPath, 'check', options.lockTimeoutMs ?? 30_000);
  let repaired = 0;
  try {
    if (lock.brokeStale) left('stale-lock', store.lockPath, `lock left by process ${lock.brokeStale.pid} (${lock.brokeStale.op}), which is gone: broken`);
    else if (before && !port.alive(before)) left('stale-lock', store.lockPath, `lock left by process ${before.pid}`);
    try {
      const cfg = await port.readFile(store.configPath);
      if (!cfg) err('config', store.configPath, 'store.json is missing');
      else parseConfig(cfg, store.configPath);
    } catch (e) {
      err('config', store.configPath, (e as Error).message);
    }
    const empty = await port.readdir(store.emptyDir);
    if ((await port.kindOf(store.emptyDir)) !== 'dir') err('empty-not-empty', store.emptyDir, 'empty/ is missing (parent of snapshots without one)');
    else if (empty.length) err('empty-not-empty', store.emptyDir, `empty/ holds ${empty.length} entries (${empty.slice(0, 3).join(', ')}); commits without a parent would diff against them`);

    // Records, one by one (a damaged one is reported, the rest still checked).
    const records: SnapshotRecord[] = [];
    for (const name of await port.readdir(store.metaDir)) {
      const file = `${store.metaDir}/${name}`;
      const key = name.endsWith('.json') ? decodeKey(name.slice(0, -5)) : undefined;
      if (key === undefined) {
        err('bad-record', file, 'not a snapshot record name (meta/ holds only <encoded key>.json)');
        continue;
      }
      try {
        const bytes = await port.readFile(file);
        if (bytes) records.push(parseRecord(bytes, file, key));
      } catch (e) {
        err('bad-record', file, isLayerkitError(e) ? e.message : wrapError(e, `read ${file}`).message);
      }
    }
    const byKey = new Map<string, SnapshotRecord>();
    const byId = new Map<string, SnapshotRecord>();
    const superseded: SnapshotRecord[] = [];
    const sorted = [...records].sort((a, b) => (a.kind === 'committed' ? 0 : 1) - (b.kind === 'committed' ? 0 : 1));
    for (const r of sorted) {
      const other = byId.get(r.id);
      if (other) {
        if (other.kind === 'committed' && r.kind === 'active') {
          superseded.push(r);
          left('superseded', store.metaPath(r.key), `active record of an interrupted commit (committed as ${JSON.stringify(other.key)})`);
        } else err('shared-tree', store.metaPath(r.key), `shares its tree ${store.treePath(r.id)} with ${JSON.stringify(other.key)}`);
        continue;
      }
      byId.set(r.id, r);
      byKey.set(r.key, r);
    }
    const digests = new Set<string>();
    for (const r of byKey.values()) {
      const meta = store.metaPath(r.key);
      if ((await port.kindOf(store.treePath(r.id))) !== 'dir') err('missing-tree', meta, `snapshot ${JSON.stringify(r.key)}: its tree ${store.treePath(r.id)} is missing`);
      if (r.parent !== undefined) {
        const p = byKey.get(r.parent);
        if (!p) err('missing-parent', meta, `snapshot ${JSON.stringify(r.key)}: parent ${JSON.stringify(r.parent)} does not exist`);
        else if (p.kind !== 'committed') err('parent-kind', meta, `snapshot ${JSON.stringify(r.key)}: parent ${JSON.stringify(r.parent)} is ${p.kind}, not committed`);
      }
      // Cycles: follow parents; a chain longer than the number of records loops.
      const seen = new Set<string>([r.key]);
      for (let cur = r.parent; cur !== undefined;) {
        if (seen.has(cur)) {
          err('cycle', meta, `snapshot ${JSON.stringify(r.key)}: its parents form a cycle (${[...seen, cur].join(' -> ')})`);
          break;
        }
        seen.add(cur);
        cur = byKey.get(cur)?.parent;
      }
      if (r.blob) {
        const hex = r.blob.digest.slice('sha256:'.length);
        const path = store.blobPath(r.blob.digest);
        if (digests.has(hex)) continue;
        digests.add(hex);
        const st = await port.fs.lstat(path).catch(() => undefined);
        if (!st || !st.isFile()) err('missing-blob', meta, `snapshot ${JSON.stringify(r.key)}: blob ${r.blob.digest} is missing`);
        else if (st.size !== r.blob.size) err('blob-size', path, `blob ${r.blob.digest}: ${st.size} bytes, the record says ${r.blob.size}`);
        else if (options.verifyBlobs !== false) {
          const got = await options.sha256File(path);
          if (got !== hex) err('blob-digest', path, `blob ${r.blob.digest}: its content hashes to sha256:${got}`);
        }
      }
    }
    // Containers.
    const owned = new Set<string>();
    /** Encoded names of union containers (their directories under union/containers/). */
    const unionNames = new Set<string>();
    for (const file of await port.readdir(store.containersDir)) {
      const path = `${store.containersDir}/${file}`;
      const name = containerNameOf(file);
      if (name === undefined) {
        err('bad-container', path, 'not a container record name (containers/ holds only <name>.json)');
        continue;
      }
      let c;
      try {
        const bytes = await port.readFile(path);
        if (!bytes) continue;
        c = parseContainer(bytes, path, name);
      } catch (e) {
        err('bad-container', path, isLayerkitError(e) ? e.message : wrapError(e, `read ${path}`).message);
        continue;
      }
      if (c.kind === 'union') {
        unionNames.add(encodeKey(name));
        if ((await port.kindOf(`${store.root}/${c.upper}`)) !== 'dir') err('container-upper', path, `union container ${JSON.stringify(name)}: its upper ${store.root}/${c.upper} is missing`);
        continue;
      }
      owned.add(c.snapshot);
      const s = byKey.get(c.snapshot);
      if (!s) err('container-snapshot', path, `container ${JSON.stringify(name)}: its snapshot ${JSON.stringify(c.snapshot)} is missing`);
      else if (s.kind !== 'active' || s.labels[CONTAINER_LABEL] !== name) err('container-snapshot', path, `container ${JSON.stringify(name)}: its snapshot ${JSON.stringify(c.snapshot)} is ${s.kind}${s.labels[CONTAINER_LABEL] !== name ? ' and not labelled as its own' : ''}`);
      else if ((s.parent ?? null) !== c.image.chainID) err('container-snapshot', path, `container ${JSON.stringify(name)}: its snapshot is based on ${s.parent ?? 'nothing'}, the record says ${c.image.chainID ?? 'nothing'}`);
    }
    const orphanContainers = [...byKey.values()].filter((r) => r.kind === 'active' && r.labels[CONTAINER_LABEL] !== undefined && !owned.has(r.key));
    // An image layer's unpack/... snapshot whose unpacking process is gone: killed before its commit.
    const orphanUnpacks = [...byKey.values()].filter((r) => {
      if (r.kind !== 'active' || !r.key.startsWith('unpack/')) return false;
      const owner = parseOwner(r.labels[UNPACK_OWNER_LABEL]);
      return owner !== undefined && !port.alive(owner);
    });
    for (const r of orphanUnpacks) left('orphan-unpack', store.metaPath(r.key), `snapshot ${JSON.stringify(r.key)}: an image layer unpack whose process ${parseOwner(r.labels[UNPACK_OWNER_LABEL])!.pid} is gone (killed before its commit)`);
    const badContainers = errors.some((e) => e.kind === 'bad-container');
    for (const r of orphanContainers) left('orphan-container-snapshot', store.metaPath(r.key), `snapshot ${JSON.stringify(r.key)} is labelled as container ${JSON.stringify(r.labels[CONTAINER_LABEL])}, which has no record (an interrupted container create or rm)${badContainers ? '; a damaged container record may own it' : ''}`);

    // Union containers' directories without a record: an interrupted create or rm.
    const unionDirs = `${store.root}/${UNION_CONTAINERS_DIR}`;
    const orphanUppers = badContainers ? [] : (await port.readdir(unionDirs)).filter((n) => !unionNames.has(n)).map((n) => `${unionDirs}/${n}`);
    for (const p of orphanUppers) left('orphan-union-upper', p, 'a union container directory without a container record (an interrupted container create or rm)');

    // Leftovers.
    for (const n of await port.readdir(store.tmpDir)) left('tmp', `${store.tmpDir}/${n}`, 'temporary file or tree of an interrupted operation');
    const set = { live: byKey, superseded };
    const g = await store.garbage(set);
    // A tree named like a record's but unreadable records may still own it: only with no bad records.
    const badRecords = errors.some((e) => e.kind === 'bad-record');
    for (const t of g.trees) left('orphan-tree', t, badRecords ? 'no readable record refers to this tree (a damaged record may)' : 'no record refers to this tree (an interrupted prepare or remove)');
    for (const b of g.blobs) left('orphan-blob', b, 'no record refers to this blob (an interrupted commit or remove)');
    // Container locks whose holder is gone (a killed cp, commit or rm); live ones are in use.
    const staleContainerLocks: string[] = [];
    for (const n of await port.readdir(store.containerLocksDir)) {
      const p = `${store.containerLocksDir}/${n}`;
      const holder = n.endsWith('.lock') ? await readLock(port, p) : undefined;
      if (holder && port.alive(holder)) continue;
      staleContainerLocks.push(p);
      left('stale-lock', p, holder ? `container lock left by process ${holder.pid} (${holder.op}), which is gone` : 'a container lock file of an interrupted command');
    }

    if (options.repair) {
      for (const n of await port.readdir(store.tmpDir)) await port.remove(`${store.tmpDir}/${n}`);
      for (const r of superseded) await port.remove(store.metaPath(r.key));
      if (!badContainers && !badRecords) {
        for (const r of orphanContainers) await store.removeLocked(set, r.key);
      }
      if (!badRecords) {
        for (const r of orphanUnpacks) await store.removeLocked(set, r.key);
      }
      for (const p of orphanUppers) await port.remove(p);
      for (const p of staleContainerLocks) await port.remove(p);
      if (!badRecords) await store.collectGarbage(set);
      repaired = leftovers.filter((l) => !(badRecords && (l.kind === 'orphan-tree' || l.kind === 'orphan-blob'))
        && !((badContainers || badRecords) && l.kind === 'orphan-container-snapshot')
        && !(badRecords && l.kind === 'orphan-unpack')).length;
    }
    return { ok: errors.length === 0, snapshots: byKey.size, blobs: digests.size, errors, leftovers, repaired };
  } finally {
    await lock.release();
  }
}
