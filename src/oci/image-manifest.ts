/** OCI image manifests (image-spec manifest.md); Docker schema 2 manifests read the same way. */
import { LayerkitError } from '../errors.ts';
import { corrupt, isObject, parseDescriptor, type Descriptor } from './layout/descriptor.ts';
import {
  MEDIA_TYPE_IMAGE_MANIFEST, isConfigMediaType, isIndexMediaType, isManifestMediaType, layerCompression,
} from './media-types.ts';

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/**
 * Check a manifest document: schemaVersion 2, a config descriptor of a known config type, layer
 * descriptors of known layer types (ERR_UNKNOWN_MEDIA_TYPE otherwise). `descMediaType` is the
 * media type of the descriptor that led here: an index there is an error that says so.
 */
export function parseManifest(v: unknown, what: string, descMediaType?: string): ImageManifest {
  if (!isObject(v)) throw corrupt(what, 'not a JSON object');
  const mt = (typeof v.mediaType === 'string' ? v.mediaType : undefined) ?? descMediaType;
  if (isIndexMediaType(mt) || (mt === undefined && Array.isArray(v.manifests))) {
    throw corrupt(what, 'is an image index, not an image manifest');
  }
  if (mt !== undefined && !isManifestMediaType(mt)) {
    throw new LayerkitError('ERR_UNKNOWN_MEDIA_TYPE', `${what}: unknown manifest media type "${mt}"`, { mediaType: mt });
  }
  if (v.schemaVersion !== 2) throw corrupt(what, `schemaVersion ${JSON.stringify(v.schemaVersion)} is not 2`);
  const config = parseDescriptor(v.config, `${what} config`);
  if (!isConfigMediaType(config.mediaType)) {
    throw new LayerkitError('ERR_UNKNOWN_MEDIA_TYPE', `${what}: config media type "${config.mediaType}" is not an image config`, { mediaType: config.mediaType });
  }
  if (!Array.isArray(v.layers)) throw corrupt(what, 'layers is not an array');
  v.layers.forEach((l, i) => {
    const d = parseDescriptor(l, `${what} layers[${i}]`);
    try {
      layerCompression(d.mediaType);
    } catch (e) {
      throw new LayerkitError('ERR_UNKNOWN_MEDIA_TYPE', `${what} layers[${i}] (${d.digest}): ${(e as Error).message}`, { mediaType: d.mediaType, digest: d.digest });
    }
  });
  return v as ImageManifest;
}

/** A new OCI manifest (keys in the order the spec lists them: stable bytes). */
export function newManifest(config: Descriptor, layers: Descriptor[], annotations?: Record<string, string>): ImageManifest {
  const m: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_IMAGE_MANIFEST,
    config: plainDescriptor(config),
    layers: layers.map(plainDescriptor),
  };
  if (annotations && Object.keys(annotations).length > 0) m.annotations = annotations;
  return m;
}

function plainDescriptor(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.urls) out.urls = d.urls;
  if (d.annotations) out.annotations = d.annotations;
  return out;
}
