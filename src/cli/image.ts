/** `layerkit image init|add-layer|ls|inspect|export|unpack|flatten`: OCI image layouts. */
import { parseArgs } from 'node:util';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { realpath } from 'node:fs/promises';
import { nodeStoreFs } from '../fs/node-store.ts';
import { nodeFsSyncReads } from '../fs/node-sync.ts';
import {
  addLayerBlob, addLayerFromDiff, exportDockerArchive, flattenImage, initImageLayout, inspectImage, listImages, unpackImage,
} from '../api/image.ts';
import { nodeFs } from '../fs/node.ts';
import { INCOMPLETE_MARKER } from '../oci/apply.ts';
import { DEFAULT_LIMITS } from '../tar/limits.ts';
import { LIMIT_OPTIONS, limitsFrom, prepareTarget } from './apply.ts';
import { rfc3339, type HistoryEntry } from '../oci/image-config.ts';
import type { Platform } from '../oci/layout/descriptor.ts';
import type { Compression } from '../oci/media-types.ts';
import { wrapError } from '../errors.ts';
import { log, out, usageError } from './io.ts';
import { EXCLUDE_HELP, EXCLUDE_OPTIONS, excludePatterns } from './options.ts';
import { assertOutsideTrees, createAtomicFile } from './output.ts';

export const IMAGE_HELP = `Usage: layerkit image <command> [options]

OCI image layouts (a directory with oci-layout, index.json and blobs/sha256/). An image is named
LAYOUT:TAG; the tag is the org.opencontainers.image.ref.name annotation in index.json. Blobs are
written to LAYOUT/.layerkit-tmp/, synced and renamed to their digest; index.json is replaced
atomically. One writer per layout at a time.

Commands:
  init DIR                          create an empty layout
  add-layer LAYOUT:TAG LAYER        add a layer file (tar, tar+gzip or tar+zstd, e.g. from
                                    "layerkit diff") on top of TAG (a new image if TAG is new)
  add-layer LAYOUT:TAG --diff OLD NEW
                                    diff OLD and NEW straight into the layout and add the layer
  ls LAYOUT                         list the images (tag, manifest digest, platform)
  inspect LAYOUT[:TAG]              manifest, config, layers (digest, diffID, chainID), history
  export LAYOUT[:TAG] --format docker-archive -o FILE
                                    write a docker-archive (docker load, skopeo docker-archive:)
  unpack LAYOUT[:TAG] DIR           apply the image's layers in order onto DIR (verified, safe)
  flatten LAYOUT[:TAG] --tag NEW    NEW: a one-layer image whose unpack equals TAG's

Run "layerkit image <command> --help" for a command's options.
`;

const ADD_HELP = `Usage: layerkit image add-layer [options] LAYOUT:TAG LAYER
       layerkit image add-layer [options] LAYOUT:TAG --diff OLD NEW

Store LAYER (or the layer that turns OLD into NEW) in the layout and point TAG at a new image:
TAG's image (or --base's) plus this layer on top. When TAG does not exist and no --base is given,
the image starts empty. Prints the new manifest digest (--json: the layer and manifest).
The layer's compression is read from its first bytes (gzip, zstd, else tar) unless --media-type
says; its diffID is computed by decompressing it.

Options:
  --base TAG               start from this tag's image
  --history TEXT           created_by of the layer's history entry (default "layerkit image add-layer")
  --platform OS/ARCH[/V]   platform of a new image (default: this machine's); picks a manifest in
                           a multi-platform base
  --source-date-epoch S    creation time in the history entry and config (default: $SOURCE_DATE_EPOCH;
                           without either, no time is recorded: the image is reproducible)
  --media-type TYPE        the layer's media type (checked against its bytes)
  --diff                   take OLD NEW (directories; OLD may be a snapshot) instead of LAYER
  --compression KIND       with --diff: gzip (default), zstd or none
  --level N                with --diff: compression level
  --no-opaque              with --diff: only .wh. whiteouts
${EXCLUDE_HELP}
  --json                   print {digest, diffID, size, mediaType, manifest} instead
  -q, --quiet              no logs on stderr
  -h, --help               this help
`;

const EXPORT_HELP = `Usage: layerkit image export [options] LAYOUT[:TAG] --format docker-archive -o FILE

Write the image as a docker-archive tar (manifest.json, the config, each layer as an
uncompressed tar): "docker load -i FILE" and "skopeo copy docker-archive:FILE ..." read it.

Options:
  --format docker-archive  the only format so far
  -o, --output FILE        the archive (written to a temp name, synced, then renamed)
  --repo-tag NAME:TAG      RepoTags entry (repeatable; default none: docker load leaves it untagged)
  --platform OS/ARCH[/V]   choose a manifest of a multi-platform image
  -h, --help               this help
`;

const UNPACK_HELP = `Usage: layerkit image unpack [options] LAYOUT[:TAG] DIR

Apply the image's layers, bottom first, onto DIR (created if missing) the way "layerkit apply"
does: layers are untrusted (names that leave DIR, hardlinks out of it, malformed whiteouts and
over-limit input are refused; symlinks resolve as if DIR were the root), whiteouts and opaque
markers are applied, and every layer is checked against the manifest's digest and size and the
config's diffID. DIR itself is the root filesystem (umoci unpack writes DIR/rootfs instead).

While it runs, and after a failure, DIR holds ${INCOMPLETE_MARKER}: a later apply or unpack
refuses such a directory unless --force. Without root, ownership is recorded in the
user.rootlesscontainers xattr (as umoci does) and device nodes are skipped with a warning.

Options:
  --rootless               do not try chown: record ownership instead
  --no-xattrs              do not apply SCHILY.xattr.* records
  --force                  unpack into a directory marked incomplete
  --platform OS/ARCH[/V]   choose a manifest of a multi-platform image
  --max-bytes N            decompressed bytes per layer (default ${DEFAULT_LIMITS.maxBytes})
  --max-entries N          entries per layer (default ${DEFAULT_LIMITS.maxEntries})
  --max-name N             bytes in a name or link target (default ${DEFAULT_LIMITS.maxNameBytes})
  --max-header N           bytes in one PAX/GNU extended header (default ${DEFAULT_LIMITS.maxHeaderBytes})
  --json                   print the result as JSON
  -q, --quiet              no logs on stderr
  -h, --help               this help

Exit codes as for apply: 6 digest/diffID mismatch, corrupt layer or incomplete target; 7 unsafe.
`;

const FLATTEN_HELP = `Usage: layerkit image flatten [options] LAYOUT[:TAG] --tag NEWTAG

Write a one-layer image NEWTAG whose unpack equals TAG's: the layers are flattened by
"layerkit flatten" rules (whiteouts resolved across the stack, what later layers replace or
delete left out; read twice, streamed, each layer verified) into one blob in the layout. The new
config keeps TAG's (platform, runtime config, author) with rootfs.diff_ids = [the new diffID]
and one history entry. Prints the new manifest digest (--json: layer and manifest).

Options:
  --tag NEWTAG             the new image's tag (required; may be TAG itself to replace it)
  --compression KIND       gzip (default), zstd or none
  --level N                compression level
  --history TEXT           created_by of the history entry (default "layerkit image flatten")
  --source-date-epoch S    creation time of the history entry and config (default:
                           $SOURCE_DATE_EPOCH; without either the source config's is kept)
  --platform OS/ARCH[/V]   choose a manifest of a multi-platform image
  --json                   print {digest, diffID, size, mediaType, manifest, records, written}
  -q, --quiet              no logs on stderr
  -h, --help               this help
`;

/** Split LAYOUT[:TAG] at the last ':' after the last '/'. */
export function splitRef(spec: string): { dir: string; tag?: string } {
  const slash = spec.lastIndexOf('/');
  const colon = spec.lastIndexOf(':');
  if (colon > slash && colon > 0) return { dir: spec.slice(0, colon), tag: spec.slice(colon + 1) };
  return { dir: spec };
}

function hostPlatform(): Platform {
  const arch: Record<string, [string, string?]> = {
    x64: ['amd64'], arm64: ['arm64'], arm: ['arm', 'v7'], ia32: ['386'], ppc64: ['ppc64le'], s390x: ['s390x'], riscv64: ['riscv64'], loong64: ['loong64'],
  };
  const [architecture, variant] = arch[process.arch] ?? [process.arch];
  const p: Platform = { os: process.platform === 'win32' ? 'windows' : process.platform, architecture };
  if (variant) p.variant = variant;
  return p;
}

function parsePlatform(s: string | undefined): Platform | undefined {
  if (s === undefined) return undefined;
  const [os, architecture, variant, ...more] = s.split('/');
  if (!os || !architecture || more.length) throw usageError(`--platform must be OS/ARCH[/VARIANT], got ${s}`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

function intOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw usageError(`${name} must be a non-negative integer, got ${v}`);
  return Number(v);
}

export async function imageCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'init': return initCmd(rest);
    case 'add-layer': return addLayerCmd(rest);
    case 'ls': return lsCmd(rest);
    case 'inspect': return inspectCmd(rest);
    case 'export': return exportCmd(rest);
    case 'unpack': return unpackCmd(rest);
    case 'flatten': return flattenCmd(rest);
    case undefined: case '-h': case '--help': case 'help':
      process.stdout.write(IMAGE_HELP);
      return sub === undefined ? 2 : 0;
    default:
      throw usageError(`image: unknown command "${sub}" (see layerkit image --help)`);
  }
}

async function initCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    out('Usage: layerkit image init DIR\n\nCreate an empty OCI image layout in DIR (made if missing).');
    return 0;
  }
  if (positionals.length !== 1) throw usageError('image init: give exactly one DIR');
  await initImageLayout(nodeStoreFs, positionals[0]!);
  return 0;
}

async function addLayerCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      base: { type: 'string' },
      history: { type: 'string' },
      platform: { type: 'string' },
      'source-date-epoch': { type: 'string' },
      'media-type': { type: 'string' },
      diff: { type: 'boolean', default: false },
      compression: { type: 'string' },
      level: { type: 'string' },
      'no-opaque': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      ...EXCLUDE_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(ADD_HELP);
    return 0;
  }
  const want = values.diff ? 3 : 2;
  if (positionals.length !== want) throw usageError(`image add-layer: give LAYOUT:TAG and ${values.diff ? 'OLD NEW' : 'LAYER'} (see layerkit image add-layer --help)`);
  const { dir, tag } = splitRef(positionals[0]!);
  if (tag === undefined) throw usageError(`image add-layer: ${positionals[0]} names no tag (LAYOUT:TAG)`);
  const sde = intOption('--source-date-epoch', values['source-date-epoch'] ?? process.env.SOURCE_DATE_EPOCH);
  const created = sde === undefined ? undefined : rfc3339(sde);
  const history: HistoryEntry = {};
  if (created) history.created = created;
  history.created_by = values.history ?? 'layerkit image add-layer';
  const platform = parsePlatform(values.platform);
  // A new image gets this machine's platform unless told; a base image keeps its own.
  const addOptions = { base: values.base, history, created, platform: platform ?? (values.base ? undefined : hostPlatform()) };

  let r;
  if (values.diff) {
    const [oldSpec, newSpec] = positionals.slice(1) as [string, string];
    await assertOutsideTrees(dir, [oldSpec, newSpec]);
    const c = values.compression ?? 'gzip';
    if (c !== 'gzip' && c !== 'zstd' && c !== 'none') throw usageError(`image add-layer: --compression must be gzip, zstd or none, got ${c}`);
    if (values['media-type']) throw usageError('image add-layer: --media-type is for LAYER files; with --diff use --compression');
    r = await addLayerFromDiff(nodeStoreFs, dir, tag, nodeFsSyncReads, oldSpec, newSpec, {
      ...addOptions,
      diff: {
        compression: c as Compression, level: intOption('--level', values.level), sourceDateEpoch: sde,
        opaque: !values['no-opaque'], exclude: await excludePatterns(values),
      },
    });
  } else {
    const file = positionals[1]!;
    let source: AsyncIterable<Uint8Array>;
    try {
      source = file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 });
    } catch (e) {
      throw wrapError(e, `read ${file}`);
    }
    r = await addLayerBlob(nodeStoreFs, dir, tag, wrapReadErrors(source, file), { ...addOptions, mediaType: values['media-type'], name: file === '-' ? 'stdin' : basename(file) });
  }
  if (!values.quiet) log(`image add-layer: ${dir}:${tag} = ${r.manifest.digest} (layer ${r.digest}, diffID ${r.diffID}, ${r.size} bytes)`);
  if (values.json) out(JSON.stringify({ digest: r.digest, diffID: r.diffID, size: r.size, mediaType: r.mediaType, manifest: r.manifest }));
  else out(r.manifest.digest);
  return 0;
}

async function* wrapReadErrors(source: AsyncIterable<Uint8Array>, file: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const c of source) yield c;
  } catch (e) {
    throw wrapError(e, `read ${file}`);
  }
}

async function lsCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    out('Usage: layerkit image ls [--json] LAYOUT\n\nOne line per image in index.json: TAG (or <none>), manifest digest, platform, media type.');
    return 0;
  }
  if (positionals.length !== 1) throw usageError('image ls: give exactly one LAYOUT');
  const images = await listImages(nodeStoreFs, positionals[0]!);
  if (values.json) out(JSON.stringify(images));
  else {
    for (const i of images) {
      const p = i.platform ? `${i.platform.os}/${i.platform.architecture}${i.platform.variant ? `/${i.platform.variant}` : ''}` : '-';
      out(`${i.tag ?? '<none>'}\t${i.digest}\t${p}\t${i.mediaType}`);
    }
  }
  return 0;
}

async function inspectCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { platform: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    out('Usage: layerkit image inspect [--platform OS/ARCH[/V]] LAYOUT[:TAG]\n\nPrint the image as JSON: manifest and config digests, platform, creation time, layers\n(digest, media type, size, diffID, chainID), history. Every document read is verified.');
    return 0;
  }
  if (positionals.length !== 1) throw usageError('image inspect: give exactly one LAYOUT[:TAG]');
  const { dir, tag } = splitRef(positionals[0]!);
  out(JSON.stringify(await inspectImage(nodeStoreFs, dir, tag, parsePlatform(values.platform)), null, 2));
  return 0;
}

async function exportCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      output: { type: 'string', short: 'o' },
      'repo-tag': { type: 'string', multiple: true, default: [] as string[] },
      platform: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(EXPORT_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw usageError('image export: give exactly one LAYOUT[:TAG]');
  if (values.format !== 'docker-archive') throw usageError(`image export: --format must be docker-archive${values.format ? `, got ${values.format}` : ''}`);
  if (!values.output) throw usageError('image export: -o FILE is required');
  const { dir, tag } = splitRef(positionals[0]!);
  const tar = await exportDockerArchive(nodeStoreFs, dir, tag, { repoTags: values['repo-tag'], platform: parsePlatform(values.platform) });
  const file = await createAtomicFile(values.output);
  try {
    for await (const c of tar) await file.write(c);
    await file.commit();
  } catch (e) {
    await file.abort();
    throw e;
  }
  return 0;
}

async function unpackCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      rootless: { type: 'boolean', default: false },
      'no-xattrs': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      platform: { type: 'string' },
      ...LIMIT_OPTIONS,
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(UNPACK_HELP);
    return 0;
  }
  if (positionals.length !== 2) throw usageError('image unpack: give LAYOUT[:TAG] and DIR (see layerkit image unpack --help)');
  const { dir, tag } = splitRef(positionals[0]!);
  const limits = limitsFrom('image unpack', values);
  const target = await prepareTarget('image unpack', positionals[1]!);
  const layoutReal = await realpath(dir).catch(() => dir);
  if (layoutReal === target || layoutReal.startsWith(`${target}/`)) {
    throw usageError(`image unpack: the layout ${dir} is inside the target ${positionals[1]}: unpack elsewhere`);
  }
  const quiet = values.quiet;
  const t0 = performance.now();
  const result = await unpackImage(nodeStoreFs, dir, tag, target, {
    fs: nodeFs,
    limits,
    rootless: values.rootless ? true : 'auto',
    xattrs: !values['no-xattrs'],
    force: values.force,
    platform: parsePlatform(values.platform),
    onWarning: (w) => { if (!quiet) log(`image unpack: warning: ${w.path}: ${w.message}`); },
  });
  if (!quiet) {
    log(`image unpack: ${positionals[0]} (${result.manifest.digest}): ${result.layers.length} layers, ${result.entries} entries in ${((performance.now() - t0) / 1000).toFixed(2)} s${result.rootless ? `; rootless: ${result.ownershipRecorded} owners recorded, ${result.devicesSkipped} devices skipped` : ''}${result.xattrsSkipped ? `; ${result.xattrsSkipped} xattrs not applied` : ''}`);
  }
  if (values.json) out(JSON.stringify(result));
  return 0;
}

async function flattenCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tag: { type: 'string' },
      compression: { type: 'string' },
      level: { type: 'string' },
      history: { type: 'string' },
      'source-date-epoch': { type: 'string' },
      platform: { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(FLATTEN_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw usageError('image flatten: give exactly one LAYOUT[:TAG] (see layerkit image flatten --help)');
  if (!values.tag) throw usageError('image flatten: --tag NEWTAG is required');
  const c = values.compression ?? 'gzip';
  if (c !== 'gzip' && c !== 'zstd' && c !== 'none') throw usageError(`image flatten: --compression must be gzip, zstd or none, got ${c}`);
  const { dir, tag } = splitRef(positionals[0]!);
  const sde = intOption('--source-date-epoch', values['source-date-epoch'] ?? process.env.SOURCE_DATE_EPOCH);
  const history: HistoryEntry = {};
  if (sde !== undefined) history.created = rfc3339(sde);
  history.created_by = values.history ?? 'layerkit image flatten';
  const t0 = performance.now();
  const r = await flattenImage(nodeStoreFs, dir, tag, values.tag, {
    compression: c as Compression, level: intOption('--level', values.level), history, platform: parsePlatform(values.platform),
  });
  if (!values.quiet) log(`image flatten: ${positionals[0]} (${r.sourceLayers} layers, ${r.records} records) -> ${dir}:${values.tag} = ${r.manifest.digest} (layer ${r.digest}, ${r.written} entries, ${r.size} bytes) in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  if (values.json) out(JSON.stringify({ digest: r.digest, diffID: r.diffID, size: r.size, mediaType: r.mediaType, manifest: r.manifest, records: r.records, written: r.written }));
  else out(r.manifest.digest);
  return 0;
}
