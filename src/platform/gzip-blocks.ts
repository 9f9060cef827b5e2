/**
 * gzip on several cores, pigz style: the input is cut into fixed 128 KiB blocks, each block is
 * deflated on its own with the 32 KiB before it as the preset dictionary, every block but the last
 * ends with a sync flush (so it ends on a byte boundary) and the last with Z_FINISH; the pieces
 * are concatenated behind one gzip header, and the trailer carries the CRC-32 and length of the
 * whole input. One valid gzip member, readable by any gunzip.
 *
 * Deterministic: block boundaries depend only on byte offsets (never on how the input arrives or
 * on the number of workers), each block's bytes depend only on its data, dictionary and level, so
 * the output is the same run to run and with 0, 1 or N workers. Small inputs (under PARALLEL_FROM)
 * are deflated on the calling thread, with the same block scheme and the same bytes, so a tiny
 * layer does not pay for starting workers.
 *
 * Blocks run on libuv's thread pool through zlib's async API (no worker isolates to start or to
 * hold in memory); CRC-32 (node:zlib crc32) and the order of the pieces stay on the calling thread.
 */
import zlib from 'node:zlib';
import { availableParallelism } from 'node:os';

export const GZIP_BLOCK = 128 * 1024;
const DICT = 32 * 1024;
/** zlib's deflateBound for a block is a little over the block: room for any block's output. */
const OUT_CHUNK = GZIP_BLOCK + 64 * 1024;
/** Input bytes after which blocks go to the thread pool. */
const PARALLEL_FROM = 1024 * 1024;

interface Job {
  data: Uint8Array;
  dict: Uint8Array | undefined;
  last: boolean;
}

function deflateBlock(job: Job, level: number): Uint8Array {
  return zlib.deflateRawSync(job.data, {
    level,
    ...(job.dict ? { dictionary: job.dict } : {}),
    finishFlush: job.last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
  });
}

/** Deflate a block on libuv's thread pool (zlib's async API): several run at once. */
function deflateBlockAsync(job: Job, level: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    zlib.deflateRaw(job.data, {
      level,
      // One output buffer larger than any deflate of a block: one thread-pool task per block,
      // instead of a round trip to this thread per 16 KiB of output.
      chunkSize: OUT_CHUNK,
      ...(job.dict ? { dictionary: job.dict } : {}),
      finishFlush: job.last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
    }, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

function header(level: number): Uint8Array {
  // ID1 ID2 CM=8 FLG=0 MTIME=0 XFL OS=255 (zlib's XFL rule: 2 for level 9, 4 for level 0/1).
  const xfl = level === 9 ? 2 : level < 2 ? 4 : 0;
  return new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 0xff]);
}

/** Default number of blocks deflated at once: the cores there are (at most 8). */
export function gzipWorkers(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/**
 * gzip `source` (level 0-9, default 6), deflating up to `workers` blocks at once on libuv's thread
 * pool (0: all on this thread, synchronously). Output bytes do not depend on `workers`.
 */
export async function* gzipBlocks(source: AsyncIterable<Uint8Array>, level = 6, workers = gzipWorkers()): AsyncGenerator<Uint8Array> {
  const crc32 = (zlib as unknown as { crc32: (d: Uint8Array, v?: number) => number }).crc32;
  let crc = 0;
  let total = 0;
  let parallel = false;
  // Blocks handed out, in order; each resolves to its deflate bytes.
  const inflight: Array<Promise<Uint8Array>> = [];
  const maxInflight = Math.max(2, workers * 2); // bounds memory: a few blocks in and out
  let block = new Uint8Array(GZIP_BLOCK);
  let fill = 0;
  let prev: Uint8Array | undefined; // the previous full block (dictionary source)
  let held: Uint8Array | undefined; // a full block not yet known not to be the last

  const submit = (data: Uint8Array, last: boolean): void => {
    const job: Job = { data, dict: prev ? prev.subarray(prev.length - DICT) : undefined, last };
    prev = data;
    if (workers > 0 && total > PARALLEL_FROM) parallel = true;
    if (parallel) {
      const p = deflateBlockAsync(job, level);
      p.catch(() => {});
      inflight.push(p);
    } else {
      inflight.push(Promise.resolve(deflateBlock(job, level)));
    }
  };

  try {
    yield header(level);
    for await (const chunk of source) {
      crc = crc32(chunk, crc);
      total += chunk.length;
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(chunk.length - off, GZIP_BLOCK - fill);
        block.set(chunk.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === GZIP_BLOCK) {
          if (held) submit(held, false);
          held = block;
          block = new Uint8Array(GZIP_BLOCK);
          fill = 0;
        }
      }
      while (inflight.length > maxInflight) yield await inflight.shift()!;
    }
    if (fill > 0) {
      if (held) submit(held, false);
      submit(block.subarray(0, fill), true);
    } else if (held) {
      submit(held, true);
    } else {
      submit(new Uint8Array(0), true);
    }
    while (inflight.length > 0) yield await inflight.shift()!;
    const trailer = new Uint8Array(8);
    const dv = new DataView(trailer.buffer);
    dv.setUint32(0, crc >>> 0, true);
    dv.setUint32(4, total % 0x100000000, true);
    yield trailer;
  } finally {
    // Early exit: let blocks in flight finish (nothing to cancel on the thread pool).
    await Promise.allSettled(inflight);
  }
}
