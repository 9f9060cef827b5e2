/**
 * OCI media types (image-spec media-types.md), the Docker schema 2 types OCI tools still meet
 * (skopeo and docker-archive), and the compressions layerkit writes and reads.
 */
import { LayerkitError } from '../errors.ts';

export const MEDIA_TYPE_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const MEDIA_TYPE_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MEDIA_TYPE_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

export const MEDIA_TYPE_IMAGE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_IMAGE_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_TYPE_IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';

/** Docker image manifest schema 2 (what `docker save` / registries v2 use). */
export const MEDIA_TYPE_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MEDIA_TYPE_DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MEDIA_TYPE_DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';

export type Compression = 'none' | 'gzip' | 'zstd';

export function layerMediaType(compression: Compression): string {
  switch (compression) {
    case 'none': return MEDIA_TYPE_LAYER;
    case 'gzip': return MEDIA_TYPE_LAYER_GZIP;
    case 'zstd': return MEDIA_TYPE_LAYER_ZSTD;
  }
}

/**
 * Every layer media type layerkit reads, with its compression. The nondistributable OCI types are
 * deprecated (image-spec 1.1) but still valid; their blobs are read like the others.
 */
const LAYER_TYPES: ReadonlyMap<string, Compression> = new Map<string, Compression>([
  [MEDIA_TYPE_LAYER, 'none'],
  [MEDIA_TYPE_LAYER_GZIP, 'gzip'],
  [MEDIA_TYPE_LAYER_ZSTD, 'zstd'],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar', 'none'],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'gzip'],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar+zstd', 'zstd'],
  ['application/vnd.docker.image.rootfs.diff.tar', 'none'],
  ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'gzip'],
  ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'gzip'],
  ['application/vnd.docker.image.rootfs.diff.tar.zstd', 'zstd'],
]);

export function isLayerMediaType(mediaType: string): boolean {
  return LAYER_TYPES.has(mediaType);
}

/** The compression of a layer media type; ERR_UNKNOWN_MEDIA_TYPE for anything else. */
export function layerCompression(mediaType: string): Compression {
  const c = LAYER_TYPES.get(mediaType);
  if (c === undefined) {
    throw new LayerkitError('ERR_UNKNOWN_MEDIA_TYPE', `unknown layer media type "${mediaType}" (known: ${[...LAYER_TYPES.keys()].join(', ')})`, { mediaType });
  }
  return c;
}

export function isManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType === MEDIA_TYPE_IMAGE_MANIFEST || mediaType === MEDIA_TYPE_DOCKER_MANIFEST;
}

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === MEDIA_TYPE_IMAGE_INDEX || mediaType === MEDIA_TYPE_DOCKER_MANIFEST_LIST;
}

export function isConfigMediaType(mediaType: string | undefined): boolean {
  return mediaType === MEDIA_TYPE_IMAGE_CONFIG || mediaType === MEDIA_TYPE_DOCKER_CONFIG;
}
