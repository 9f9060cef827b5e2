/** `layerkit diff OLD NEW -o layer.tar.gz`: the OCI layer that turns OLD into NEW. */
import { parseArgs } from 'node:util';
import { rm } from 'node:fs/promises';
import { nodeFsSyncReads as nodeFs } from '../fs/node-sync.ts';
import { diff } from '../api/diff.ts';
import type { Compression } from '../oci/media-types.ts';
import { log, out, usageError } from './io.ts';
import { EXCLUDE_HELP, EXCLUDE_OPTIONS, excludePatterns } from './options.ts';
import { assertOutsideTrees, createAtomicFile } from './output.ts';
import { Progress } from './progress.ts';

export const DIFF_HELP = `Usage: layerkit diff [options] OLD NEW -o LAYER

Write the OCI layer (a changeset tar with whiteouts) that turns OLD into NEW. OLD is a directory
or a snapshot from "layerkit snapshot"; NEW is a directory. Prints the layer's digest on stdout;
logs (and a progress line, on a terminal) go to stderr. The layer is reproducible: sorted, numeric
owners, whole-second mtimes, whiteouts at mtime 0.

Options:
  -o, --output FILE        the layer blob (written to a temp name, synced, then renamed)
  --compression KIND       gzip, zstd or none (default: from the file name: .tar.gz/.tgz gzip,
                           .tar.zst/.tar.zstd zstd, .tar none; otherwise gzip)
  --level N                compression level (gzip 0-9, zstd 1-22)
  --source-date-epoch S    clamp mtimes newer than S seconds (default: $SOURCE_DATE_EPOCH)
  --no-opaque              only .wh. whiteouts, never an opaque marker (umoci style)
  --write-digest-to FILE   also write the digest to FILE
  --json                   print {digest, diffID, size, mediaType, changes} instead of the digest
${EXCLUDE_HELP}
  -q, --quiet              no logs on stderr
  -h, --help               this help
`;

function compressionFor(output: string, flag: string | undefined): Compression {
  if (flag !== undefined) {
    if (flag !== 'gzip' && flag !== 'zstd' && flag !== 'none') throw usageError(`diff: --compression must be gzip, zstd or none, got ${flag}`);
    return flag;
  }
  if (/\.(tar\.zst|tar\.zstd|tzst)$/.test(output)) return 'zstd';
  if (/\.tar$/.test(output)) return 'none';
  return 'gzip';
}

function intOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw usageError(`diff: ${name} must be a non-negative integer, got ${v}`);
  return Number(v);
}

export async function diffCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      compression: { type: 'string' },
      level: { type: 'string' },
      'source-date-epoch': { type: 'string' },
      'no-opaque': { type: 'boolean', default: false },
      'write-digest-to': { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      ...EXCLUDE_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(DIFF_HELP);
    return 0;
  }
  if (positionals.length !== 2) throw usageError('diff: give OLD and NEW (see layerkit diff --help)');
  if (!values.output) throw usageError('diff: -o LAYER is required');
  const [oldSpec, newSpec] = positionals as [string, string];
  const output = values.output;
  const compression = compressionFor(output, values.compression);
  const level = intOption('--level', values.level);
  const sourceDateEpoch = intOption('--source-date-epoch', values['source-date-epoch'] ?? process.env.SOURCE_DATE_EPOCH);
  await assertOutsideTrees(output, [oldSpec, newSpec]);

  const quiet = values.quiet;
  const t0 = performance.now();
  // Both outputs are prepared before any work (an unwritable digest path fails fast) and
  // committed together at the end: the layer is never left behind without its digest file.
  const digestTo = values['write-digest-to'];
  const digestFile = digestTo ? await createAtomicFile(digestTo) : undefined;
  let file;
  try {
    file = await createAtomicFile(output);
  } catch (e) {
    await digestFile?.abort();
    throw e;
  }
  const progress = new Progress(!quiet && process.stderr.isTTY === true);
  let result;
  try {
    result = await diff(nodeFs, oldSpec, newSpec, async (chunk) => {
      progress.add(chunk.length);
      await file.write(chunk);
    }, {
      compression, level, sourceDateEpoch, opaque: !values['no-opaque'],
      exclude: await excludePatterns(values),
      onChanges: (c) => { if (!quiet) log(`diff: ${c.length} changes; writing ${compression} layer to ${output}`); },
    });
    if (digestFile) await digestFile.write(new TextEncoder().encode(result.digest + '\n'));
    await file.commit();
  } catch (e) {
    await file.abort();
    await digestFile?.abort();
    throw e;
  } finally {
    progress.done();
  }
  if (digestFile) {
    try {
      await digestFile.commit();
    } catch (e) {
      // The layer is in place but its digest file is not: take the layer back so a failed run
      // leaves nothing that looks complete.
      await rm(output, { force: true });
      throw e;
    }
  }
  if (!quiet) {
    const c = result.changes;
    log(`diff: ${c.added} added, ${c.changed} changed, ${c.deleted} deleted; ${result.size} bytes (tar ${result.tarSize}) in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    log(`diff: diffID ${result.diffID}`);
  }
  if (values.json) out(JSON.stringify({ digest: result.digest, diffID: result.diffID, size: result.size, mediaType: result.mediaType, changes: result.changes }));
  else out(result.digest);
  return 0;
}
