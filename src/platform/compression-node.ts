/**
 * Node compression: gzip as independent 128 KiB deflate blocks in parallel (gzip-blocks.ts,
 * pigz's scheme; bytes independent of the thread count), or one node:zlib stream where zlib has no
 * crc32; zstd through node:zlib where it exists
 * (Node >= 22.15 / 23.8), else the `zstd` binary (Debian package zstd) as a streaming child
 * process with -T0. Output bytes depend on the zlib/zstd build; the diffID (uncompressed) does not.
 */
import zlib from 'node:zlib';
import { Readable, pipeline, type Duplex } from 'node:stream';
import { spawn } from 'node:child_process';
import { LayerkitError } from '../errors.ts';
import type { CompressFn } from '../oci/compression.ts';
import { gzipBlocks } from './gzip-blocks.ts';

const DEFAULT_ZSTD_LEVEL = 3;

export const nodeCompress: CompressFn = (source, format, level) => {
  if (format === 'gzip') {
    // Block-parallel deflate on the thread pool (gzip-blocks.ts) where node:zlib has crc32
    // (Node >= 20.15); a single zlib stream otherwise.
    if (typeof (zlib as { crc32?: unknown }).crc32 === 'function') return gzipBlocks(source, level ?? 6);
    return viaTransform(source, zlib.createGzip(level === undefined ? {} : { level }));
  }
  const z = zlib as unknown as { createZstdCompress?: (o: object) => Duplex; constants: Record<string, number> };
  if (typeof z.createZstdCompress === 'function') {
    const params = { [z.constants.ZSTD_c_compressionLevel]: level ?? DEFAULT_ZSTD_LEVEL };
    return viaTransform(source, z.createZstdCompress({ params }));
  }
  return zstdProcess(source, level ?? DEFAULT_ZSTD_LEVEL);
};

async function* viaTransform(source: AsyncIterable<Uint8Array>, t: Duplex): AsyncGenerator<Uint8Array> {
  const input = Readable.from(source, { objectMode: false });
  pipeline(input, t, () => {}); // errors surface through the iteration below (t is destroyed with them)
  try {
    for await (const chunk of t) yield chunk as Uint8Array;
  } finally {
    input.destroy();
    t.destroy();
  }
}

/** `zstd -T0 -<level> -c`: stdin = the tar, stdout = the frame. Fails with ERR_COMPRESSION. */
export async function* zstdProcess(source: AsyncIterable<Uint8Array>, level: number, binary = 'zstd'): AsyncGenerator<Uint8Array> {
  const args = ['-q', '-c', '-T0', `-${level}`];
  if (level > 19) args.unshift('--ultra');
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-2000);
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  exited.catch(() => {});
  const input = Readable.from(source, { objectMode: false });
  let feedError: unknown;
  const fed = new Promise<void>((resolve) => {
    pipeline(input, child.stdin, (err) => {
      if (err) feedError = err;
      resolve();
    });
  });
  let finished = false;
  try {
    for await (const chunk of child.stdout) yield chunk as Uint8Array;
    await fed;
    let code: number | null;
    try {
      code = await exited;
    } catch (e) {
      throw new LayerkitError('ERR_COMPRESSION', `zstd: cannot run "${binary}": ${(e as Error).message}`, { binary }, { cause: e });
    }
    if (feedError) throw feedError;
    if (code !== 0) throw new LayerkitError('ERR_COMPRESSION', `zstd exited with status ${code}: ${stderr.trim()}`, { binary, status: code });
    finished = true;
  } finally {
    if (!finished) {
      input.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill();
    }
  }
}
