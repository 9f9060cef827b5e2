/**
 * Image operations over an OCI image layout: init, add a layer (from a layer blob or straight
 * from a diff of two trees), list, inspect, export to docker-archive. Unpack/flatten build on
 * OciLayout.layers() (each layer's blob and verified tar stream with its digest and diffID).
 */
import type { FsLike } from '../fs/types.ts';
import type { StoreFsLike } from '../fs/store-types.ts';
import { LayerkitError } from '../errors.ts';
import { OciLayout, type AddLayerOptions, type NewLayer, type ResolvedImage } from '../oci/layout/layout.ts';
import type { Descriptor, Platform } from '../oci/layout/descriptor.ts';
import { dockerArchive, type DockerArchiveOptions } from '../oci/docker-archive.ts';
import type { HistoryEntry } from '../oci/image-config.ts';
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
  const w = await layout.blobs.writer();
  let r: DiffResult;
  try {
    r = await diff(treeFs, oldSpec, newSpec, (chunk) => w.write(chunk), options.diff);
  } catch (e) {
    await w.abort();
    throw e;
  }
  const stored = await w.commit(r.digest);
  if (stored.size !== r.size) throw new LayerkitError('ERR_DIGEST_MISMATCH', `layer ${r.digest}: stored ${stored.size} bytes, wrote ${r.size}`, { digest: r.digest });
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
