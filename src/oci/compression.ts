/**
 * The compression port: a function from uncompressed chunks to compressed chunks (pull-based, so
 * backpressure and errors flow through ordinary async iteration). The default uses the Web
 * CompressionStream (gzip only, no level: browsers, Deno); src/platform/node.ts installs the Node
 * implementation (node:zlib gzip with levels; zstd through node:zlib or the `zstd` binary).
 */
import { LayerkitError } from '../errors.ts';
import type { Compression } from './media-types.ts';

export type CompressFn = (
  source: AsyncIterable<Uint8Array>,
  format: Exclude<Compression, 'none'>,
  level: number | undefined,
) => AsyncIterable<Uint8Array>;

/** gzip level range (node:zlib, gzip(1)); zstd without --ultra goes to 19, with it to 22. */
export const LEVELS = { gzip: { min: 0, max: 9 }, zstd: { min: 1, max: 22 } } as const;

export function checkLevel(format: Exclude<Compression, 'none'>, level: number | undefined): void {
  if (level === undefined) return;
  const { min, max } = LEVELS[format];
  if (!Number.isInteger(level) || level < min || level > max) {
    throw new LayerkitError('ERR_OUT_OF_RANGE', `${format} level must be an integer in ${min}..${max}, got ${level}`, { format, level, min, max });
  }
}

/** Web Streams implementation: CompressionStream('gzip'); the level is not settable there. */
export const webCompress: CompressFn = (source, format) => {
  if (format !== 'gzip' || typeof CompressionStream !== 'function') {
    throw new LayerkitError('ERR_UNSUPPORTED', `${format} compression is not available in this runtime`, { format });
  }
  return readAll(toReadable(source).pipeThrough(new CompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>));
};

let current: CompressFn = webCompress;

export function setCompressor(fn: CompressFn): void {
  current = fn;
}

export function compressor(): CompressFn {
  return current;
}

/**
 * Make a gzip stream's header platform-independent: MTIME 0 and OS 255 ("unknown", as Go's
 * compress/gzip writes; zlib writes its build's OS code). The deflate data and CRC are untouched.
 */
export async function* normalizeGzipHeader(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let pos = 0;
  for await (const chunk of source) {
    if (pos < 10 && chunk.length > 0) {
      const c = chunk.slice();
      for (let i = Math.max(0, 4 - pos); i < c.length && pos + i < 10; i++) {
        const at = pos + i;
        if (at >= 4 && at <= 7) c[i] = 0;
        else if (at === 9) c[i] = 0xff;
      }
      pos += chunk.length;
      yield c;
      continue;
    }
    pos += chunk.length;
    yield chunk;
  }
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
      const r = await reader.read();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    reader.releaseLock();
  }
}
