/** The layerkit command: verb dispatch. Results go to stdout, logs and errors to stderr. */
import '../platform/node.ts';
import { out, reportError, usageError } from './io.ts';

const HELP = `Usage: layerkit <command> [options]

Commands:
  snapshot DIR -o FILE   save a tree's snapshot manifest
  changes OLD NEW        list what changed (A|C|D path), like docker diff
  diff OLD NEW -o LAYER  write the OCI layer that turns OLD into NEW (digest on stdout)
  hash FILE...           BLAKE3 / SHA-256 digests (and chunk lists) of files
  apply LAYER... --to DIR   unpack layers (untrusted, whiteouts applied) onto DIR
  flatten LAYER... -o OUT   one layer equal to applying LAYER... in order
  image init|add-layer|ls|inspect|export|unpack|flatten
                         OCI image layouts: build images from layers, export docker-archive,
                         unpack an image onto a directory, flatten it to one layer
  snapshots CMD ...      containerd-style snapshots in a store: prepare, view, commit, rm, info, ls, usage
  store CMD              the snapshot store itself: init, check (fsck), ls, usage, gc
  container CMD ...      containers on OCI images (snapshot or --union): create, ls, diff, commit, rm, path, cp, rm-path

Run "layerkit <command> --help" for a command's options. Exit codes: see README.md.
`;

type Command = (argv: string[]) => Promise<number>;

/** Verbs load on demand: a command pays only for the modules it uses. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  hash: async () => (await import('./hash.ts')).hashCommand,
  snapshot: async () => (await import('./snapshot.ts')).snapshotCommand,
  changes: async () => (await import('./changes.ts')).changesCommand,
  diff: async () => (await import('./diff.ts')).diffCommand,
  apply: async () => (await import('./apply.ts')).applyCommand,
  flatten: async () => (await import('./flatten.ts')).flattenCommand,
  image: async () => (await import('./image.ts')).imageCommand,
  snapshots: async () => (await import('./snapshots.ts')).snapshotsCommand,
  store: async () => (await import('./snapshots.ts')).storeCommand,
  container: async () => (await import('./container.ts')).containerCommand,
};

export async function main(argv: string[]): Promise<number> {
  try {
    const [verb, ...rest] = argv;
    if (verb === undefined || verb === '-h' || verb === '--help' || verb === 'help') {
      out(HELP);
      return verb === undefined ? 2 : 0;
    }
    const load = Object.hasOwn(COMMANDS, verb) ? COMMANDS[verb] : undefined;
    if (!load) throw usageError(`unknown command "${verb}" (see layerkit --help)`);
    return await (await load())(rest);
  } catch (e) {
    // node:util parseArgs errors carry ERR_PARSE_ARGS_* codes: they are usage errors.
    const code = (e as { code?: string })?.code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return reportError(usageError((e as Error).message));
    return reportError(e);
  }
}
