/**
 * The end of every container commit: a layer streamed into the layout's blob store
 * (OciLayout.blobs.store: temp name, verified, renamed), then config, manifest and index.json (layout.addLayer: atomic per file,
 * index.json last) with a history entry. Farm and union containers differ only in how the layer
 * is produced.
 */
import { wrapError } from '../errors.ts';
import type { HistoryEntry } from '../oci/image-config.ts';
import type { Descriptor } from '../oci/layout/descriptor.ts';
import type { OciLayout, ResolvedImage } from '../oci/layout/layout.ts';

export interface ProducedLayer {
  digest: string;
  diffID: string;
  size: number;
  mediaType: string;
}

export interface LayerCommitOptions {
  message?: string;
  author?: string;
  createdBy?: string;
  created?: string;
}

export async function commitLayerToLayout<R extends ProducedLayer>(
  layout: OciLayout, base: ResolvedImage, tag: string, name: string, options: LayerCommitOptions,
  produce: (sink: (chunk: Uint8Array) => Promise<void>) => Promise<R>,
): Promise<{ manifest: Descriptor; layer: ProducedLayer; result: R }> {
  let r: R;
  try {
    r = await layout.blobs.store(produce);
  } catch (e) {
    throw wrapError(e, `container commit ${name}`);
  }
  const created = options.created ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const history: HistoryEntry = { created, created_by: options.createdBy ?? `layerkit container commit ${name}` };
  if (options.author !== undefined) history.author = options.author;
  if (options.message !== undefined) history.comment = options.message;
  const layer = { mediaType: r.mediaType, digest: r.digest, size: r.size, diffID: r.diffID };
  const manifest = await layout.addLayer(tag, layer, { baseImage: base, history, created });
  return { manifest, layer, result: r };
}
