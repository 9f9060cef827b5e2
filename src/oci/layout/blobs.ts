/**
 * The blobs of an OCI image layout (blobs/<algorithm>/<encoded>) over the StoreFsLike port.
 * Writes go to a temporary file in LAYOUT/.layerkit-tmp/, are hashed while written, synced,
 * then renamed to their digest: a blob name never shows partial bytes, even after a crash (a
 * crash can leave a file in .layerkit-tmp/, which no reader looks at). Reads are verified: a
 * stream ends with ERR_DIGEST_MISMATCH instead of its last chunk when the bytes do not hash to
 * the digest or the size differs from the descriptor's.
 */
import { LayerkitError, wrapError } from '../../errors.ts';
import type { StoreFsLike, WritableFileLike } from '../../fs/store-types.ts';
import type { Sha256Like } from '../../hash/engines.ts';
import { hex, newSha256, parseSha256 } from '../digest.ts';

export const TEMP_DIR = '.layerkit-tmp';
const READ_SIZE = 1024 * 1024;

export interface BlobRef {
  digest: string;
  /** When given, the blob must have exactly this size. */
  size?: number;
}

export interface BlobWriter {
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Sync and rename into place under the digest of what was written. With `expected`, the bytes
   * must hash to it (ERR_DIGEST_MISMATCH otherwise, and nothing is stored).
   */
  commit(expected?: string): Promise<{ digest: string; size: number }>;
  /** Drop the temporary file. */
  abort(): Promise<void>;
}

function tempName(): string {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return hex(b);
}

export class BlobStore {
  readonly fs: StoreFsLike;
  readonly root: string;
  readonly #sha256: () => Sha256Like;

  constructor(fs: StoreFsLike, root: string, sha256: () => Sha256Like = newSha256) {
    this.fs = fs;
    this.root = root;
    this.#sha256 = sha256;
  }

  /** The file of a digest (which need not exist). */
  path(digest: string): string {
    const d = parseSha256(digest);
    return `${this.root}/blobs/${d.algorithm}/${d.encoded}`;
  }

  async has(digest: string): Promise<boolean> {
    try {
      return (await this.fs.lstat(this.path(digest))).isFile();
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return false;
      throw wrapError(e, `blob ${digest}`);
    }
  }

  /** Size on disk; ERR_BLOB_MISSING if the layout does not hold it. */
  async size(digest: string): Promise<number> {
    return (await this.#stat(digest)).size;
  }

  async #stat(digest: string) {
    const path = this.path(digest);
    try {
      const st = await this.fs.lstat(path);
      if (!st.isFile()) throw new LayerkitError('ERR_BLOB_MISSING', `blob ${digest}: ${path} is not a regular file`, { digest, path });
      return st;
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') {
        throw new LayerkitError('ERR_BLOB_MISSING', `blob ${digest} is missing from the layout (${path})`, { digest, path });
      }
      throw wrapError(e, `blob ${digest}`);
    }
  }

  /**
   * The blob's bytes in chunks, verified: the size is checked before the first byte and the
   * digest after the last. The last chunk is held back until the digest matches, so a damaged
   * blob never reaches a clean end of stream: it ends in ERR_DIGEST_MISMATCH.
   */
  async *read(ref: BlobRef): AsyncGenerator<Uint8Array> {
    const h = this.#sha256();
    let held: Uint8Array | undefined;
    let pos = 0;
    for await (const chunk of this.#chunks(ref)) {
      h.update(chunk);
      pos += chunk.length;
      if (held) yield held;
      held = chunk;
    }
    const got = `sha256:${hex(h.digest())}`;
    if (got !== ref.digest) {
      throw new LayerkitError('ERR_DIGEST_MISMATCH', `blob ${ref.digest}: its bytes hash to ${got} (${this.path(ref.digest)} is damaged or was replaced)`, { digest: ref.digest, actual: got, path: this.path(ref.digest) });
    }
    if (ref.size !== undefined && pos !== ref.size) {
      throw new LayerkitError('ERR_DIGEST_MISMATCH', `blob ${ref.digest}: read ${pos} bytes, the descriptor says ${ref.size}`, { digest: ref.digest, size: pos, expectedSize: ref.size });
    }
    if (held) yield held;
  }

  /**
   * The blob's bytes as stored, size checked before the first byte but the digest NOT checked:
   * only for readers that hash the bytes themselves and fail on a mismatch (applyLayers and
   * flattenLayers given the digest), so a large layer is not hashed twice.
   */
  async *readUnverified(ref: BlobRef & { size: number }): AsyncGenerator<Uint8Array> {
    let pos = 0;
    for await (const chunk of this.#chunks(ref)) {
      pos += chunk.length;
      yield chunk;
    }
    if (pos !== ref.size) {
      throw new LayerkitError('ERR_DIGEST_MISMATCH', `blob ${ref.digest}: read ${pos} bytes, the descriptor says ${ref.size}`, { digest: ref.digest, size: pos, expectedSize: ref.size });
    }
  }

  /** The stored bytes in READ_SIZE chunks, after checking the size on disk against `ref.size` (when given). */
  async *#chunks(ref: BlobRef): AsyncGenerator<Uint8Array> {
    const st = await this.#stat(ref.digest);
    if (ref.size !== undefined && st.size !== ref.size) {
      throw new LayerkitError('ERR_DIGEST_MISMATCH', `blob ${ref.digest}: ${st.size} bytes on disk, the descriptor says ${ref.size}`, { digest: ref.digest, size: st.size, expectedSize: ref.size });
    }
    let fh;
    try {
      fh = await this.fs.open(this.path(ref.digest));
    } catch (e) {
      throw wrapError(e, `read blob ${ref.digest}`);
    }
    try {
      let pos = 0;
      for (;;) {
        const buf = new Uint8Array(READ_SIZE);
        let n: number;
        try {
          n = await fh.read(buf, 0, buf.length, pos);
        } catch (e) {
          throw wrapError(e, `read blob ${ref.digest}`);
        }
        if (n === 0) return;
        pos += n;
        yield buf.subarray(0, n);
      }
    } finally {
      await fh.close();
    }
  }

  /** A whole small blob (a manifest, config or index), verified; ERR_IMAGE_CORRUPT above `limit`. */
  async readBytes(ref: BlobRef, limit = 16 * 1024 * 1024): Promise<Uint8Array> {
    const size = await this.size(ref.digest);
    if (size > limit) {
      throw new LayerkitError('ERR_IMAGE_CORRUPT', `blob ${ref.digest}: ${size} bytes is too large for a JSON document (limit ${limit})`, { digest: ref.digest, size, limit });
    }
    const parts: Uint8Array[] = [];
    let n = 0;
    for await (const c of this.read(ref)) {
      parts.push(c);
      n += c.length;
    }
    const out = new Uint8Array(n);
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }

  /** Start writing a blob whose digest is known at the end. */
  /**
   * A blob that `produce` streams into a sink and whose digest and size it returns (a layer
   * writer): written to a temporary name, stored under that digest only if the bytes hash to it
   * and their count matches (ERR_DIGEST_MISMATCH), dropped if `produce` fails.
   */
  async store<R extends { digest: string; size: number }>(produce: (sink: (chunk: Uint8Array) => Promise<void>) => Promise<R>): Promise<R> {
    const w = await this.writer();
    let r: R;
    try {
      r = await produce((chunk) => w.write(chunk));
    } catch (e) {
      await w.abort();
      throw e;
    }
    const stored = await w.commit(r.digest);
    if (stored.size !== r.size) throw new LayerkitError('ERR_DIGEST_MISMATCH', `blob ${r.digest}: stored ${stored.size} bytes, wrote ${r.size}`, { digest: r.digest });
    return r;
  }

  async writer(): Promise<BlobWriter> {
    const dir = `${this.root}/${TEMP_DIR}`;
    const tmp = `${dir}/${tempName()}`;
    let file: WritableFileLike;
    try {
      await this.fs.mkdirp(dir);
      file = await this.fs.createFile(tmp);
    } catch (e) {
      throw wrapError(e, `write blob in ${this.root}`);
    }
    const h = this.#sha256();
    let size = 0;
    let open = true;
    const drop = async () => {
      if (open) {
        open = false;
        await file.close().catch(() => {});
      }
      await this.fs.unlink(tmp).catch(() => {});
    };
    return {
      write: async (chunk) => {
        h.update(chunk);
        size += chunk.length;
        try {
          await file.write(chunk);
        } catch (e) {
          throw wrapError(e, `write blob ${tmp}`);
        }
      },
      commit: async (expected) => {
        const digest = `sha256:${hex(h.digest())}`;
        if (expected !== undefined && expected !== digest) {
          await drop();
          throw new LayerkitError('ERR_DIGEST_MISMATCH', `blob written as ${expected} hashes to ${digest}; not stored`, { digest: expected, actual: digest });
        }
        const final = this.path(digest);
        try {
          await file.sync();
          open = false;
          await file.close();
          await this.fs.mkdirp(`${this.root}/blobs/sha256`);
          // Content addressed: an existing blob of this digest already holds these bytes.
          if (await this.has(digest)) await this.fs.unlink(tmp);
          else {
            await this.fs.rename(tmp, final);
            await this.fs.syncDir(`${this.root}/blobs/sha256`);
          }
        } catch (e) {
          await drop();
          throw wrapError(e, `store blob ${digest}`);
        }
        return { digest, size };
      },
      abort: drop,
    };
  }

  /** Store `bytes` (small documents); returns the digest and size. */
  async put(bytes: Uint8Array): Promise<{ digest: string; size: number }> {
    const w = await this.writer();
    try {
      await w.write(bytes);
    } catch (e) {
      await w.abort();
      throw e;
    }
    return w.commit();
  }

  /** Copy a stream into the store; on any error the temporary file is removed and nothing is stored. */
  async putStream(source: AsyncIterable<Uint8Array>, expected?: string): Promise<{ digest: string; size: number }> {
    const w = await this.writer();
    try {
      for await (const c of source) await w.write(c);
    } catch (e) {
      await w.abort();
      throw e;
    }
    return w.commit(expected);
  }
}
