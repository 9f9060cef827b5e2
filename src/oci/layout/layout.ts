/**
 * An OCI image layout directory: blobs, index.json tags, and the images they name.
 *
 * Reading resolves a tag to its manifest and config (through nested image indexes, by platform),
 * verifying every document against its descriptor, and hands out the layers as
 * `{digest, diffID, chainID, mediaType, compression}` with verified streams of the blob and of
 * the uncompressed tar: everything an unpacker needs, in order (layers()).
 * Writing adds a layer to a tagged image: the blob first (stored under its digest), then the new
 * config, then the new manifest, then index.json replaced atomically. A crash at any point leaves
 * the index naming the old image or the new one, never a half-written one.
 */
import { LayerkitError } from '../../errors.ts';
import type { StoreFsLike } from '../../fs/store-types.ts';
import { acquireLock } from '../../fs/lock-file.ts';
import type { Sha256Like } from '../../hash/engines.ts';
import { chainIDs } from '../chain-id.ts';
import { decompress, decompressor, detectCompression, type DecompressFn } from '../decompress.ts';
import { hex, newSha256 } from '../digest.ts';
import { emptyConfig, parseConfig, withLayer, type HistoryEntry, type ImageConfig } from '../image-config.ts';
import { newManifest, parseManifest, type ImageManifest } from '../image-manifest.ts';
import {
  MEDIA_TYPE_IMAGE_CONFIG, MEDIA_TYPE_IMAGE_MANIFEST, isIndexMediaType, isManifestMediaType, layerCompression,
  layerMediaType, type Compression,
} from '../media-types.ts';
import { BlobStore } from './blobs.ts';
import type { Descriptor, Platform } from './descriptor.ts';
import {
  LAYOUT_FILE, checkTag, emptyIndex, encodeJson, parseIndex, readIndex, readLayoutFile, tagOf, withTag, writeIndex,
  writeLayoutFile, type ImageIndex,
} from './index-file.ts';

export interface LayoutOptions {
  sha256?: () => Sha256Like;
  decompress?: DecompressFn;
  /** How long to wait for another process's index.json update (default 30 s): ERR_LAYOUT_LOCKED after. */
  lockTimeoutMs?: number;
}

/** The lock file beside index.json while it is read, changed and replaced (removed after). */
export const INDEX_LOCK = 'index.json.lock';

export interface ImageLayer {
  descriptor: Descriptor;
  mediaType: string;
  digest: string;
  size: number;
  compression: Compression;
  diffID: string;
  chainID: string;
  /** The blob as stored, verified against digest and size. */
  blob(): AsyncIterable<Uint8Array>;
  /** The uncompressed tar, verified against the diffID (ERR_DIFFID_MISMATCH at the end otherwise). */
  tar(): AsyncIterable<Uint8Array>;
}

export interface ResolvedImage {
  /** The tag asked for (or the only image's tag), if any. */
  tag?: string;
  /** The manifest's descriptor (from index.json or a nested index). */
  descriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
  layers: ImageLayer[];
}

export interface ImageListing {
  tag?: string;
  descriptor: Descriptor;
}

export interface AddLayerInput {
  mediaType: string;
  digest: string;
  size: number;
  diffID: string;
}

export interface AddLayerOptions {
  /** Start from this tag's image instead of `tag`'s own (which need not exist then). */
  base?: string;
  /** The history entry for the layer (default: none given -> {created_by: "layerkit"}). */
  history?: HistoryEntry;
  /** For a new image (no base): its platform. Default linux/amd64. */
  platform?: Platform;
  /** RFC 3339 creation time for a new image's config (the history entry carries its own). */
  created?: string;
  /** Start from this image (e.g. resolveManifest of a recorded digest); overrides `base`. */
  baseImage?: ResolvedImage;
}

export interface NewLayer extends AddLayerInput {}

const MAX_INDEX_DEPTH = 4;

export class OciLayout {
  readonly fs: StoreFsLike;
  readonly root: string;
  readonly blobs: BlobStore;
  readonly #sha256: () => Sha256Like;
  readonly #decompress: DecompressFn | undefined;
  readonly #lockTimeout: number;

  private constructor(fs: StoreFsLike, root: string, options: LayoutOptions) {
    this.fs = fs;
    this.root = root.length > 1 ? root.replace(/\/+$/, '') : root;
    this.#sha256 = options.sha256 ?? newSha256;
    this.#decompress = options.decompress;
    this.#lockTimeout = options.lockTimeoutMs ?? 30_000;
    this.blobs = new BlobStore(fs, this.root, this.#sha256);
  }

  /** Create an empty layout at `root` (made if missing). ERR_LAYOUT_EXISTS if it already holds one. */
  static async init(fs: StoreFsLike, root: string, options: LayoutOptions = {}): Promise<OciLayout> {
    const l = new OciLayout(fs, root, options);
    let exists = true;
    try {
      await fs.lstat(`${l.root}/${LAYOUT_FILE}`);
    } catch {
      exists = false;
    }
    if (exists) throw new LayerkitError('ERR_LAYOUT_EXISTS', `${root} already holds an OCI image layout`, { path: root });
    await fs.mkdirp(`${l.root}/blobs/sha256`);
    // index.json first: a directory with oci-layout is a layout, and then it must have an index.
    await writeIndex(fs, l.root, emptyIndex());
    await writeLayoutFile(fs, l.root);
    return l;
  }

  /** Open an existing layout: ERR_NOT_A_LAYOUT unless oci-layout (1.x) and index.json are there. */
  static async open(fs: StoreFsLike, root: string, options: LayoutOptions = {}): Promise<OciLayout> {
    const l = new OciLayout(fs, root, options);
    await readLayoutFile(fs, l.root);
    await readIndex(fs, l.root);
    return l;
  }

  index(): Promise<ImageIndex> {
    return readIndex(this.fs, this.root);
  }

  /** The descriptors of index.json, with their tags, in index order. */
  async list(): Promise<ImageListing[]> {
    return (await this.index()).manifests.map((descriptor) => ({ tag: tagOf(descriptor), descriptor }));
  }

  async #json(desc: Descriptor, what: string): Promise<unknown> {
    const bytes = await this.blobs.readBytes(desc);
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (e) {
      throw new LayerkitError('ERR_IMAGE_CORRUPT', `${what} ${desc.digest}: not valid JSON: ${(e as Error).message}`, { digest: desc.digest });
    }
  }

  /** The descriptor of `tag` in index.json (or the only image, without a tag). */
  async find(tag?: string): Promise<Descriptor> {
    const all = await this.list();
    if (tag === undefined) {
      if (all.length === 1) return all[0]!.descriptor;
      throw new LayerkitError(all.length === 0 ? 'ERR_TAG_NOT_FOUND' : 'ERR_AMBIGUOUS_IMAGE',
        all.length === 0 ? `${this.root} holds no image` : `${this.root} holds ${all.length} images: name one (tags: ${tagList(all)})`,
        { path: this.root, tags: all.map((x) => x.tag) });
    }
    const hits = all.filter((x) => x.tag === tag);
    if (hits.length === 0) {
      throw new LayerkitError('ERR_TAG_NOT_FOUND', `${this.root} has no image tagged "${tag}" (tags: ${tagList(all)})`, { path: this.root, tag, tags: all.map((x) => x.tag) });
    }
    if (hits.length > 1 && !hits.every((h) => h.descriptor.digest === hits[0]!.descriptor.digest)) {
      // image-layout.md allows one name on several descriptors (e.g. per platform): treat as an index.
      return { mediaType: 'layerkit/tag-set', digest: hits[0]!.descriptor.digest, size: 0, annotations: { tag } };
    }
    return hits[0]!.descriptor;
  }

  /** Resolve `tag` (or the only image) to its manifest, config and layers. */
  async resolve(tag?: string, platform?: Partial<Platform>): Promise<ResolvedImage> {
    if (tag !== undefined) checkTag(tag);
    let desc = await this.find(tag);
    if (desc.mediaType === 'layerkit/tag-set') {
      const hits = (await this.list()).filter((x) => x.tag === tag).map((x) => x.descriptor);
      desc = pickPlatform(hits, platform, `tag "${tag}"`);
    }
    for (let depth = 0; isIndexMediaType(desc.mediaType); depth++) {
      if (depth >= MAX_INDEX_DEPTH) throw new LayerkitError('ERR_IMAGE_CORRUPT', `image index ${desc.digest}: nested more than ${MAX_INDEX_DEPTH} deep`, { digest: desc.digest });
      const nested = parseIndex(await this.#json(desc, 'image index'), `image index ${desc.digest}`);
      desc = pickPlatform(nested.manifests, platform, `image index ${desc.digest}`);
    }
    return this.resolveManifest(desc, tag ?? tagOf(desc));
  }

  /**
   * The image of a manifest descriptor (e.g. one recorded earlier, whatever its tag names now):
   * its manifest, config and layers, verified like resolve().
   */
  async resolveManifest(desc: Descriptor, tag?: string): Promise<ResolvedImage> {
    if (!isManifestMediaType(desc.mediaType)) {
      throw new LayerkitError('ERR_UNKNOWN_MEDIA_TYPE', `${tag ? `tag "${tag}"` : 'image'} ${desc.digest}: media type "${desc.mediaType}" is not an image manifest or index`, { mediaType: desc.mediaType, digest: desc.digest });
    }
    const manifest = parseManifest(await this.#json(desc, 'manifest'), `manifest ${desc.digest}`, desc.mediaType);
    const config = parseConfig(await this.#json(manifest.config, 'config'), `config ${manifest.config.digest}`);
    const diffIDs = config.rootfs.diff_ids;
    if (diffIDs.length !== manifest.layers.length) {
      throw new LayerkitError('ERR_IMAGE_CORRUPT', `manifest ${desc.digest} has ${manifest.layers.length} layers but config ${manifest.config.digest} lists ${diffIDs.length} diff_ids`, {
        digest: desc.digest, layers: manifest.layers.length, diffIDs: diffIDs.length,
      });
    }
    const chains = chainIDs(diffIDs, this.#sha256);
    const layers = manifest.layers.map((d, i) => this.#layer(d, diffIDs[i]!, chains[i]!));
    return { tag, descriptor: desc, manifest, config, layers };
  }

  /** The layers of `tag` in order (bottom first): the input of an unpack. */
  async layers(tag?: string, platform?: Partial<Platform>): Promise<ImageLayer[]> {
    return (await this.resolve(tag, platform)).layers;
  }

  #layer(d: Descriptor, diffID: string, chainID: string): ImageLayer {
    const compression = layerCompression(d.mediaType);
    const blobs = this.blobs;
    const create = this.#sha256;
    const fn = this.#decompress;
    return {
      descriptor: d, mediaType: d.mediaType, digest: d.digest, size: d.size, compression, diffID, chainID,
      blob: () => blobs.read(d),
      tar: () => explainDecompressError(verifyDiffID(decompress(blobs.read(d), compression, fn ?? decompressor()), diffID, d.digest, create), blobs, d),
    };
  }

  /**
   * Store a layer blob from a stream and compute its identities. The compression comes from
   * `mediaType` or, without one, from the first bytes (gzip, zstd, else an uncompressed tar);
   * a declared type that disagrees with the bytes is refused. The diffID is the sha256 of the
   * decompressed bytes. Nothing is stored unless the whole stream was read and decompressed.
   */
  async ingestLayer(source: AsyncIterable<Uint8Array>, options: { mediaType?: string; name?: string } = {}): Promise<NewLayer> {
    const name = options.name ?? 'layer';
    const declared = options.mediaType === undefined ? undefined : layerCompression(options.mediaType);
    const { head, rest } = await peek(source, 512);
    const sniffed = detectCompression(head); // the one magic-byte check (A1), shared with apply
    if (declared !== undefined && declared !== sniffed) {
      throw new LayerkitError('ERR_INVALID_ARG', `${name}: the bytes are ${sniffed === 'none' ? 'not compressed' : `${sniffed} data`} but the media type is ${options.mediaType}`, { mediaType: options.mediaType, detected: sniffed });
    }
    const compression = declared ?? sniffed;
    const w = await this.blobs.writer();
    const diffHash = this.#sha256();
    let sourceDone = false;
    const start = new Uint8Array(512);
    let startLen = 0;
    async function* tapped(): AsyncGenerator<Uint8Array> {
      for await (const c of rest) {
        await w.write(c);
        yield c;
      }
      sourceDone = true;
    }
    try {
      for await (const c of decompress(tapped(), compression, this.#decompress ?? decompressor())) {
        if (startLen < 512) {
          const n = Math.min(512 - startLen, c.length);
          start.set(c.subarray(0, n), startLen);
          startLen += n;
          if (startLen === 512) checkTarStart(start, name);
        }
        if (compression !== 'none') diffHash.update(c); // uncompressed: the diffID is the digest
      }
      if (startLen < 512) checkTarStart(start.subarray(0, startLen), name);
      if (!sourceDone) throw new LayerkitError('ERR_COMPRESSION', `${name}: data after the end of the ${compression} stream`, { compression });
    } catch (e) {
      await w.abort();
      throw e;
    }
    const { digest, size } = await w.commit();
    const diffID = compression === 'none' ? digest : `sha256:${hex(diffHash.digest())}`;
    return { mediaType: options.mediaType ?? layerMediaType(compression), digest, size, diffID };
  }

  /**
   * Add a stored layer on top of `base` (default: `tag`'s own image; a new image when `tag` does
   * not exist yet) and point `tag` at the result. Returns the new manifest's descriptor.
   */
  async addLayer(tag: string, layer: AddLayerInput, options: AddLayerOptions = {}): Promise<Descriptor> {
    checkTag(tag);
    layerCompression(layer.mediaType);
    const size = await this.blobs.size(layer.digest);
    if (size !== layer.size) {
      throw new LayerkitError('ERR_DIGEST_MISMATCH', `layer ${layer.digest}: ${size} bytes stored, ${layer.size} given`, { digest: layer.digest, size, expectedSize: layer.size });
    }
    const baseTag = options.base ?? tag;
    let base: ResolvedImage | undefined = options.baseImage;
    if (!base) {
      try {
        base = await this.resolve(baseTag, options.platform);
      } catch (e) {
        if (!(e instanceof LayerkitError && e.code === 'ERR_TAG_NOT_FOUND' && options.base === undefined)) throw e;
      }
    }
    const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
    const config0 = base?.config ?? emptyConfig(platform, options.created);
    const config = withLayer(config0, layer.diffID, options.history ?? { created_by: 'layerkit image add-layer' });
    const configDesc = { mediaType: MEDIA_TYPE_IMAGE_CONFIG, ...(await this.blobs.put(encodeJson(config))) };
    const layers = [...(base?.manifest.layers.map(ociLayer) ?? []), { mediaType: layer.mediaType, digest: layer.digest, size: layer.size }];
    const manifest = newManifest(configDesc, layers, base?.manifest.annotations);
    const manDesc: Descriptor = {
      mediaType: MEDIA_TYPE_IMAGE_MANIFEST,
      ...(await this.blobs.put(encodeJson(manifest))),
      platform: platformOf(config),
    };
    await this.tag(tag, manDesc);
    return manDesc;
  }

  /**
   * Point `tag` at `desc` (whose blob must be in the layout): index.json replaced atomically, read
   * and written under index.json.lock where the fs can lock (another process tagging the same
   * layout at the same moment would otherwise lose its tag: read, read, write, write).
   */
  async tag(tag: string, desc: Descriptor): Promise<void> {
    checkTag(tag);
    await this.blobs.size(desc.digest);
    await this.#underIndexLock(`tag ${tag}`, async () => {
      await writeIndex(this.fs, this.root, withTag(await this.index(), tag, desc));
    });
  }

  async #underIndexLock(op: string, fn: () => Promise<void>): Promise<void> {
    const port = this.fs.lock;
    if (!port) return fn();
    const held = await acquireLock(port, `${this.root}/${INDEX_LOCK}`, op, this.#lockTimeout, {
      what: `image layout ${this.root}`, code: 'ERR_LAYOUT_LOCKED',
    });
    try {
      await fn();
    } finally {
      await held.release();
    }
  }
}

function tagList(all: ImageListing[]): string {
  const tags = all.map((x) => x.tag ?? `(untagged ${x.descriptor.digest.slice(0, 19)})`);
  return tags.length ? tags.join(', ') : 'none';
}

function platformOf(c: ImageConfig): Platform {
  const p: Platform = { architecture: c.architecture, os: c.os };
  if (c.variant) p.variant = c.variant;
  return p;
}

function pickPlatform(ds: Descriptor[], want: Partial<Platform> | undefined, what: string): Descriptor {
  const matches = ds.filter((d) => !want || ((!want.os || d.platform?.os === want.os)
    && (!want.architecture || d.platform?.architecture === want.architecture)
    && (!want.variant || d.platform?.variant === want.variant)));
  if (matches.length === 1) return matches[0]!;
  const plats = ds.map((d) => d.platform ? `${d.platform.os}/${d.platform.architecture}${d.platform.variant ? `/${d.platform.variant}` : ''}` : '(no platform)');
  if (matches.length === 0) {
    throw new LayerkitError('ERR_TAG_NOT_FOUND', `${what}: no manifest for platform ${JSON.stringify(want ?? {})} (has: ${plats.join(', ') || 'none'})`, { platforms: plats });
  }
  throw new LayerkitError('ERR_AMBIGUOUS_IMAGE', `${what}: ${matches.length} manifests match; choose a platform (has: ${plats.join(', ')})`, { platforms: plats });
}

/** The OCI equivalent of a Docker layer media type (a new manifest is OCI throughout). */
function ociLayer(d: Descriptor): Descriptor {
  const map: Record<string, string> = {
    'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.oci.image.layer.v1.tar',
    'application/vnd.docker.image.rootfs.diff.tar.gzip': 'application/vnd.oci.image.layer.v1.tar+gzip',
    'application/vnd.docker.image.rootfs.diff.tar.zstd': 'application/vnd.oci.image.layer.v1.tar+zstd',
    'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip': 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  };
  return { ...d, mediaType: map[d.mediaType] ?? d.mediaType };
}

/** Pass `source` through, hashing it; the last chunk is released only if the hash is `diffID`. */
async function* verifyDiffID(source: AsyncIterable<Uint8Array>, diffID: string, digest: string, create: () => Sha256Like): AsyncGenerator<Uint8Array> {
  const h = create();
  let held: Uint8Array | undefined;
  for await (const c of source) {
    h.update(c);
    if (held) yield held;
    held = c;
  }
  const got = `sha256:${hex(h.digest())}`;
  if (got !== diffID) {
    throw new LayerkitError('ERR_DIFFID_MISMATCH', `layer ${digest}: its uncompressed tar hashes to ${got}, the config says ${diffID}`, { digest, diffID, actual: got });
  }
  if (held) yield held;
}

/**
 * A damaged compressed blob usually breaks the decompressor before the digest check at its end
 * is reached. Then the blob is read once more, whole, to say what is wrong: ERR_DIGEST_MISMATCH
 * when its bytes are not the ones the digest names (else the decompressor's own error stands).
 */
async function* explainDecompressError(source: AsyncIterable<Uint8Array>, blobs: BlobStore, d: Descriptor): AsyncGenerator<Uint8Array> {
  try {
    yield* source;
  } catch (e) {
    if (e instanceof LayerkitError && e.code === 'ERR_COMPRESSION') {
      try {
        for await (const _ of blobs.read(d)) { /* hash only */ }
      } catch (verify) {
        if (verify instanceof LayerkitError && verify.code === 'ERR_DIGEST_MISMATCH') throw verify;
      }
    }
    throw e;
  }
}

/** The first `n` bytes (fewer at the end of the stream) and a stream of everything. */
async function peek(source: AsyncIterable<Uint8Array>, n: number): Promise<{ head: Uint8Array; rest: AsyncIterable<Uint8Array> }> {
  const it = source[Symbol.asyncIterator]();
  const got: Uint8Array[] = [];
  let len = 0;
  let done = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    got.push(r.value);
    len += r.value.length;
  }
  const head = new Uint8Array(len);
  let off = 0;
  for (const g of got) {
    head.set(g, off);
    off += g.length;
  }
  async function* rest(): AsyncGenerator<Uint8Array> {
    if (len > 0) yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { head: head.subarray(0, Math.min(n, len)), rest: rest() };
}

/**
 * A light check that the (uncompressed) layer starts like a tar: a first 512-byte block that is
 * all zeros (an empty archive) or carries a valid header checksum. Catches xz, bzip2 or random
 * files handed in as layers before they are stored. Not a tar reader: nothing else is parsed.
 */
function checkTarStart(first: Uint8Array, name: string): void {
  const bad = (why: string) => new LayerkitError('ERR_INVALID_ARG', `${name}: not a tar archive (${why}); layers are tar, tar+gzip or tar+zstd`, { name });
  if (first.length < 512) throw bad(first.length === 0 ? 'empty' : `only ${first.length} bytes`);
  const block = first.subarray(0, 512);
  if (block.every((b) => b === 0)) return;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  const field = new TextDecoder('latin1').decode(block.subarray(148, 156)).replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]+$/.test(field) || parseInt(field, 8) !== sum) throw bad('the first header block has no valid checksum');
}
