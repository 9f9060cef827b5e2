/**
 * gzip (RFC 1952) written by layerkit's own deflate kernel, so a layer's bytes and digest are the
 * same in Node, Deno and browsers, run after run, whatever the thread count.
 *
 * The input is cut into GZIP_CHUNK-byte chunks (fixed: the output never depends on how the source
 * was split into reads or on how many workers ran); each chunk is deflated with the 32 KiB before
 * it as history (pigz's scheme) by a DeflatePool, several at once where the pool has workers, and
 * the results are written in order. Header: no name, MTIME 0, OS 255 (unknown); XFL as zlib sets
 * it (2 at level 9, 4 at level 1, else 0). Trailer: CRC-32 and size mod 2^32.
 */
import { crc32, deflateChunk, DEFLATE_WINDOW } from '../wasm/deflate.ts';

/** Input bytes per deflate job (pigz uses 128 KiB too). Part of the output format: do not vary it. */
export const GZIP_CHUNK = 128 * 1024;

/** Default level, as gzip(1) and zlib. */
export const GZIP_DEFAULT_LEVEL = 6;

/** Deflates chunks, perhaps on other threads. `window` = history + chunk; see wasm/deflate.ts. */
export interface DeflatePool {
  /** Jobs worth keeping in flight (1: no parallelism). */
  readonly parallelism: number;
  deflate(window: Uint8Array, historyLength: number, level: number, last: boolean): Promise<Uint8Array>;
  /** Release workers (the pool may be reused until then). */
  close?(): void;
}

/** Runs the kernel on the calling thread. */
export const inlineDeflatePool: DeflatePool = {
  parallelism: 1,
  async deflate(window, historyLength, level, last) {
    return deflateChunk(window, historyLength, level, last);
  },
};

function header(level: number): Uint8Array {
  const xfl = level === 9 ? 2 : level <= 1 ? 4 : 0;
  return Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 0xff);
}

/** Re-cut a stream into fixed-size chunks (the last may be shorter or empty). */
async function* fixedChunks(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(size);
  let fill = 0;
  for await (const piece of source) {
    let off = 0;
    while (off < piece.length) {
      const n = Math.min(size - fill, piece.length - off);
      buf.set(piece.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === size) {
        yield buf;
        buf = new Uint8Array(size);
        fill = 0;
      }
    }
  }
  yield buf.subarray(0, fill);
}

export async function* gzipStream(source: AsyncIterable<Uint8Array>, level = GZIP_DEFAULT_LEVEL, pool: DeflatePool = inlineDeflatePool): AsyncGenerator<Uint8Array> {
  yield header(level);
  let crc = 0;
  let size = 0;
  let history = new Uint8Array(0);
  const inflight: Promise<Uint8Array>[] = [];
  const depth = Math.max(1, pool.parallelism * 2);
  // one chunk of look-ahead tells whether the current chunk is the last
  let pending: Uint8Array | undefined;
  const submit = (chunk: Uint8Array, last: boolean) => {
    const window = new Uint8Array(history.length + chunk.length);
    window.set(history, 0);
    window.set(chunk, history.length);
    const p = pool.deflate(window, history.length, level, last);
    p.catch(() => {}); // observed in order below
    inflight.push(p);
    history = window.slice(Math.max(0, window.length - DEFLATE_WINDOW));
  };
  for await (const chunk of fixedChunks(source, GZIP_CHUNK)) {
    crc = crc32(crc, chunk);
    size += chunk.length;
    if (pending !== undefined) {
      // a full chunk followed by an empty one: the empty one is the end
      if (chunk.length === 0) {
        submit(pending, true);
        pending = undefined;
        break;
      }
      submit(pending, false);
    }
    pending = chunk;
    while (inflight.length >= depth) yield await inflight.shift()!;
  }
  if (pending !== undefined) submit(pending, true);
  while (inflight.length > 0) yield await inflight.shift()!;
  const trailer = new Uint8Array(8);
  const dv = new DataView(trailer.buffer);
  dv.setUint32(0, crc >>> 0, true);
  dv.setUint32(4, size % 0x100000000, true);
  yield trailer;
}

/** gzip a whole buffer (the same bytes as gzipStream, on the calling thread unless a pool is given). */
export async function gzip(data: Uint8Array, options: { level?: number; pool?: DeflatePool } = {}): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  async function* one() {
    yield data;
  }
  for await (const p of gzipStream(one(), options.level ?? GZIP_DEFAULT_LEVEL, options.pool)) {
    parts.push(p);
    total += p.length;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
