/**
 * Node decompression: node:zlib gunzip (concatenated members included); zstd through node:zlib
 * where it exists (Node >= 22.15 / 23.8), else `zstd -d -c` as a streaming child process.
 * Failures (corrupt data, a missing binary) become ERR_COMPRESSION.
 */
import zlib from 'node:zlib';
import { Readable, pipeline, type Duplex } from 'node:stream';
import { spawn } from 'node:child_process';
import { LayerkitError, isLayerkitError } from '../errors.ts';
import type { DecompressFn } from '../oci/decompression.ts';

export const nodeDecompress: DecompressFn = (source, format) => {
  if (format === 'gzip') return viaTransform(source, zlib.createGunzip(), 'gzip');
  const z = zlib as unknown as { createZstdDecompress?: () => Duplex };
  if (typeof z.createZstdDecompress === 'function') return viaTransform(source, z.createZstdDecompress(), 'zstd');
  return zstdDecompressProcess(source);
};

async function* viaTransform(source: AsyncIterable<Uint8Array>, t: Duplex, format: string): AsyncGenerator<Uint8Array> {
  const input = Readable.from(source, { objectMode: false });
  let sourceError: unknown;
  pipeline(input, t, (err) => {
    if (err && err !== t.errored) sourceError = err;
  });
  try {
    for await (const chunk of t) yield chunk as Uint8Array;
  } catch (e) {
    // An error from the source (a digest check, ...) keeps its own code; zlib's become ERR_COMPRESSION.
    if (isLayerkitError(e)) throw e;
    if (sourceError !== undefined) throw sourceError;
    throw new LayerkitError('ERR_COMPRESSION', `${format}: ${(e as Error).message}`, { format }, { cause: e });
  } finally {
    input.destroy();
    t.destroy();
  }
}

/** `zstd -d -c`: stdin = the frame(s), stdout = the data. */
export async function* zstdDecompressProcess(source: AsyncIterable<Uint8Array>, binary = 'zstd'): AsyncGenerator<Uint8Array> {
  const child = spawn(binary, ['-q', '-d', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
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
    if (feedError && isLayerkitError(feedError)) throw feedError;
    if (code !== 0) throw new LayerkitError('ERR_COMPRESSION', `zstd -d exited with status ${code}: ${stderr.trim()}`, { binary, status: code });
    if (feedError) throw feedError;
    finished = true;
  } finally {
    if (!finished) {
      input.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill();
    }
  }
}
