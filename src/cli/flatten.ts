/** `layerkit flatten LAYER... -o OUT`: one layer equal to applying LAYER... in order. */
import { parseArgs } from 'node:util';
import { createReadStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { flattenLayers } from '../oci/flatten.ts';
import { storeScratch } from '../oci/scratch.ts';
import { nodeStoreFs } from '../fs/node-store.ts';
import type { Compression } from '../oci/media-types.ts';
import { wrapError } from '../errors.ts';
import { log, out, usageError } from './io.ts';
import { createAtomicFile } from './output.ts';

export const FLATTEN_HELP = `Usage: layerkit flatten [options] LAYER... -o OUT

Write one OCI layer whose application equals applying LAYER... in order (whiteouts resolved
across the stack; what later layers replace or delete is left out). Inputs are read twice,
streamed; compression is detected from their bytes. The survivor pass sorts its records in
runs written next to OUT (.layerkit-scratch-*, removed at the end), so memory stays bounded. Prints the output's digest on stdout.

Options:
  -o, --output FILE        the layer (written to a temp name, synced, then renamed)
  --compression KIND       gzip, zstd or none (default: from the name: .tar.gz/.tgz gzip,
                           .tar.zst zstd, .tar none; otherwise gzip)
  --level N                compression level
  --json                   print {digest, diffID, size, mediaType, records, written}
  -q, --quiet              no logs on stderr
  -h, --help               this help
`;

export async function flattenCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      compression: { type: 'string' },
      level: { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(FLATTEN_HELP);
    return 0;
  }
  if (positionals.length === 0) throw usageError('flatten: give at least one LAYER (see layerkit flatten --help)');
  if (!values.output) throw usageError('flatten: -o OUT is required');
  const output = values.output;
  let compression: Compression;
  if (values.compression !== undefined) {
    if (!['gzip', 'zstd', 'none'].includes(values.compression)) throw usageError(`flatten: --compression must be gzip, zstd or none, got ${values.compression}`);
    compression = values.compression as Compression;
  } else compression = /\.(tar\.zst|tar\.zstd|tzst)$/.test(output) ? 'zstd' : /\.tar$/.test(output) ? 'none' : 'gzip';
  if (values.level !== undefined && !/^\d+$/.test(values.level)) throw usageError(`flatten: --level must be an integer, got ${values.level}`);
  const level = values.level === undefined ? undefined : Number(values.level);

  const file = await createAtomicFile(output);
  let result;
  try {
    result = await flattenLayers(positionals.map((f) => ({ name: f, blob: () => readFileChunks(f) })), (c) => file.write(c), { compression, level, scratch: storeScratch(nodeStoreFs, dirname(resolve(output))) });
    await file.commit();
  } catch (e) {
    await file.abort();
    throw e;
  }
  if (!values.quiet) log(`flatten: ${positionals.length} layers, ${result.records} records -> ${result.written} written; ${result.size} bytes; diffID ${result.diffID}`);
  if (values.json) out(JSON.stringify(result));
  else out(result.digest);
  return 0;
}

async function* readFileChunks(file: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) yield chunk as Uint8Array;
  } catch (e) {
    throw wrapError(e, `read ${file}`);
  }
}
