/** `layerkit snapshot DIR -o FILE`: save a tree's manifest (metadata + BLAKE3 of every file). */
import { parseArgs } from 'node:util';
import { nodeFsSyncReads as nodeFs } from '../fs/node-sync.ts';
import { snapshotEntries } from '../tree/snapshot.ts';
import { newWalkStats } from '../tree/walk.ts';
import { saveManifest, readManifestFile } from '../tree/manifest-file.ts';
import { excludePredicate } from '../api/tree-source.ts';
import { log, usageError } from './io.ts';
import { assertOutsideTrees } from './output.ts';
import { EXCLUDE_HELP, EXCLUDE_OPTIONS, excludePatterns } from './options.ts';

export const SNAPSHOT_HELP = `Usage: layerkit snapshot [options] DIR -o FILE

Record DIR's tree (paths, types, modes, owners, sizes, mtimes in ns, link targets, hardlinks,
BLAKE3 of every regular file) in a compact snapshot manifest. A snapshot stands in for OLD in
"layerkit changes" and "layerkit diff", so OLD need not be kept around.

Options:
  -o, --output FILE      where to write the manifest (written to a temp name, then renamed)
  --previous FILE        an earlier snapshot of DIR: files whose stat is unchanged are not re-read
${EXCLUDE_HELP}
  -q, --quiet            no summary on stderr
  -h, --help             this help
`;

export async function snapshotCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      previous: { type: 'string' },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      ...EXCLUDE_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(SNAPSHOT_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw usageError('snapshot: give exactly one DIR (see layerkit snapshot --help)');
  if (!values.output) throw usageError('snapshot: -o FILE is required');
  const dir = positionals[0]!;
  // The manifest (its temp name first) would be recorded in itself, and differ from the tree at once.
  await assertOutsideTrees(values.output, [dir], 'being snapshotted');
  // Streaming: the previous manifest is read, the tree walked and the new manifest written in step.
  const previous = values.previous ? readManifestFile(nodeFs, values.previous) : undefined;
  const t0 = performance.now();
  const s = newWalkStats();
  const exclude = excludePredicate(await excludePatterns(values));
  await saveManifest(nodeFs, values.output, snapshotEntries(nodeFs, dir, { previous, exclude }, s));
  if (!values.quiet) {
    log(`snapshot ${dir}: ${s.entries} entries, ${s.files} files (${s.hashed} hashed, ${s.reused} reused, ${s.shared} hardlinked) in ${((performance.now() - t0) / 1000).toFixed(2)} s -> ${values.output}`);
  }
  return 0;
}
