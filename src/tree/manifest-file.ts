/** Saving and loading snapshot manifests through the FsLike port (atomic save: temp name + rename). */
import type { FsLike, WritableFsLike } from '../fs/types.ts';
import type { Entry } from './entry.ts';
import { wrapError } from '../errors.ts';
import { decodeManifest, encodeManifest, type ManifestOptions } from './manifest.ts';

function tempSuffix(): string {
  const b = new Uint8Array(6);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** Encode entries and write them to `path`: to a temp name beside it first, then renamed over it. */
export async function saveManifest(fs: WritableFsLike, path: string, entries: Iterable<Entry> | AsyncIterable<Entry>, options: ManifestOptions = {}): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await encodeManifest(entries, options);
  } catch (e) {
    throw wrapError(e, `save manifest ${path}`);
  }
  const tmp = `${path}.tmp-${tempSuffix()}`;
  try {
    await fs.writeFile(tmp, bytes);
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.unlink(tmp).catch(() => {});
    throw wrapError(e, `save manifest ${path}`);
  }
}

/** Read the whole file at `path` through FsLike. */
export async function readAll(fs: FsLike, path: string): Promise<Uint8Array> {
  const st = await fs.lstat(path);
  const fh = await fs.open(path);
  try {
    let buf = new Uint8Array(Math.max(st.size, 4096));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
      }
      const r = await fh.read(buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

/** Load and verify the manifest at `path` (ERR_MANIFEST_CORRUPT / ERR_MANIFEST_VERSION on bad data). */
export async function loadManifest(fs: FsLike, path: string, options: ManifestOptions = {}): Promise<Entry[]> {
  try {
    return await decodeManifest(await readAll(fs, path), options);
  } catch (e) {
    throw wrapError(e, `load manifest ${path}`);
  }
}
