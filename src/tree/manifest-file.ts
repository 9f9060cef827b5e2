/**
 * Saving and loading snapshot manifests through the FsLike port (atomic save: temp name + rename).
 * Both stream: a save writes the encoder's output in ~1 MiB pieces as entries arrive (when the
 * adapter has writeFileStream), a read decodes the file in windows, so memory stays bounded whatever
 * the number of entries.
 */
import type { FsLike, WritableFsLike } from '../fs/types.ts';
import type { Entry } from './entry.ts';
import { LayerkitError, wrapError } from '../errors.ts';
import {
  checkManifestCount, checkManifestHeader, decodeRecord, encodeManifest, Incomplete, ManifestEncoder,
  MANIFEST_HEADER_BYTES, MANIFEST_TRAILER_BYTES, newRecordState, type ManifestOptions,
} from './manifest.ts';
import { defaultSha256 } from './defaults.ts';

/** Bytes per write when saving and per read when loading. */
const WINDOW = 1 << 20;

function tempSuffix(): string {
  const b = new Uint8Array(6);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** Encode entries and write them to `path`: to a temp name beside it first, then renamed over it. */
export async function saveManifest(fs: WritableFsLike, path: string, entries: Iterable<Entry> | AsyncIterable<Entry>, options: ManifestOptions = {}): Promise<void> {
  const tmp = `${path}.tmp-${tempSuffix()}`;
  if (!fs.writeFileStream) {
    let bytes: Uint8Array;
    try {
      bytes = await encodeManifest(entries, options);
    } catch (e) {
      throw wrapError(e, `save manifest ${path}`);
    }
    try {
      await fs.writeFile(tmp, bytes);
      await fs.rename(tmp, path);
    } catch (e) {
      await fs.unlink(tmp).catch(() => {});
      throw wrapError(e, `save manifest ${path}`);
    }
    return;
  }
  let enc: ManifestEncoder;
  try {
    enc = await ManifestEncoder.create(options);
  } catch (e) {
    throw wrapError(e, `save manifest ${path}`);
  }
  let out;
  try {
    out = await fs.writeFileStream(tmp);
  } catch (e) {
    throw wrapError(e, `save manifest ${path}`);
  }
  try {
    const buf = new Uint8Array(WINDOW);
    let n = 0;
    const put = async (bytes: Uint8Array) => {
      if (n + bytes.length > buf.length) {
        if (n > 0) await out.write(buf.slice(0, n));
        n = 0;
        if (bytes.length > buf.length) {
          await out.write(bytes);
          return;
        }
      }
      buf.set(bytes, n);
      n += bytes.length;
    };
    for await (const e of entries) await put(enc.push(e));
    await put(enc.finish());
    if (n > 0) await out.write(buf.slice(0, n));
    await out.close();
    await fs.rename(tmp, path);
  } catch (e) {
    await (out.abort ?? out.close).call(out).catch(() => {});
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

function corrupt(why: string, data: Record<string, unknown> = {}): LayerkitError {
  return new LayerkitError('ERR_MANIFEST_CORRUPT', `snapshot manifest is corrupt: ${why}`, data);
}

/** Read exactly `len` bytes at `pos` (fewer only at the end of the file). */
async function readFully(fh: { read(b: Uint8Array, o: number, l: number, p: number): Promise<number> }, buf: Uint8Array, off: number, len: number, pos: number): Promise<number> {
  let got = 0;
  while (got < len) {
    const r = await fh.read(buf, off + got, len - got, pos + got);
    if (r === 0) break;
    got += r;
  }
  return got;
}

/**
 * The entries of the manifest at `path`, streaming: a first pass checks the header and the SHA-256
 * trailer (reading the file in windows), a second decodes the records window by window. Nothing is
 * yielded from a file whose checksum does not match. ERR_MANIFEST_CORRUPT / ERR_MANIFEST_VERSION
 * on bad data, the adapter's error (wrapped) when the file cannot be read; messages start with
 * `context`.
 */
export async function* readManifestFile(fs: FsLike, path: string, options: ManifestOptions = {}, context = `load manifest ${path}`): AsyncGenerator<Entry> {
  const fail = (e: unknown) => wrapError(e, context);
  let size: number;
  let fh;
  try {
    size = (await fs.lstat(path)).size;
    fh = await fs.open(path);
  } catch (e) {
    throw fail(e);
  }
  try {
    let buf = new Uint8Array(Math.min(WINDOW, Math.max(size, MANIFEST_HEADER_BYTES)));
    // Pass 1: header, length, checksum.
    const head = buf.subarray(0, Math.min(size, MANIFEST_HEADER_BYTES));
    if (await readFully(fh, head, 0, head.length, 0) !== head.length) throw corrupt('the file shrank while being read');
    checkManifestHeader(head);
    if (size < MANIFEST_HEADER_BYTES + MANIFEST_TRAILER_BYTES) throw corrupt(`truncated (${size} bytes; a manifest has at least ${MANIFEST_HEADER_BYTES + MANIFEST_TRAILER_BYTES})`, { length: size });
    const h = await (options.sha256 ?? defaultSha256)();
    const bodyEnd = size - 32;
    for (let pos = 0; pos < bodyEnd;) {
      const want = Math.min(buf.length, bodyEnd - pos);
      if (await readFully(fh, buf, 0, want, pos) !== want) throw corrupt('the file shrank while being read');
      h.update(buf.subarray(0, want));
      pos += want;
    }
    const want = new Uint8Array(32);
    if (await readFully(fh, want, 0, 32, bodyEnd) !== 32) throw corrupt('the file shrank while being read');
    const got = h.digest();
    for (let i = 0; i < 32; i++) {
      if (got[i] !== want[i]) throw corrupt('checksum mismatch (the file is truncated or was modified)', { length: size });
    }
    // Pass 2: records, window by window; a record that straddles a window is read again whole.
    const end = size - MANIFEST_TRAILER_BYTES;
    const state = newRecordState();
    let base = MANIFEST_HEADER_BYTES; // file offset of buf[0]
    let have = 0;
    let off = 0;
    let dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const fill = async () => {
      // Keep the unparsed tail, read more behind it.
      if (off > 0) {
        buf.copyWithin(0, off, have);
        have -= off;
        base += off;
        off = 0;
      }
      if (have === buf.length) {
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
        dv = new DataView(buf.buffer);
      }
      const len = Math.min(buf.length - have, end - (base + have));
      const r = await readFully(fh, buf, have, len, base + have);
      if (r !== len) throw corrupt('the file shrank while being read');
      have += r;
    };
    while (base + off < end) {
      const limit = Math.min(have, end - base);
      const r = decodeRecord(buf, dv, off, limit, state);
      if (r instanceof Incomplete) {
        if (base + have >= end) throw corrupt(`record ${state.n} runs past the end (${r.what})`, { offset: base + off });
        await fill();
        continue;
      }
      off = r[1];
      yield r[0];
    }
    const trailer = new Uint8Array(8);
    await readFully(fh, trailer, 0, 8, end);
    checkManifestCount(trailer, state);
  } catch (e) {
    throw fail(e);
  } finally {
    await fh.close();
  }
}

/** Load and verify the manifest at `path` (ERR_MANIFEST_CORRUPT / ERR_MANIFEST_VERSION on bad data). */
export async function loadManifest(fs: FsLike, path: string, options: ManifestOptions = {}): Promise<Entry[]> {
  const out: Entry[] = [];
  for await (const e of readManifestFile(fs, path, options)) out.push(e);
  return out;
}
