/** `layerkit changes OLD NEW`: what changed, like `docker diff` (A|C|D path). */
import { parseArgs } from 'node:util';
import { nodeFsSyncReads as nodeFs } from '../fs/node-sync.ts';
import { changes } from '../api/changes.ts';
import type { TreeChange } from '../tree/changes.ts';
import { out, usageError } from './io.ts';
import { EXCLUDE_HELP, EXCLUDE_OPTIONS, excludePatterns } from './options.ts';

export const CHANGES_HELP = `Usage: layerkit changes [options] OLD NEW

List what changed from OLD to NEW (each a directory or a snapshot from "layerkit snapshot"), one
line per change, children after their parents:
  A /path    added
  C /path    changed (content, metadata or type)
  D /path    deleted (a deleted directory is one line: its contents are implied)
Directories whose only change is their mtime are not listed. Content is read only when metadata
cannot decide (equal size and mtimes that are whole seconds, or less than a second old when seen).

Options:
  --json                 print {"added":[...],"changed":[...],"deleted":[...]} instead
${EXCLUDE_HELP}
  -h, --help             this help
`;

const LETTER: Record<string, string> = { add: 'A', modify: 'C', delete: 'D' };

export async function changesCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      ...EXCLUDE_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(CHANGES_HELP);
    return 0;
  }
  if (positionals.length !== 2) throw usageError('changes: give OLD and NEW (see layerkit changes --help)');
  const r = await changes(nodeFs, positionals[0]!, positionals[1]!, { exclude: await excludePatterns(values) });
  printChanges(r.changes, values.json);
  return 0;
}

/** A change list as `layerkit changes` prints it (A|C|D /path lines, or --json). */
export function printChanges(list: readonly TreeChange[], json: boolean): void {
  if (json) {
    const j = { added: [] as string[], changed: [] as string[], deleted: [] as string[] };
    for (const c of list) (c.kind === 'add' ? j.added : c.kind === 'modify' ? j.changed : j.deleted).push('/' + c.path);
    out(JSON.stringify(j));
  } else {
    const lines: string[] = [];
    for (const c of list) lines.push(`${LETTER[c.kind]} /${c.path}`);
    if (lines.length) out(lines.join('\n'));
  }
}
