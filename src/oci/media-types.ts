/** OCI media types (image-spec media-types.md) and the compressions layerkit writes. */

export const MEDIA_TYPE_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const MEDIA_TYPE_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MEDIA_TYPE_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

export type Compression = 'none' | 'gzip' | 'zstd';

export function layerMediaType(compression: Compression): string {
  switch (compression) {
    case 'none': return MEDIA_TYPE_LAYER;
    case 'gzip': return MEDIA_TYPE_LAYER_GZIP;
    case 'zstd': return MEDIA_TYPE_LAYER_ZSTD;
  }
}
