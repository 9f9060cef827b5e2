/**
 * Bounds on untrusted tar input (A15). The reader enforces them while parsing, before anything is
 * buffered or written, so a hostile layer costs at most these amounts. Every field can be changed
 * by the caller; the defaults fit real images (a Debian or Ubuntu base has ~10k-30k entries,
 * big ML images a few GiB per layer) with a wide margin.
 */
import { LayerkitError } from '../errors.ts';

export interface TarLimits {
  /** Decompressed (tar) bytes per layer, headers and padding included. Default 64 GiB. */
  maxBytes: number;
  /** Entries per layer (PAX/GNU meta headers not counted). Default 4,000,000. */
  maxEntries: number;
  /** Bytes in an entry name after PAX/GNU long names (PATH_MAX). Default 4096. */
  maxNameBytes: number;
  /** Bytes in a link target. Default 4096. */
  maxLinkBytes: number;
  /** Bytes in one extended header (PAX 'x'/'g' data, GNU 'L'/'K' long name data). Default 1 MiB. */
  maxHeaderBytes: number;
  /** Symlinks followed while resolving one path inside the target (Linux's MAXSYMLINKS). Default 40. */
  maxSymlinkHops: number;
}

export const DEFAULT_LIMITS: Readonly<TarLimits> = Object.freeze({
  maxBytes: 64 * 1024 ** 3,
  maxEntries: 4_000_000,
  maxNameBytes: 4096,
  maxLinkBytes: 4096,
  maxHeaderBytes: 1024 * 1024,
  maxSymlinkHops: 40,
});

/** Defaults overridden by `partial`; each value must be a positive safe integer. */
export function resolveLimits(partial: Partial<TarLimits> = {}): TarLimits {
  const out = { ...DEFAULT_LIMITS, ...partial };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v <= 0) {
      throw new LayerkitError('ERR_OUT_OF_RANGE', `limit ${k} must be a positive integer, got ${String(v)}`, { limit: k, value: v });
    }
  }
  return out;
}

export function limitError(limit: keyof TarLimits, value: number, max: number, what: string, data: Record<string, unknown> = {}): LayerkitError {
  return new LayerkitError('ERR_LIMIT_EXCEEDED', `${what}: ${value} exceeds the limit ${limit}=${max} (raise it if the layer is trusted)`, { limit, value, max, ...data });
}
