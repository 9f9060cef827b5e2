// `layerkit diff` through the library under Deno, for test/e2e/diff-tools.test.ts (which compares
// the bytes with the Node CLI's). The same imports as the Node CLI: the node:fs adapter and the
// Node platform wiring (node:crypto SHA-256, node:zlib gzip), which Deno serves from its node: layer.
//   node_modules/.bin/deno run --no-check -A test/e2e/deno-diff.ts OLD NEW OUT COMPRESSION [EPOCH]
// Writes the blob to OUT and prints {"digest","diffID","size"} on stdout.
import '../../src/platform/node.ts';
import { writeFileSync } from 'node:fs';
import { nodeFs } from '../../src/fs/node.ts';
import { diff } from '../../src/api/diff.ts';
import type { Compression } from '../../src/oci/media-types.ts';

declare const Deno: { args: string[]; exit(code: number): never };

const [oldDir, newDir, out, compression, epoch] = Deno.args;
if (!oldDir || !newDir || !out || !compression) {
  console.error('usage: deno-diff.ts OLD NEW OUT gzip|zstd|none [SOURCE_DATE_EPOCH]');
  Deno.exit(2);
}
const parts: Uint8Array[] = [];
const r = await diff(nodeFs, oldDir, newDir, (chunk) => {
  parts.push(chunk.slice());
}, {
  compression: compression as Compression,
  sourceDateEpoch: epoch === undefined ? undefined : Number(epoch),
});
const blob = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
let off = 0;
for (const p of parts) {
  blob.set(p, off);
  off += p.length;
}
writeFileSync(out, blob);
console.log(JSON.stringify({ digest: r.digest, diffID: r.diffID, size: r.size }));
