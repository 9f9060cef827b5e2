/** `layerkit hash FILE...`: BLAKE3 / SHA-256 digests and chunk lists of files. */
import { parseArgs } from 'node:util';
import { hashFile } from '../hash/file.ts';
import { nodeFsSyncReads as nodeFs } from '../fs/node-sync.ts';
import { out, toHex, usageError } from './io.ts';

export const HASH_HELP = `Usage: layerkit hash [options] FILE...

Print the digest of each FILE, one line per file: "<hex>  <path>" (like b3sum and sha256sum).

Options:
  --algo blake3|sha256   digest to print (default blake3)
  --chunks               also print the content-defined chunk list (offset length blake3)
  --json                 print one JSON object per file instead
  -h, --help             this help
`;

export async function hashCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      algo: { type: 'string', default: 'blake3' },
      chunks: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out(HASH_HELP);
    return 0;
  }
  if (values.algo !== 'blake3' && values.algo !== 'sha256') throw usageError(`hash: --algo must be blake3 or sha256, got ${values.algo}`);
  if (positionals.length === 0) throw usageError('hash: no FILE given (see layerkit hash --help)');
  for (const path of positionals) {
    const r = await hashFile(nodeFs, path, { blake3: true, sha256: values.algo === 'sha256', chunks: values.chunks });
    const digest = values.algo === 'sha256' ? r.sha256! : r.blake3!;
    if (values.json) {
      out(JSON.stringify({
        path, size: r.size, blake3: toHex(r.blake3!), ...(r.sha256 ? { sha256: toHex(r.sha256) } : {}),
        ...(r.chunks ? { chunks: r.chunks.map((c) => ({ offset: c.offset, length: c.length, blake3: toHex(c.blake3) })) } : {}),
      }));
    } else {
      out(`${toHex(digest)}  ${path}`);
      for (const c of r.chunks ?? []) out(`  ${c.offset} ${c.length} ${toHex(c.blake3)}`);
    }
  }
  return 0;
}
