/**
 * OCI content digests (image-spec descriptor.md): `<algorithm>:<encoded>`. layerkit computes
 * sha256 only; sha512 digests are recognised (so the error says "unsupported", not "malformed").
 */
import { LayerkitError } from '../errors.ts';
import { sha256Engine, type Sha256Like } from '../hash/engines.ts';

const ENCODED: Record<string, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

export interface ParsedDigest {
  algorithm: string;
  encoded: string;
}

/** Check a digest's shape; ERR_INVALID_DIGEST names what is wrong. `what` says whose digest it is. */
export function parseDigest(digest: unknown, what = 'digest'): ParsedDigest {
  if (typeof digest !== 'string') throw new LayerkitError('ERR_INVALID_DIGEST', `${what}: not a string`, { digest });
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const encoded = digest.slice(colon + 1);
  const re = colon > 0 ? ENCODED[algorithm] : undefined;
  if (!re || !re.test(encoded)) {
    throw new LayerkitError('ERR_INVALID_DIGEST', `${what}: "${digest}" is not a digest (want sha256:<64 lowercase hex>)`, { digest });
  }
  return { algorithm, encoded };
}

/** A parsed sha256 digest (the only algorithm layerkit hashes with); ERR_UNSUPPORTED for sha512. */
export function parseSha256(digest: unknown, what = 'digest'): ParsedDigest {
  const d = parseDigest(digest, what);
  if (d.algorithm !== 'sha256') {
    throw new LayerkitError('ERR_UNSUPPORTED', `${what}: ${d.algorithm} digests are not supported (only sha256)`, { digest });
  }
  return d;
}

export function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** A new streaming SHA-256 from the platform's engine. */
export function newSha256(): Sha256Like {
  return sha256Engine().create();
}

/** `sha256:<hex>` of `bytes`. */
export function sha256Digest(bytes: Uint8Array, create: () => Sha256Like = newSha256): string {
  const h = create();
  h.update(bytes);
  return `sha256:${hex(h.digest())}`;
}
