/** OCI content descriptors (image-spec descriptor.md) and their validation when read. */
import { LayerkitError } from '../../errors.ts';
import { parseDigest } from '../digest.ts';

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

export function corrupt(what: string, why: string, data: Record<string, unknown> = {}): LayerkitError {
  return new LayerkitError('ERR_IMAGE_CORRUPT', `${what}: ${why}`, data);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Check that `v` is a descriptor (mediaType, digest, size; annotations string->string). */
export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v)) throw corrupt(what, 'not a descriptor object');
  if (typeof v.mediaType !== 'string' || v.mediaType === '') throw corrupt(what, 'mediaType missing');
  parseDigest(v.digest, `${what} digest`);
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) throw corrupt(what, `size ${JSON.stringify(v.size)} is not a non-negative integer`);
  if (v.annotations !== undefined) {
    if (!isObject(v.annotations) || Object.values(v.annotations).some((x) => typeof x !== 'string')) {
      throw corrupt(what, 'annotations must map strings to strings');
    }
  }
  if (v.platform !== undefined) {
    if (!isObject(v.platform) || typeof v.platform.architecture !== 'string' || typeof v.platform.os !== 'string') {
      throw corrupt(what, 'platform needs string architecture and os');
    }
  }
  return v as unknown as Descriptor;
}
