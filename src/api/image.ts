/**
 * Image operations over an OCI image layout: init, add a layer (from a layer blob or straight
 * from a diff of two trees), list, inspect, export to docker-archive, unpack to a directory,
 * flatten to a one-layer image. Unpack and flatten build on OciLayout.resolve() (the layers in
 * order with digest, size and diffID) and hand the blobs to applyLayers / flattenLayers, which
 * hash them while reading and fail on any mismatch (so the blobs are read unverified here and
 * hashed once).
 */
import type { FsLike } from '../fs/types.ts';
import type { StoreFsLike } from '../fs/store-types.ts';
import { OciLayout, type AddLayerOptions, type NewLayer, type ResolvedImage } from '../oci/layout/layout.ts';
import type { Descriptor, Platform } from '../oci/layout/descriptor.ts';
import { dockerArchive, type DockerArchiveOptions } from '../oci/docker-archive.ts';
import type { HistoryEntry, ImageConfig } from '../oci/image-config.ts';
import { applyLayers, type ApplyOptions, type ApplyResult, type LayerSource } from '../oci/apply.ts';
import { flattenLayers, type FlattenOptions, type FlattenSource } from '../oci/flatten.ts';
import { newManifest } from '../oci/image-manifest.ts';
import { storeScratch } from '../oci/scratch.ts';
import { TEMP_DIR } from '../oci/layout/blobs.ts';
import { checkTag, encodeJson } from '../oci/layout/index-file.ts';
import { MEDIA_TYPE_IMAGE_CONFIG, MEDIA_TYPE_IMAGE_MANIFEST } from '../oci/media-types.ts';
import { diff, type DiffOptions, type DiffResult } from './diff.ts';

export { OciLayout };

export function initImageLayout(fs: StoreFsLike, dir: string): Promise<OciLayout> {
  return OciLayout.init(fs, dir);
}

export interface AddedLayer extends NewLayer {
  /** The image's new manifest descriptor (index.json now tags it). */
  manifest: Descriptor;
}

/** Store the layer blob `source` (tar, tar+gzip or tar+zstd) in the layout and add it to `tag`. */
export async function addLayerBlob(fs: StoreFsLike, dir: string, tag: string, source: AsyncIterable<Uint8Array>, options: AddLayerOptions & { mediaType?: string; name?: string } = {}): Promise<AddedLayer> {
  const layout = await OciLayout.open(fs, dir);
  const layer = await layout.ingestLayer(source, { mediaType: options.mediaType, name: options.name });
  const manifest = await layout.addLayer(tag, layer, options);
  return { ...layer, manifest };
}

/**
 * diff(OLD, NEW) written straight into the layout's blob store (no layer file on the side),
 * then added to `tag`. `treeFs` reads the trees; the layout is written through `fs`.
 */
export async function addLayerFromDiff(fs: StoreFsLike, dir: string, tag: string, treeFs: FsLike, oldSpec: string, newSpec: string,
  options: AddLayerOptions & { diff?: DiffOptions } = {}): Promise<AddedLayer & { diff: DiffResult }> {
  const layout = await OciLayout.open(fs, dir);
  const r = await layout.blobs.store((sink) => diff(treeFs, oldSpec, newSpec, sink, options.diff));
  const layer = { mediaType: r.mediaType, digest: r.digest, size: r.size, diffID: r.diffID };
  const manifest = await layout.addLayer(tag, layer, options);
  return { ...layer, manifest, diff: r };
}

export interface ImageSummary {
  tag?: string;
  digest: string;
  mediaType: string;
  size: number;
  platform?: Platform;
}

export async function listImages(fs: StoreFsLike, dir: string): Promise<ImageSummary[]> {
  const layout = await OciLayout.open(fs, dir);
  return (await layout.list()).map(({ tag, descriptor: d }) => {
    const s: ImageSummary = { tag, digest: d.digest, mediaType: d.mediaType, size: d.size };
    if (d.platform) s.platform = d.platform;
    return s;
  });
}

export interface ImageDetails {
  tag?: string;
  manifest: { digest: string; mediaType: string; size: number };
  config: { digest: string; mediaType: string; size: number };
  created?: string;
  architecture: string;
  os: string;
  variant?: string;
  layers: { digest: string; mediaType: string; size: number; diffID: string; chainID: string }[];
  history: HistoryEntry[];
  annotations?: Record<string, string>;
}

export function describeImage(r: ResolvedImage): ImageDetails {
  const d: ImageDetails = {
    tag: r.tag,
    manifest: { digest: r.descriptor.digest, mediaType: r.descriptor.mediaType, size: r.descriptor.size },
    config: { digest: r.manifest.config.digest, mediaType: r.manifest.config.mediaType, size: r.manifest.config.size },
    created: r.config.created,
    architecture: r.config.architecture,
    os: r.config.os,
    layers: r.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size, diffID: l.diffID, chainID: l.chainID })),
    history: r.config.history ?? [],
  };
  if (r.config.variant) d.variant = r.config.variant;
  if (r.manifest.annotations) d.annotations = r.manifest.annotations;
  return d;
}

export async function inspectImage(fs: StoreFsLike, dir: string, tag?: string, platform?: Partial<Platform>): Promise<ImageDetails> {
  const layout = await OciLayout.open(fs, dir);
  return describeImage(await layout.resolve(tag, platform));
}

/** The docker-archive tar of `tag`, streamed (write it with an atomic sink). */
export async function exportDockerArchive(fs: StoreFsLike, dir: string, tag: string | undefined, options: DockerArchiveOptions & { platform?: Partial<Platform> } = {}): Promise<AsyncIterable<Uint8Array>> {
  const layout = await OciLayout.open(fs, dir);
  const image = await layout.resolve(tag, options.platform);
  return dockerArchive(layout.blobs, image, options);
}

/**
 * The image's layers for applyLayers / flattenLayers: blobs read unverified (size checked), since
 * both hash what they read against the digest and diffID given here: each blob is hashed once.
 */
function layerSources(layout: OciLayout, image: ResolvedImage): (LayerSource & FlattenSource)[] {
  return image.layers.map((l) => ({
    name: l.digest,
    blob: () => layout.blobs.readUnverified({ digest: l.digest, size: l.size }),
    digest: l.digest,
    diffID: l.diffID,
  }));
}

export interface UnpackResult extends ApplyResult {
  /** The manifest unpacked. */
  manifest: Descriptor;
}

/**
 * Unpack `tag`'s image into the directory `target` (which must exist): its layers applied in
 * order by applyLayers (untrusted input: safe paths, whiteouts, limits, the incomplete marker
 * until the last layer is verified), each checked against the manifest's digest and size and the
 * config's diffID. `options.fs` writes the target; the layout is read through `fs`.
 */
export async function unpackImage(fs: StoreFsLike, dir: string, tag: string | undefined, target: string,
  options: ApplyOptions & { platform?: Partial<Platform> }): Promise<UnpackResult> {
  const layout = await OciLayout.open(fs, dir);
  const image = await layout.resolve(tag, options.platform);
  const result = await applyLayers(layerSources(layout, image), target, options);
  return { ...result, manifest: image.descriptor };
}

export interface FlattenImageOptions extends Pick<FlattenOptions, 'limits' | 'compression' | 'level' | 'scratch'> {
  /** The history entry of the single layer (default {created_by: "layerkit image flatten"}). */
  history?: HistoryEntry;
  platform?: Partial<Platform>;
}

export interface FlattenedImage extends NewLayer {
  manifest: Descriptor;
  /** Layers of the source image; records read and written by flatten. */
  sourceLayers: number;
  records: number;
  written: number;
}

/**
 * A one-layer image equal to `tag`'s: its layers flattened (src/oci/flatten.ts) into one blob
 * written straight into the layout, a config that keeps the source's (platform, runtime config,
 * author) with rootfs.diff_ids = [the new diffID] and history = [one entry], a manifest, and
 * `newTag` pointed at it. The source image is untouched.
 */
export async function flattenImage(fs: StoreFsLike, dir: string, tag: string | undefined, newTag: string,
  options: FlattenImageOptions = {}): Promise<FlattenedImage> {
  // The survivor pass's sorted runs (default: files in the layout's temporary directory).
  checkTag(newTag);
  const layout = await OciLayout.open(fs, dir);
  const image = await layout.resolve(tag, options.platform);
  const r = await layout.blobs.store((sink) => flattenLayers(layerSources(layout, image), sink, { limits: options.limits, compression: options.compression ?? 'gzip', level: options.level, scratch: options.scratch ?? storeScratch(fs, `${dir}/${TEMP_DIR}`) }));
  const history = options.history ?? { created_by: 'layerkit image flatten' };
  const config: ImageConfig = { ...image.config, rootfs: { type: 'layers', diff_ids: [r.diffID] }, history: [history] };
  if (history.created !== undefined) config.created = history.created;
  const configDesc: Descriptor = { mediaType: MEDIA_TYPE_IMAGE_CONFIG, ...(await layout.blobs.put(encodeJson(config))) };
  const layer = { mediaType: r.mediaType, digest: r.digest, size: r.size, diffID: r.diffID };
  const manifest = newManifest(configDesc, [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }], image.manifest.annotations);
  const platform: Platform = { architecture: config.architecture, os: config.os };
  if (config.variant) platform.variant = config.variant;
  const manDesc: Descriptor = { mediaType: MEDIA_TYPE_IMAGE_MANIFEST, ...(await layout.blobs.put(encodeJson(manifest))), platform };
  await layout.tag(newTag, manDesc);
  return { ...layer, manifest: manDesc, sourceLayers: image.layers.length, records: r.records, written: r.written };
}
