/**
 * docker-archive (the `docker save` format, as `docker load` and `skopeo copy docker-archive:`
 * read it): a tar holding the image config as `<config hex>.json`, each layer uncompressed as
 * `<diffID hex>.tar`, and `manifest.json` = [{Config, RepoTags, Layers}]. Written with the repo's
 * tar encoder, deterministic (mtime 0, mode 0644, owner 0:0) and streaming: a compressed layer is
 * decompressed twice (once to learn the tar size the header needs, once for the body), both
 * passes verified against the diffID, so no layer is ever held in memory.
 */
import { LayerkitError } from '../errors.ts';
import { packTar, type TarItem } from '../tar/writer.ts';
import type { ResolvedImage } from './layout/layout.ts';
import type { BlobStore } from './layout/blobs.ts';
import { encodeJson } from './layout/index-file.ts';

export interface DockerArchiveOptions {
  /** Names for manifest.json RepoTags, each `name:tag` (docker load tags the image with them). */
  repoTags?: string[];
}

const REPO_TAG = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function checkRepoTag(t: string): void {
  if (!REPO_TAG.test(t)) {
    throw new LayerkitError('ERR_INVALID_TAG', `"${t}" is not a docker repository tag (name:tag, lowercase name)`, { tag: t });
  }
}

const fileHeader = (name: string, size: number) => ({ name, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, size, mtime: 0 });

/** The docker-archive tar of `image`, as chunks. */
export async function* dockerArchive(blobs: BlobStore, image: ResolvedImage, options: DockerArchiveOptions = {}): AsyncGenerator<Uint8Array> {
  const repoTags = options.repoTags ?? [];
  for (const t of repoTags) checkRepoTag(t);
  yield* packTar(items(blobs, image, repoTags));
}

async function* items(blobs: BlobStore, image: ResolvedImage, repoTags: string[]): AsyncGenerator<TarItem> {
  const configBytes = await blobs.readBytes(image.manifest.config);
  const configName = `${image.manifest.config.digest.slice('sha256:'.length)}.json`;
  yield { header: fileHeader(configName, configBytes.length), body: [configBytes] };
  const names: string[] = [];
  const written = new Set<string>();
  for (const layer of image.layers) {
    const name = `${layer.diffID.slice('sha256:'.length)}.tar`;
    names.push(name);
    if (written.has(name)) continue; // the same tar twice in a stack: one file, named twice
    written.add(name);
    let size = 0;
    if (layer.compression === 'none') {
      size = layer.size;
    } else {
      for await (const c of layer.tar()) size += c.length;
    }
    yield { header: fileHeader(name, size), body: layer.tar() };
  }
  const manifest = encodeJson([{ Config: configName, RepoTags: repoTags, Layers: names }]);
  yield { header: fileHeader('manifest.json', manifest.length), body: [manifest] };
}
