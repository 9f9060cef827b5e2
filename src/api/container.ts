/**
 * Containers over the snapshot store and OCI image layouts, containerd's way:
 *
 * - an image's layers become a chain of committed snapshots keyed by chain ID: each layer is
 *   applied (oci/apply.ts: untrusted input, whiteouts) into a snapshot prepared on the previous
 *   chain ID's, then committed as its own chain ID with the image's layer blob as its blob. A
 *   chain snapshot that exists is reused, so N containers on one image (and images sharing lower
 *   layers) share them;
 * - a container is an active snapshot on the top chain ID plus a record (container-record.ts);
 * - diff = changes(parent chain tree, active tree); commit = the layer of that diff added to the
 *   layout on top of the container's image (the manifest recorded at create, whatever its tag
 *   names now), with a history entry;
 * - rm removes the record and the active snapshot; the chain snapshots stay (pruneImageSnapshots
 *   removes those no snapshot is based on).
 *
 * Writing into a container: its snapshot directory (containerPath), with the store's copy-up
 * rules: in a hardlink farm only through the snapshot writer (src/platform/snapshot-writer.ts).
 */
import { LayerkitError, wrapError } from '../errors.ts';
import type { MutableFsLike } from '../fs/types.ts';
import type { StoreFsLike } from '../fs/store-types.ts';
import { applyLayers, type ApplyWarning } from '../oci/apply.ts';
import { checkTag } from '../oci/layout/index-file.ts';
import type { Descriptor } from '../oci/layout/descriptor.ts';
import { OciLayout, type ResolvedImage } from '../oci/layout/layout.ts';
import type { Compression } from '../oci/media-types.ts';
import { CHAIN_LABEL, UNPACK_OWNER_LABEL, type ContainerRecord, type FarmContainerRecord } from '../snapshot/container-record.ts';
import { commitUnionLocked, unionContainerChanges } from './union-container.ts';
import { createContainerRecord, getContainer, listContainers, newContainerName, removeContainerRecord, withContainerLock } from '../snapshot/containers.ts';
import { newId } from '../snapshot/keys.ts';
import type { SnapshotStore } from '../snapshot/store.ts';
import type { Mount } from '../snapshot/types.ts';
import { changes, type ChangesResult } from './changes.ts';
import { diff, type DiffResult } from './diff.ts';
import { commitLayerToLayout } from './commit-layer.ts';
import type { TreeChange } from '../tree/changes.ts';

export type { ContainerRecord };
export { listContainers, getContainer };

export interface ContainerPorts {
  /** Reads and writes image layouts. */
  layoutFs: StoreFsLike;
  /** Writes layers into snapshot trees (apply). */
  treeFs: MutableFsLike;
  onWarning?: (w: ApplyWarning) => void;
  /** Reported once per layer of the image: unpacked now, or reused. */
  onLayer?: (chainID: string, what: 'unpacked' | 'reused', ms: number) => void;
}

/**
 * Make sure every layer of `image` is a committed snapshot keyed by its chain ID; returns the top
 * chain ID (null for an image without layers).
 */
export async function unpackImageSnapshots(store: SnapshotStore, image: ResolvedImage, ports: ContainerPorts): Promise<string | null> {
  let parent: string | undefined;
  for (const layer of image.layers) {
    const key = layer.chainID;
    const t0 = Date.now();
    const have = (await store.records()).live.get(key);
    if (have) {
      if (have.kind !== 'committed' || have.blob?.diffID !== layer.diffID || have.parent !== parent) {
        throw new LayerkitError('ERR_STORE_CORRUPT', `snapshot ${key} (an image chain ID) is ${have.kind} with diffID ${have.blob?.diffID ?? 'none'} on ${have.parent ?? 'nothing'}; expected a committed layer ${layer.diffID} on ${parent ?? 'nothing'}`, { key });
      }
      ports.onLayer?.(key, 'reused', Date.now() - t0);
      parent = key;
      continue;
    }
    const tmpKey = `unpack/${key}/${newId()}`;
    // The owner label lets store check tell an unpack killed before its commit (owner gone) from one running.
    const mount = await store.prepare(tmpKey, parent, { labels: { 'layerkit.unpack/chain-id': key, [UNPACK_OWNER_LABEL]: JSON.stringify(store.port.self()) } });
    try {
      await applyLayers([{ blob: () => layer.blob(), digest: layer.digest, diffID: layer.diffID, name: layer.digest }], mount.path, {
        fs: ports.treeFs, onWarning: ports.onWarning,
      });
      await store.commit(key, tmpKey, {
        labels: { [CHAIN_LABEL]: layer.diffID },
        blob: { digest: layer.digest, diffID: layer.diffID, size: layer.size, mediaType: layer.mediaType, read: () => layer.blob() },
      });
    } catch (e) {
      await store.remove(tmpKey).catch(() => {});
      const now = (await store.records()).live.get(key);
      // Another process unpacked the same layer meanwhile: use theirs.
      if (!(e instanceof LayerkitError && e.code === 'ERR_SNAPSHOT_EXISTS' && now?.kind === 'committed')) throw wrapError(e, `unpack layer ${layer.digest} as ${key}`);
    }
    ports.onLayer?.(key, 'unpacked', Date.now() - t0);
    parent = key;
  }
  return parent ?? null;
}

export interface CreateContainerOptions {
  /** Default: "c-" and 12 random hex digits. */
  name?: string;
  platform?: { os?: string; architecture?: string; variant?: string };
}

export interface CreatedContainer {
  record: ContainerRecord;
  mount: Mount;
}

/** A container from LAYOUT:TAG (`layoutDir` is recorded as given: pass an absolute path). */
export async function createContainer(store: SnapshotStore, ports: ContainerPorts, layoutDir: string, tag: string, options: CreateContainerOptions = {}): Promise<CreatedContainer> {
  const name = await newContainerName(store, options.name);
  const layout = await OciLayout.open(ports.layoutFs, layoutDir);
  const image = await layout.resolve(tag, options.platform);
  const chainID = await unpackImageSnapshots(store, image, ports);
  const d = image.descriptor;
  return createContainerRecord(store, name, {
    layout: layoutDir, tag, manifest: { mediaType: d.mediaType, digest: d.digest, size: d.size }, chainID,
  });
}

/** The container's tree and its image's (the parent chain snapshot's; the store's empty tree without layers). */
export async function containerTrees(store: SnapshotStore, name: string): Promise<{ record: FarmContainerRecord; parent: string; tree: string }> {
  const record = await getContainer(store, name);
  if (record.kind === 'union') {
    throw new LayerkitError('ERR_UNSUPPORTED', `container ${JSON.stringify(name)} is a union container: it has no directory (its files are the image's layer tars plus its upper, seen through a union view); use container cp|rm-path|mkdir|mv|diff|commit, or the library's openUnionContainer / openUnionWriter`, { name, kind: 'union' });
  }
  const info = await store.stat(record.snapshot);
  const parent = info.parent !== undefined ? (await store.stat(info.parent)).path : store.emptyDir;
  return { record, parent, tree: info.path };
}

/** The active snapshot's directory: where the container's files are. */
export async function containerPath(store: SnapshotStore, name: string): Promise<string> {
  return (await containerTrees(store, name)).tree;
}

/**
 * What changed in the container against its image (A|C|D, like `layerkit changes`). For a union
 * container use unionContainerChanges (or containerChangeList, which takes either kind).
 */
export async function containerChanges(store: SnapshotStore, name: string): Promise<ChangesResult> {
  const { parent, tree } = await containerTrees(store, name);
  return changes(store.port.fs, parent, tree);
}

/** The changes of a container of either kind, sorted (what `container diff` prints). */
export async function containerChangeList(store: SnapshotStore, ports: ContainerPorts, name: string): Promise<TreeChange[]> {
  if ((await getContainer(store, name)).kind === 'union') return unionContainerChanges(store, ports, name);
  return (await containerChanges(store, name)).changes;
}

export interface CommitContainerOptions {
  /** The history entry's comment. */
  message?: string;
  author?: string;
  /** The history entry's created_by (default "layerkit container commit NAME"). */
  createdBy?: string;
  /** RFC 3339 time of the history entry and the new config (default now). */
  created?: string;
  compression?: Compression;
  /** Clamp mtimes newer than this in the layer (seconds since the epoch). */
  sourceDateEpoch?: number;
}

export interface CommittedContainer {
  /** The new image's manifest (index.json tags it). */
  manifest: Descriptor;
  layer: { digest: string; diffID: string; size: number; mediaType: string };
  changes: DiffResult['changes'];
}

/**
 * The container's changes as a layer on top of its image, tagged `tag` in the layout at
 * `layoutDir` (which must hold the container's image: normally its own layout). The layer blob
 * is stored first, then config, manifest and index.json (layout.addLayer): atomic per file,
 * index.json last.
 */
export async function commitContainer(store: SnapshotStore, ports: ContainerPorts, name: string, layoutDir: string, tag: string,
  options: CommitContainerOptions = {}): Promise<CommittedContainer> {
  checkTag(tag);
  return withContainerLock(store, name, 'commit', async () => {
    if ((await getContainer(store, name)).kind === 'union') return commitUnionLocked(store, ports, name, layoutDir, tag, options);
    return commitFarmLocked(store, ports, name, layoutDir, tag, options);
  });
}

async function commitFarmLocked(store: SnapshotStore, ports: ContainerPorts, name: string, layoutDir: string, tag: string,
  options: CommitContainerOptions): Promise<CommittedContainer> {
  const { record, parent, tree } = await containerTrees(store, name);
  const layout = await OciLayout.open(ports.layoutFs, layoutDir);
  const base = await layout.resolveManifest(record.image.manifest as Descriptor, record.image.tag);
  const top = base.layers.at(-1)?.chainID ?? null;
  if (top !== record.image.chainID) {
    throw new LayerkitError('ERR_IMAGE_CORRUPT', `container ${name}: its image ${record.image.manifest.digest} has top chain ID ${top}, the container records ${record.image.chainID}`, { name });
  }
  const { manifest, layer, result } = await commitLayerToLayout(layout, base, tag, name, options, (sink) =>
    diff(store.port.fs, parent, tree, sink, { compression: options.compression ?? 'gzip', sourceDateEpoch: options.sourceDateEpoch }));
  return { manifest, layer, changes: result.changes };
}

/** Remove the container: its record and its active snapshot or union upper (the image's snapshots and the layer cache stay). */
export function removeContainer(store: SnapshotStore, name: string): Promise<ContainerRecord> {
  return withContainerLock(store, name, 'rm', () => removeContainerRecord(store, name));
}

/**
 * Remove the image chain snapshots no snapshot is based on (top layers first, then the layers
 * that frees), under one hold of the lock. Returns the keys removed.
 */
export async function pruneImageSnapshots(store: SnapshotStore): Promise<string[]> {
  return store.withLock('prune image snapshots', async (set) => {
    const removed: string[] = [];
    for (;;) {
      const parents = new Set([...set.live.values()].map((r) => r.parent).filter((p) => p !== undefined));
      const free = [...set.live.values()].filter((r) => r.kind === 'committed' && r.labels[CHAIN_LABEL] !== undefined && !parents.has(r.key));
      if (free.length === 0) return removed;
      for (const r of free) {
        await store.removeLocked(set, r.key);
        removed.push(r.key);
      }
    }
  });
}
