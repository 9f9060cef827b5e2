/** `layerkit apply LAYER... --to DIR`: unpack layers (untrusted) onto a directory. */
import { parseArgs } from 'node:util';
import { createReadStream } from 'node:fs';
import { mkdir, realpath } from 'node:fs/promises';
import { nodeFs } from '../fs/node.ts';
import { applyLayers, INCOMPLETE_MARKER, type LayerSource } from '../oci/apply.ts';
import { DEFAULT_LIMITS, type TarLimits } from '../tar/limits.ts';
import { wrapError } from '../errors.ts';
import { log, out, usageError } from './io.ts';

export const APPLY_HELP = `Usage: layerkit apply [options] LAYER... --to DIR

Apply OCI layer blobs (tar, tar+gzip or tar+zstd: detected from the bytes) in order onto DIR,
created if missing. Layers are untrusted: names that leave DIR, hardlinks out of it, malformed
whiteouts and over-limit input are refused; symlinks are resolved as if DIR were the root.
Whiteouts (.wh.NAME) and opaque markers are applied, not created.

While it runs, and after a failure, DIR holds ${INCOMPLETE_MARKER}: a later apply refuses such a
directory unless --force. Without root, ownership is recorded in the user.rootlesscontainers
xattr (as umoci does) and device nodes are skipped with a warning.

Options:
  --to DIR                 the target directory
  --digest SHA256          expected digest (sha256:<hex>) of the blob; repeat once per LAYER
  --diff-id SHA256         expected diffID (sha256 of the tar); repeat once per LAYER
  --rootless               do not try chown: record ownership instead
  --no-xattrs              do not apply SCHILY.xattr.* records
  --force                  apply into a directory marked incomplete
  --max-bytes N            decompressed bytes per layer (default ${DEFAULT_LIMITS.maxBytes})
  --max-entries N          entries per layer (default ${DEFAULT_LIMITS.maxEntries})
  --max-name N             bytes in a name or link target (default ${DEFAULT_LIMITS.maxNameBytes})
  --max-header N           bytes in one PAX/GNU extended header (default ${DEFAULT_LIMITS.maxHeaderBytes})
  --json                   print the result as JSON
  -q, --quiet              no logs on stderr
  -h, --help               this help

Exit codes: 0 applied; 3 malformed input (bad whiteout, conflict); 6 corrupt, truncated, digest
mismatch or incomplete target; 7 unsafe (path or hardlink escapes, limits). See README.md.
`;

function intOption(verb: string, name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) <= 0) throw usageError(`${verb}: ${name} must be a positive integer, got ${v}`);
  return Number(v);
}

/** The --max-* options of apply (shared with image unpack). */
export const LIMIT_OPTIONS = {
  'max-bytes': { type: 'string' },
  'max-entries': { type: 'string' },
  'max-name': { type: 'string' },
  'max-header': { type: 'string' },
} as const;

export function limitsFrom(verb: string, values: { 'max-bytes'?: string; 'max-entries'?: string; 'max-name'?: string; 'max-header'?: string }): Partial<TarLimits> {
  const limits: Partial<TarLimits> = {};
  const set = (k: keyof TarLimits, flag: string, v: string | undefined) => {
    const n = intOption(verb, flag, v);
    if (n !== undefined) limits[k] = n;
  };
  set('maxBytes', '--max-bytes', values['max-bytes']);
  set('maxEntries', '--max-entries', values['max-entries']);
  set('maxNameBytes', '--max-name', values['max-name']);
  set('maxLinkBytes', '--max-name', values['max-name']);
  set('maxHeaderBytes', '--max-header', values['max-header']);
  return limits;
}

/** mkdir -p DIR, then its real path (the applier resolves names below it). */
export async function prepareTarget(verb: string, dir: string): Promise<string> {
  try {
    await mkdir(dir, { recursive: true });
    return await realpath(dir);
  } catch (e) {
    throw wrapError(e, `${verb}: target ${dir}`);
  }
}

export async function applyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      to: { type: 'string' },
      digest: { type: 'string', multiple: true, default: [] as string[] },
      'diff-id': { type: 'string', multiple: true, default: [] as string[] },
      rootless: { type: 'boolean', default: false },
      'no-xattrs': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      ...LIMIT_OPTIONS,
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(APPLY_HELP);
    return 0;
  }
  if (positionals.length === 0) throw usageError('apply: give at least one LAYER (see layerkit apply --help)');
  if (!values.to) throw usageError('apply: --to DIR is required');
  const digests = values.digest;
  const diffIDs = values['diff-id'];
  if (digests.length > 0 && digests.length !== positionals.length) throw usageError(`apply: ${digests.length} --digest for ${positionals.length} layers`);
  if (diffIDs.length > 0 && diffIDs.length !== positionals.length) throw usageError(`apply: ${diffIDs.length} --diff-id for ${positionals.length} layers`);
  const limits = limitsFrom('apply', values);
  const target = await prepareTarget('apply', values.to);
  const layers: LayerSource[] = positionals.map((file, i) => ({
    name: file,
    blob: () => readFileChunks(file),
    ...(digests[i] ? { digest: digests[i] } : {}),
    ...(diffIDs[i] ? { diffID: diffIDs[i] } : {}),
  }));
  const quiet = values.quiet;
  const t0 = performance.now();
  const result = await applyLayers(layers, target, {
    fs: nodeFs,
    limits,
    rootless: values.rootless ? true : 'auto',
    xattrs: !values['no-xattrs'],
    force: values.force,
    onWarning: (w) => { if (!quiet) log(`apply: warning: ${w.path}: ${w.message}`); },
  });
  if (!quiet) {
    for (const l of result.layers) log(`apply: ${l.name}: ${l.entries} entries (${l.whiteouts} whiteouts), ${l.compression}, diffID ${l.diffID}`);
    log(`apply: ${result.layers.length} layers, ${result.entries} entries in ${((performance.now() - t0) / 1000).toFixed(2)} s${result.rootless ? `; rootless: ${result.ownershipRecorded} owners recorded, ${result.devicesSkipped} devices skipped` : ''}${result.xattrsSkipped ? `; ${result.xattrsSkipped} xattrs not applied` : ''}`);
  }
  if (values.json) out(JSON.stringify(result));
  return 0;
}

async function* readFileChunks(file: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) yield chunk as Uint8Array;
  } catch (e) {
    throw wrapError(e, `read ${file}`);
  }
}
