/** The layerkit command: verb dispatch. Results go to stdout, logs and errors to stderr. */
import '../platform/node.ts';
import { hashCommand } from './hash.ts';
import { snapshotCommand } from './snapshot.ts';
import { changesCommand } from './changes.ts';
import { out, reportError, usageError } from './io.ts';

const HELP = `Usage: layerkit <command> [options]

Commands:
  snapshot DIR -o FILE   save a tree's snapshot manifest
  changes OLD NEW        list what changed (A|C|D path), like docker diff
  hash FILE...           BLAKE3 / SHA-256 digests (and chunk lists) of files

Run "layerkit <command> --help" for a command's options. Exit codes: see README.md.
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  hash: hashCommand,
  snapshot: snapshotCommand,
  changes: changesCommand,
};

export async function main(argv: string[]): Promise<number> {
  try {
    const [verb, ...rest] = argv;
    if (verb === undefined || verb === '-h' || verb === '--help' || verb === 'help') {
      out(HELP);
      return verb === undefined ? 2 : 0;
    }
    const cmd = COMMANDS[verb];
    if (!cmd) throw usageError(`unknown command "${verb}" (see layerkit --help)`);
    return await cmd(rest);
  } catch (e) {
    // node:util parseArgs errors carry ERR_PARSE_ARGS_* codes: they are usage errors.
    const code = (e as { code?: string })?.code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return reportError(usageError((e as Error).message));
    return reportError(e);
  }
}
