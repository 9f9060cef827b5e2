/**
 * Container records: containers/<encoded name>.json in the snapshot store, next to the snapshot
 * records (meta/). A container is a name, the image it was made from (layout, tag, the manifest
 * that tag named then, the chain ID of its top layer) and its active snapshot, whose key is
 * always `container/<name>` and which carries the label CONTAINER_LABEL = name.
 *
 * Consistency (the store lock is held for every change): create writes the snapshot record, then
 * the container record (the commit point); rm unlinks the container record (the commit point),
 * then removes the snapshot. So a container record always has its snapshot; an active snapshot
 * labelled as a container without a record is the leftover of an interrupted create or rm (store
 * check reports it; creating that name again, or check --repair, removes it).
 */
import { LayerkitError } from '../errors.ts';
import { decodeKey, encodeKey } from './keys.ts';
import { encodeJson } from './record.ts';

/** Label on a container's active snapshot: the container's name. */
export const CONTAINER_LABEL = 'layerkit.container/name';
/** Label on the committed snapshots of image layers: the layer's diffID (the key is its chain ID). */
export const CHAIN_LABEL = 'layerkit.image/diff-id';
/** On an image layer's temporary `unpack/...` snapshot: the unpacking process (LockOwner as JSON). */
export const UNPACK_OWNER_LABEL = 'layerkit.unpack/owner';

/** Docker's container name grammar. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface ContainerImage {
  /** The layout directory (absolute). */
  layout: string;
  tag: string;
  /** The manifest the tag named when the container was created (its descriptor). */
  manifest: { mediaType: string; digest: string; size: number };
  /** The chain ID of the image's top layer: the key of the container's parent snapshot (null: no layers). */
  chainID: string | null;
}

/** A container whose tree is an active snapshot (a hardlink farm, reflinks or a copy of the image's). */
export interface FarmContainerRecord {
  version: 1;
  /** Absent in records written before union containers: a farm container. */
  kind?: 'farm';
  name: string;
  /** The key of the container's active snapshot (container/<name>). */
  snapshot: string;
  image: ContainerImage;
  /** ISO 8601. */
  created: string;
}

/**
 * A container read through a union view (src/union): the image's layer tars (decompressed once
 * into the store's shared cache, union/cache/) below its own upper directory; no snapshot.
 */
export interface UnionContainerRecord {
  version: 1;
  kind: 'union';
  name: string;
  /** Its upper directory, relative to the store root: unionUpperDir(name). */
  upper: string;
  /** The image's layers' diffIDs, bottom first (the cache entries it uses; store gc keeps them). */
  layers: string[];
  image: ContainerImage;
  /** ISO 8601. */
  created: string;
}

export type ContainerRecord = FarmContainerRecord | UnionContainerRecord;

export function isUnionContainer(r: ContainerRecord): r is UnionContainerRecord {
  return r.kind === 'union';
}

/** Where union containers' directories are (relative to the store root). */
export const UNION_CONTAINERS_DIR = 'union/containers';

/** A union container's directory (relative to the store root); its upper is `<this>/upper`. */
export function unionContainerDir(name: string): string {
  return `${UNION_CONTAINERS_DIR}/${encodeKey(name)}`;
}

export function unionUpperDir(name: string): string {
  return `${unionContainerDir(name)}/upper`;
}

/** Where decompressed layer tars and their indexes are kept (relative to the store root). */
export const UNION_CACHE_DIR = 'union/cache';

export function assertContainerName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new LayerkitError('ERR_INVALID_ARG', `container name ${JSON.stringify(name)} must match [A-Za-z0-9][A-Za-z0-9_.-]* (at most 128 characters)`, { name });
  }
}

export function containerSnapshotKey(name: string): string {
  return `container/${name}`;
}

export function containerFileName(name: string): string {
  return `${encodeKey(name)}.json`;
}

/** The name a record file stands for, or undefined when it is not one containerFileName makes. */
export function containerNameOf(file: string): string | undefined {
  if (!file.endsWith('.json')) return undefined;
  const name = decodeKey(file.slice(0, -5));
  return name !== undefined && NAME.test(name) ? name : undefined;
}

export function encodeContainer(r: ContainerRecord): Uint8Array {
  return encodeJson(r);
}

function corrupt(file: string, why: string): LayerkitError {
  return new LayerkitError('ERR_STORE_CORRUPT', `${file}: ${why} (see layerkit store check)`, { path: file });
}

/** Parse and validate a container record; `name` is the name its file name stands for. */
export function parseContainer(bytes: Uint8Array, file: string, name: string): ContainerRecord {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Record<string, unknown>;
  } catch (e) {
    throw corrupt(file, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw corrupt(file, 'not a JSON object');
  if (v.version !== 1) throw corrupt(file, `container record version ${JSON.stringify(v.version)} is not 1`);
  if (v.name !== name) throw corrupt(file, `container name ${JSON.stringify(v.name)} does not match its file name (${JSON.stringify(name)})`);
  if (v.kind === 'union') {
    if (v.upper !== unionUpperDir(name)) throw corrupt(file, `upper must be ${JSON.stringify(unionUpperDir(name))}`);
    if (!Array.isArray(v.layers) || !v.layers.every((d) => typeof d === 'string' && DIGEST.test(d))) throw corrupt(file, 'layers must be a list of sha256 diffIDs');
  } else if (v.kind !== undefined && v.kind !== 'farm') {
    throw corrupt(file, `container kind ${JSON.stringify(v.kind)} is not farm or union`);
  } else if (v.snapshot !== containerSnapshotKey(name)) throw corrupt(file, `snapshot must be ${JSON.stringify(containerSnapshotKey(name))}`);
  if (typeof v.created !== 'string' || Number.isNaN(Date.parse(v.created))) throw corrupt(file, 'created is not a date');
  const img = v.image as Record<string, unknown> | undefined;
  const man = img?.manifest as Record<string, unknown> | undefined;
  if (typeof img !== 'object' || img === null || typeof img.layout !== 'string' || typeof img.tag !== 'string'
    || typeof man !== 'object' || man === null || typeof man.mediaType !== 'string' || typeof man.digest !== 'string' || !DIGEST.test(man.digest)
    || !Number.isSafeInteger(man.size) || !(img.chainID === null || (typeof img.chainID === 'string' && DIGEST.test(img.chainID)))) {
    throw corrupt(file, 'image must be {layout, tag, manifest {mediaType, digest, size}, chainID}');
  }
  return v as unknown as ContainerRecord;
}
