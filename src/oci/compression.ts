/**
 * The compression port: a function from uncompressed chunks to compressed chunks (pull-based, so
 * backpressure and errors flow through ordinary async iteration). The default uses the Web
 * CompressionStream (gzip only, no level: browsers, Deno); src/platform/node.ts installs the Node
 * implementation (node:zlib gzip with levels; zstd through node:zlib or the `zstd` binary).
 */
import { LayerkitError } from '../errors.ts';
import type { Compression } from './media-types.ts';
import { gzipStream, GZIP_DEFAULT_LEVEL } from './gzip.ts';

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

/**
 * The platform-neutral compressor: gzip by layerkit's deflate kernel on the calling thread (the
 * same bytes as every other runtime; CompressionStream's would differ by browser). zstd has no
 * portable encoder here: ERR_UNSUPPORTED.
 */
export const webCompress: CompressFn = (source, format, level) => {
  if (format !== 'gzip') {
    throw new LayerkitError('ERR_UNSUPPORTED', `${format} compression is not available in this runtime`, { format });
  }
  return gzipStream(source, level ?? GZIP_DEFAULT_LEVEL);
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
