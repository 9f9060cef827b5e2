/**
 * OCI image configs (image-spec config.md): the platform, the runtime defaults, rootfs.diff_ids
 * (one diffID per layer, in order) and history (one entry per layer, plus empty_layer entries).
 */
import { LayerkitError } from '../errors.ts';
import { parseDigest } from './digest.ts';
import { corrupt, isObject } from './layout/descriptor.ts';

export interface HistoryEntry {
  created?: string;
  author?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: Record<string, unknown>;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
  [key: string]: unknown;
}

export function parseConfig(v: unknown, what: string): ImageConfig {
  if (!isObject(v)) throw corrupt(what, 'not a JSON object');
  if (typeof v.architecture !== 'string' || typeof v.os !== 'string') throw corrupt(what, 'architecture and os must be strings');
  const rootfs = v.rootfs;
  if (!isObject(rootfs) || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) {
    throw corrupt(what, 'rootfs must be {"type":"layers","diff_ids":[...]}');
  }
  rootfs.diff_ids.forEach((d, i) => parseDigest(d, `${what} rootfs.diff_ids[${i}]`));
  if (v.history !== undefined) {
    if (!Array.isArray(v.history) || !v.history.every(isObject)) throw corrupt(what, 'history is not an array of objects');
  }
  return v as ImageConfig;
}

/** RFC 3339 (UTC, whole seconds) for a time in seconds since the epoch. */
export function rfc3339(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new LayerkitError('ERR_OUT_OF_RANGE', `a creation time must be a non-negative integer of seconds, got ${seconds}`, { seconds });
  }
  return new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/** A config for an image with no layers yet. */
export function emptyConfig(platform: { os: string; architecture: string; variant?: string }, created?: string): ImageConfig {
  const c: ImageConfig = { architecture: platform.architecture, os: platform.os, rootfs: { type: 'layers', diff_ids: [] }, history: [] };
  if (platform.variant) c.variant = platform.variant;
  if (created) return { created, ...c };
  return c;
}

/** `config` plus one layer: its diffID appended and a history entry for it. */
export function withLayer(config: ImageConfig, diffID: string, history: HistoryEntry): ImageConfig {
  parseDigest(diffID, 'diffID');
  const next: ImageConfig = {
    ...config,
    rootfs: { type: 'layers', diff_ids: [...config.rootfs.diff_ids, diffID] },
    history: [...(config.history ?? []), history],
  };
  if (history.created !== undefined) next.created = history.created;
  return next;
}
