/**
 * Container records in the snapshot store, changed under the store lock together with the
 * container's active snapshot (see container-record.ts for the order of the steps and what an
 * interrupted step leaves behind).
 */
import { LayerkitError, wrapError } from '../errors.ts';
import {
  CONTAINER_LABEL, assertContainerName, containerNameOf, containerSnapshotKey, encodeContainer, parseContainer,
  unionContainerDir, unionUpperDir, type ContainerImage, type ContainerRecord, type UnionContainerRecord,
} from './container-record.ts';
import { newId } from './keys.ts';
import { acquireLock } from '../fs/lock-file.ts';
import type { SnapshotStore } from './store.ts';
import type { Mount } from './types.ts';

/**
 * Run `fn` holding the container's lock (container-locks/<name>.lock): commands that write into a
 * container, commit it or remove it take turns, so a commit never packs half of a `container cp`
 * and `rm` never pulls the tree from under a writer (docker pauses a container to commit it).
 * Taken before the store lock, never while holding it. Readers (diff, ls) take none.
 */
export async function withContainerLock<T>(store: SnapshotStore, name: string, op: string, fn: () => Promise<T>): Promise<T> {
  assertContainerName(name);
  const path = store.containerLockPath(name);
  try {
    await store.port.mkdirp(store.containerLocksDir);
  } catch (e) {
    throw wrapError(e, `container ${name}: lock`);
  }
  const held = await acquireLock(store.port, path, `container ${op} ${name}`, store.lockTimeoutMs, { what: `container ${JSON.stringify(name)}`, code: 'ERR_CONTAINER_LOCKED' });
  try {
    return await fn();
  } finally {
    await held.release();
  }
}

export async function readContainer(store: SnapshotStore, name: string): Promise<ContainerRecord | undefined> {
  assertContainerName(name);
  const file = store.containerPath(name);
  const bytes = await store.port.readFile(file).catch((e) => { throw wrapError(e, `read ${file}`); });
  return bytes ? parseContainer(bytes, file, name) : undefined;
}

/**
 * The name a new container gets (`name`, or "c-" and 12 random hex digits), checked against the
 * grammar and against the records already there (ERR_CONTAINER_EXISTS). Creating the record
 * under the lock checks again: this only fails early, before any layer is read.
 */
export async function newContainerName(store: SnapshotStore, name?: string): Promise<string> {
  const n = name ?? `c-${newId().slice(0, 12)}`;
  assertContainerName(n);
  if (await readContainer(store, n)) {
    throw new LayerkitError('ERR_CONTAINER_EXISTS', `container ${JSON.stringify(n)} exists already in ${store.root}`, { name: n });
  }
  return n;
}

export async function getContainer(store: SnapshotStore, name: string): Promise<ContainerRecord> {
  const r = await readContainer(store, name);
  if (!r) throw new LayerkitError('ERR_CONTAINER_NOT_FOUND', `no container ${JSON.stringify(name)} in ${store.root}`, { name, store: store.root });
  return r;
}

/** Every container, sorted by name. A damaged record is ERR_STORE_CORRUPT naming the file. */
export async function listContainers(store: SnapshotStore): Promise<ContainerRecord[]> {
  const out: ContainerRecord[] = [];
  for (const file of await store.port.readdir(store.containersDir)) {
    const name = containerNameOf(file);
    const path = `${store.containersDir}/${file}`;
    if (name === undefined) throw new LayerkitError('ERR_STORE_CORRUPT', `${path}: not a container record name (see layerkit store check)`, { path });
    const r = await readContainer(store, name);
    if (r) out.push(r);
  }
  return out;
}

/**
 * Under the lock: the active snapshot container/<name> on the image's top chain snapshot, then
 * the record (the commit point). ERR_CONTAINER_EXISTS when the name is taken.
 */
export async function createContainerRecord(store: SnapshotStore, name: string, image: ContainerImage): Promise<{ record: ContainerRecord; mount: Mount }> {
  assertContainerName(name);
  const key = containerSnapshotKey(name);
  return store.withLock(`container create ${name}`, async (set) => {
    if (await readContainer(store, name)) {
      throw new LayerkitError('ERR_CONTAINER_EXISTS', `container ${JSON.stringify(name)} exists already in ${store.root}`, { name });
    }
    const stale = set.live.get(key);
    if (stale) {
      // The leftover of an interrupted create or rm of this name: ours to remove.
      if (stale.kind !== 'active' || stale.labels[CONTAINER_LABEL] !== name) {
        throw new LayerkitError('ERR_SNAPSHOT_EXISTS', `container create ${name}: snapshot ${JSON.stringify(key)} exists and is not a container's`, { name, key });
      }
      await store.removeLocked(set, key);
    }
    const mount = await store.createLocked(set, 'active', key, image.chainID ?? undefined, { labels: { [CONTAINER_LABEL]: name } });
    const record: ContainerRecord = { version: 1, kind: 'farm', name, snapshot: key, image, created: new Date().toISOString() };
    try {
      await store.port.mkdirp(store.containersDir);
      await store.port.writeFileAtomic(store.containerPath(name), encodeContainer(record), `${store.tmpDir}/container-${newId()}`);
    } catch (e) {
      await store.removeLocked(set, key).catch(() => {});
      throw wrapError(e, `container create ${name}: write ${store.containerPath(name)}`);
    }
    return { record, mount };
  });
}

/**
 * Under the lock: a union container's empty upper directory (union/containers/<name>/upper; a
 * leftover of an interrupted create or rm of that name is removed first), then the record (the
 * commit point). ERR_CONTAINER_EXISTS when the name is taken.
 */
export async function createUnionContainerRecord(store: SnapshotStore, name: string, image: ContainerImage, layers: string[]): Promise<UnionContainerRecord> {
  assertContainerName(name);
  return store.withLock(`container create ${name}`, async () => {
    if (await readContainer(store, name)) {
      throw new LayerkitError('ERR_CONTAINER_EXISTS', `container ${JSON.stringify(name)} exists already in ${store.root}`, { name });
    }
    const dir = `${store.root}/${unionContainerDir(name)}`;
    const record: UnionContainerRecord = { version: 1, kind: 'union', name, upper: unionUpperDir(name), layers, image, created: new Date().toISOString() };
    try {
      await store.port.remove(dir);
      await store.port.mkdirp(`${store.root}/${record.upper}`);
      await store.port.mkdirp(store.containersDir);
      await store.port.writeFileAtomic(store.containerPath(name), encodeContainer(record), `${store.tmpDir}/container-${newId()}`);
    } catch (e) {
      await store.port.remove(dir).catch(() => {});
      throw wrapError(e, `container create ${name}: write ${store.containerPath(name)}`);
    }
    return record;
  });
}

/**
 * Under the lock: unlink the record (the commit point), then remove the snapshot (farm) or the
 * upper directory (union).
 */
export async function removeContainerRecord(store: SnapshotStore, name: string): Promise<ContainerRecord> {
  assertContainerName(name);
  return store.withLock(`container rm ${name}`, async (set) => {
    const r = await getContainer(store, name);
    try {
      await store.port.remove(store.containerPath(name));
      await store.port.syncDir(store.containersDir);
    } catch (e) {
      throw wrapError(e, `container rm ${name}`);
    }
    if (r.kind === 'union') await store.port.remove(`${store.root}/${unionContainerDir(name)}`).catch((e) => { throw wrapError(e, `container rm ${name}: remove its upper`); });
    else if (set.live.has(r.snapshot)) await store.removeLocked(set, r.snapshot);
    return r;
  });
}
