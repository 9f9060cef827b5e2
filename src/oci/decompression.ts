/**
 * The decompression port (the mirror of compression.ts): compressed chunks in, uncompressed
 * chunks out, pulled through async iteration. The default uses the Web DecompressionStream (gzip
 * only); src/platform/node.ts installs node:zlib gzip and zstd (node:zlib or the zstd binary).
 * Corrupt input fails with ERR_COMPRESSION.
 */
import { LayerkitError } from '../errors.ts';
import type { Compression } from './media-types.ts';

export type DecompressFn = (source: AsyncIterable<Uint8Array>, format: Exclude<Compression, 'none'>) => AsyncIterable<Uint8Array>;

export const webDecompress: DecompressFn = (source, format) => {
  if (format !== 'gzip' || typeof DecompressionStream !== 'function') {
    throw new LayerkitError('ERR_UNSUPPORTED', `${format} decompression is not available in this runtime`, { format });
  }
  return readAll(toReadable(source).pipeThrough(new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>));
};

let current: DecompressFn = webDecompress;

export function setDecompressor(fn: DecompressFn): void {
  current = fn;
}

export function decompressor(): DecompressFn {
  return current;
}

/** `source` uncompressed: passed through for 'none', else through the port. */
export function decompress(source: AsyncIterable<Uint8Array>, format: Compression, fn: DecompressFn = current): AsyncIterable<Uint8Array> {
  return format === 'none' ? source : fn(source, format);
}

function toReadable(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await it.next();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    async cancel(reason) {
      await it.return?.(reason);
    },
  });
}

async function* readAll(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      let r;
      try {
        r = await reader.read();
      } catch (e) {
        throw new LayerkitError('ERR_COMPRESSION', `gzip: ${(e as Error).message}`, {}, { cause: e });
      }
      if (r.done) return;
      yield r.value;
    }
  } finally {
    reader.releaseLock();
  }
}
