/**
 * The two fixed files of an OCI image layout (image-spec image-layout.md): `oci-layout`
 * ({"imageLayoutVersion":"1.0.0"}) and `index.json` (an image index whose descriptors name the
 * images; a tag is the `org.opencontainers.image.ref.name` annotation). index.json is replaced
 * atomically: written to a temporary name, synced, renamed, and the directory synced.
 */
import { LayerkitError, wrapError } from '../../errors.ts';
import type { StoreFsLike } from '../../fs/store-types.ts';
import type { FsLike } from '../../fs/types.ts';
import { readAll } from '../../tree/manifest-file.ts';
import { MEDIA_TYPE_IMAGE_INDEX } from '../media-types.ts';
import { hex } from '../digest.ts';
import { corrupt, isObject, parseDescriptor, type Descriptor } from './descriptor.ts';

export const LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const LAYOUT_VERSION = '1.0.0';
export const REF_NAME = 'org.opencontainers.image.ref.name';

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/**
 * The ref.name grammar (image-layout.md "Index"): components of alphanumerics joined by one of
 * `-._:@+` or `--`, separated by `/`.
 */
const REF_COMPONENT = /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*$/;

export function checkTag(tag: string): void {
  if (tag === '' || !tag.split('/').every((c) => REF_COMPONENT.test(c))) {
    throw new LayerkitError('ERR_INVALID_TAG', `"${tag}" is not a valid tag (letters and digits joined by - . _ : @ + or --, components separated by /)`, { tag });
  }
}

export function tagOf(d: Descriptor): string | undefined {
  return d.annotations?.[REF_NAME];
}

async function readJsonFile(fs: FsLike, path: string, missing: () => LayerkitError): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = await readAll(fs, path);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') throw missing();
    throw wrapError(e, `read ${path}`);
  }
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new LayerkitError('ERR_IMAGE_CORRUPT', `${path}: not valid JSON: ${(e as Error).message}`, { path });
  }
}

/** Check `root/oci-layout`: ERR_NOT_A_LAYOUT when absent or of a major version other than 1. */
export async function readLayoutFile(fs: FsLike, root: string): Promise<void> {
  const path = `${root}/${LAYOUT_FILE}`;
  const v = await readJsonFile(fs, path, () => new LayerkitError('ERR_NOT_A_LAYOUT', `${root} is not an OCI image layout: no ${LAYOUT_FILE} file`, { path: root }));
  const version = isObject(v) ? v.imageLayoutVersion : undefined;
  if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
    throw new LayerkitError('ERR_NOT_A_LAYOUT', `${path}: imageLayoutVersion ${JSON.stringify(version)} is not one this build reads (1.x.y)`, { path, version });
  }
}

/** Parse and check index.json (or any image index document). */
export function parseIndex(v: unknown, what: string): ImageIndex {
  if (!isObject(v)) throw corrupt(what, 'not a JSON object');
  if (v.schemaVersion !== 2) throw corrupt(what, `schemaVersion ${JSON.stringify(v.schemaVersion)} is not 2`);
  if (!Array.isArray(v.manifests)) throw corrupt(what, 'manifests is not an array');
  v.manifests.forEach((d, i) => parseDescriptor(d, `${what} manifests[${i}]`));
  return v as ImageIndex;
}

export async function readIndex(fs: FsLike, root: string): Promise<ImageIndex> {
  const path = `${root}/${INDEX_FILE}`;
  const v = await readJsonFile(fs, path, () => new LayerkitError('ERR_NOT_A_LAYOUT', `${root} is not an OCI image layout: no ${INDEX_FILE}`, { path: root }));
  return parseIndex(v, path);
}

export function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_INDEX, manifests: [] };
}

/** `index` with `tag` naming `desc`: descriptors that carried the tag lose it (and go away if it was all they had). */
export function withTag(index: ImageIndex, tag: string, desc: Descriptor): ImageIndex {
  checkTag(tag);
  const manifests: Descriptor[] = [];
  for (const d of index.manifests) {
    if (tagOf(d) !== tag) {
      manifests.push(d);
      continue;
    }
    const { [REF_NAME]: _, ...rest } = d.annotations!;
    // An untagged descriptor is only kept if it says something else (other annotations).
    if (Object.keys(rest).length > 0) manifests.push({ ...d, annotations: rest });
  }
  manifests.push({ ...desc, annotations: { ...desc.annotations, [REF_NAME]: tag } });
  return { ...index, manifests };
}

/** Compact JSON with a final newline: equal documents built in the same key order give equal bytes. */
export function encodeJson(v: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(v) + '\n');
}

/** Replace `root/name` atomically with `bytes` (temp + fsync + rename + directory fsync). */
export async function writeFileAtomic(fs: StoreFsLike, root: string, name: string, bytes: Uint8Array): Promise<void> {
  const rand = new Uint8Array(6);
  crypto.getRandomValues(rand);
  const tmp = `${root}/.${name}.tmp-${hex(rand)}`;
  const path = `${root}/${name}`;
  try {
    const f = await fs.createFile(tmp);
    try {
      await f.write(bytes);
      await f.sync();
    } finally {
      await f.close();
    }
    await fs.rename(tmp, path);
    await fs.syncDir(root);
  } catch (e) {
    await fs.unlink(tmp).catch(() => {});
    throw wrapError(e, `write ${path}`);
  }
}

export async function writeIndex(fs: StoreFsLike, root: string, index: ImageIndex): Promise<void> {
  await writeFileAtomic(fs, root, INDEX_FILE, encodeJson(index));
}

export async function writeLayoutFile(fs: StoreFsLike, root: string): Promise<void> {
  await writeFileAtomic(fs, root, LAYOUT_FILE, encodeJson({ imageLayoutVersion: LAYOUT_VERSION }));
}
