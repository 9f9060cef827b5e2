/**
 * Layer decompression: the format is detected from the first bytes (A1), never trusted from a
 * media type or a file name: gzip 1F 8B 08, zstd 28 B5 2F FD or a zstd skippable frame
 * (5? 2A 4D 18); anything else is read as a plain tar (whose first block the tar reader checks).
 * bzip2 and xz are recognised only to say so clearly.
 *
 * The decompressor is a port like the compressor (compression.ts): the default uses the Web
 * DecompressionStream (gzip only); src/platform/node.ts installs node:zlib gunzip and the `zstd`
 * binary. Output is pulled, so a decompression bomb costs no more memory than one chunk: the tar
 * reader's maxBytes stops it.
 */
import { LayerkitError } from '../errors.ts';
import type { Compression } from './media-types.ts';

export type DecompressFn = (source: AsyncIterable<Uint8Array>, format: Exclude<Compression, 'none'>) => AsyncIterable<Uint8Array>;

/** The compression a blob starting with `head` uses (head needs up to 6 bytes; fewer at EOF). */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  if (head.length >= 4 && (head[0]! & 0xf0) === 0x50 && head[1] === 0x2a && head[2] === 0x4d && head[3] === 0x18) return 'zstd';
  if (head.length >= 3 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) {
    throw new LayerkitError('ERR_UNSUPPORTED', 'layer is bzip2-compressed: not an OCI layer compression', { format: 'bzip2' });
  }
  if (head.length >= 6 && head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58 && head[4] === 0x5a && head[5] === 0x00) {
    throw new LayerkitError('ERR_UNSUPPORTED', 'layer is xz-compressed: not an OCI layer compression', { format: 'xz' });
  }
  return 'none';
}

/** Web Streams gzip (DecompressionStream); corrupt input becomes ERR_LAYER_CORRUPT. */
export const webDecompress: DecompressFn = (source, format) => {
  if (format !== 'gzip' || typeof DecompressionStream !== 'function') {
    throw new LayerkitError('ERR_UNSUPPORTED', `${format} decompression is not available in this runtime`, { format });
  }
  const it = source[Symbol.asyncIterator]();
  const readable = new ReadableStream<Uint8Array>({
    async pull(c) {
      const r = await it.next();
      if (r.done) c.close();
      else c.enqueue(r.value);
    },
    async cancel(reason) {
      await it.return?.(reason);
    },
  }).pipeThrough(new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>);
  return (async function* () {
    const reader = readable.getReader();
    try {
      for (;;) {
        let r;
        try {
          r = await reader.read();
        } catch (e) {
          throw decompressError('gzip', e);
        }
        if (r.done) return;
        yield r.value;
      }
    } finally {
      reader.releaseLock();
    }
  })();
};

/** Wrap a decompressor failure: truncated streams and corrupt data get the layer codes. */
export function decompressError(format: string, e: unknown): LayerkitError {
  if (e instanceof LayerkitError) return e;
  const msg = (e as Error)?.message ?? String(e);
  const truncated = /unexpected end|premature|truncat|incomplete/i.test(msg) || (e as { code?: string })?.code === 'Z_BUF_ERROR';
  return new LayerkitError(truncated ? 'ERR_LAYER_TRUNCATED' : 'ERR_LAYER_CORRUPT', `${format} stream ${truncated ? 'ends early' : 'is corrupt'}: ${msg}`, { format }, { cause: e });
}

let current: DecompressFn = webDecompress;

export function setDecompressor(fn: DecompressFn): void {
  current = fn;
}

export function decompressor(): DecompressFn {
  return current;
}

/**
 * Detect the format from the first bytes and return the uncompressed stream. `onBlob` sees every
 * blob byte (for the digest) before it is decompressed.
 */
export async function decompressLayer(
  source: AsyncIterable<Uint8Array>,
  options: { decompress?: DecompressFn; onBlob?: (chunk: Uint8Array) => void } = {},
): Promise<{ compression: Compression; tar: AsyncIterable<Uint8Array> }> {
  const it = source[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let have = 0;
  let done = false;
  while (have < 6) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    if (r.value.length === 0) continue;
    options.onBlob?.(r.value);
    head.push(r.value);
    have += r.value.length;
  }
  const first = new Uint8Array(Math.min(have, 6));
  let o = 0;
  for (const h of head) {
    if (o >= first.length) break;
    const n = Math.min(h.length, first.length - o);
    first.set(h.subarray(0, n), o);
    o += n;
  }
  let compression: Compression;
  try {
    compression = detectCompression(first);
  } catch (e) {
    await it.return?.();
    throw e;
  }
  async function* blob(): AsyncGenerator<Uint8Array> {
    let finished = false;
    try {
      yield* head;
      if (!done) {
        for (;;) {
          const r = await it.next();
          if (r.done) break;
          options.onBlob?.(r.value);
          yield r.value;
        }
      }
      finished = true;
    } finally {
      if (!finished) await it.return?.();
    }
  }
  if (compression === 'none') return { compression, tar: blob() };
  return { compression, tar: (options.decompress ?? current)(blob(), compression) };
}

/** `source` uncompressed: passed through for 'none', else through the port. */
export function decompress(source: AsyncIterable<Uint8Array>, format: Compression, fn: DecompressFn = current): AsyncIterable<Uint8Array> {
  return format === 'none' ? source : fn(source, format);
}
