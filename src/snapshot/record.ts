/**
 * Snapshot records (meta/<encoded key>.json) and the store's own file (store.json): JSON, parsed
 * strictly. A record that does not parse or does not hold together is ERR_STORE_CORRUPT naming
 * the file, so a store edited by hand gives a clear error instead of undefined behaviour.
 */
import { LayerkitError } from '../errors.ts';
import { ID_PATTERN } from './keys.ts';
import type { BlobRef, Kind, Materialize, SnapshotRecord, Usage } from './types.ts';

const KINDS: readonly Kind[] = ['active', 'view', 'committed'];
const METHODS: readonly Materialize[] = ['reflink', 'hardlink', 'copy', 'empty'];
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export const STORE_FORMAT = 'layerkit-snapshots';
export const STORE_VERSION = 1;

/** store.json: what the store is, and how it shares content (probed once, when it was created). */
export interface StoreConfig {
  format: typeof STORE_FORMAT;
  version: typeof STORE_VERSION;
  /** How active snapshots and views are filled from their parent. */
  materialize: { active: 'reflink' | 'hardlink' | 'copy'; view: 'reflink' | 'hardlink' | 'copy' };
  /** Compression of the layer blobs written by commit. */
  compression: 'gzip' | 'zstd' | 'none';
}

const enc = new TextEncoder();

export function encodeJson(value: unknown): Uint8Array {
  return enc.encode(JSON.stringify(value, null, 2) + '\n');
}

function corrupt(file: string, why: string): LayerkitError {
  return new LayerkitError('ERR_STORE_CORRUPT', `${file}: ${why} (see layerkit store check)`, { path: file });
}

function parseJson(bytes: Uint8Array, file: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw corrupt(file, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw corrupt(file, 'not a JSON object');
  return v as Record<string, unknown>;
}

export function parseConfig(bytes: Uint8Array, file: string): StoreConfig {
  const v = parseJson(bytes, file);
  if (v.format !== STORE_FORMAT) throw corrupt(file, `format is ${JSON.stringify(v.format)}, not ${STORE_FORMAT}`);
  if (v.version !== STORE_VERSION) {
    throw new LayerkitError('ERR_STORE_VERSION', `${file}: store format version ${JSON.stringify(v.version)}; this layerkit reads version ${STORE_VERSION}`, { path: file, version: v.version });
  }
  const m = v.materialize as Record<string, unknown> | undefined;
  const ok = (x: unknown) => x === 'reflink' || x === 'hardlink' || x === 'copy';
  if (!m || !ok(m.active) || !ok(m.view)) throw corrupt(file, 'materialize must be {active, view} of reflink|hardlink|copy');
  if (v.compression !== 'gzip' && v.compression !== 'zstd' && v.compression !== 'none') throw corrupt(file, 'compression must be gzip, zstd or none');
  return v as unknown as StoreConfig;
}

function isUsage(u: unknown): u is Usage {
  const x = u as Usage;
  return typeof x === 'object' && x !== null && Number.isSafeInteger(x.size) && x.size >= 0 && Number.isSafeInteger(x.inodes) && x.inodes >= 0;
}

function isBlob(b: unknown): b is BlobRef {
  const x = b as BlobRef;
  return typeof x === 'object' && x !== null && typeof x.digest === 'string' && DIGEST.test(x.digest)
    && typeof x.diffID === 'string' && DIGEST.test(x.diffID) && Number.isSafeInteger(x.size) && x.size >= 0
    && typeof x.mediaType === 'string';
}

/** Parse and validate a record; `key` is the key its file name stands for. */
export function parseRecord(bytes: Uint8Array, file: string, key: string): SnapshotRecord {
  const v = parseJson(bytes, file);
  if (v.version !== 1) throw corrupt(file, `record version ${JSON.stringify(v.version)} is not 1`);
  if (v.key !== key) throw corrupt(file, `record key ${JSON.stringify(v.key)} does not match its file name (key ${JSON.stringify(key)})`);
  if (!KINDS.includes(v.kind as Kind)) throw corrupt(file, `kind ${JSON.stringify(v.kind)} is not active, view or committed`);
  if (typeof v.id !== 'string' || !ID_PATTERN.test(v.id)) throw corrupt(file, `id ${JSON.stringify(v.id)} is not 16 hex digits`);
  if (v.parent !== undefined && (typeof v.parent !== 'string' || v.parent === '')) throw corrupt(file, 'parent must be a non-empty string');
  if (v.parent === key) throw corrupt(file, 'the snapshot is its own parent');
  const labels = v.labels;
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels) || Object.values(labels).some((x) => typeof x !== 'string')) {
    throw corrupt(file, 'labels must be an object of strings');
  }
  for (const t of ['created', 'updated'] as const) {
    if (typeof v[t] !== 'string' || Number.isNaN(Date.parse(v[t] as string))) throw corrupt(file, `${t} is not a date`);
  }
  if (!METHODS.includes(v.materialize as Materialize)) throw corrupt(file, `materialize ${JSON.stringify(v.materialize)} is unknown`);
  if (v.kind === 'committed') {
    if (!isBlob(v.blob)) throw corrupt(file, 'a committed snapshot needs blob {digest, diffID, size, mediaType}');
    if (!isUsage(v.usage)) throw corrupt(file, 'a committed snapshot needs usage {size, inodes}');
  } else if (v.blob !== undefined || v.usage !== undefined) {
    throw corrupt(file, `an ${v.kind} snapshot has no blob or stored usage`);
  }
  return v as unknown as SnapshotRecord;
}
