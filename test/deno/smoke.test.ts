// Deno smoke suite: the same digests as Node on the same bytes (expected.json is checked against
// independent implementations by test/smoke.test.ts under Node). Run: npm run test:deno
import * as lib from '../../src/index.node.ts';
import { runSmoke, runSmokeAsync } from '../smoke/cases.js';
import expected from '../smoke/expected.json' with { type: 'json' };

declare const Deno: {
  test(name: string, fn: () => void | Promise<void>): void;
  makeTempFile(): Promise<string>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  remove(path: string): Promise<void>;
};

function assertEqual(got: unknown, want: unknown, what: string): void {
  if (got !== want) throw new Error(`${what}: got ${String(got).slice(0, 200)}, want ${String(want).slice(0, 200)}`);
}

Deno.test('kernels give the same digests (and gzip bytes) as Node', async () => {
  const got = { ...runSmoke(lib), ...(await runSmokeAsync(lib)) } as Record<string, string>;
  const want = expected as Record<string, string>;
  assertEqual(Object.keys(got).length, Object.keys(want).length, 'number of cases');
  for (const k of Object.keys(want)) assertEqual(got[k], want[k], k);
});

Deno.test('hashFile reads through node:fs into kernel memory', async () => {
  const path = await Deno.makeTempFile();
  try {
    const { pseudoRandom } = await import('../smoke/cases.js');
    const data = pseudoRandom(3 << 20);
    await Deno.writeFile(path, data);
    const r = await lib.hashFile(lib.nodeFs, path, { blake3: true, sha256: true, chunks: true });
    const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    const want = expected as Record<string, string>;
    assertEqual(hex(r.blake3!), want['content/blake3'], 'file blake3');
    assertEqual(hex(r.sha256!), want['content/sha256'], 'file sha256');
    assertEqual(r.chunks!.map((x) => `${x.offset}+${x.length}:${hex(x.blake3)}`).join(','), want['content/chunks'], 'file chunks');
  } finally {
    await Deno.remove(path);
  }
});

Deno.test('bad input gets a stable code', () => {
  let code: unknown;
  try { lib.blake3('text' as unknown as Uint8Array); } catch (e) { code = (e as { code?: string }).code; }
  assertEqual(code, 'ERR_INVALID_ARG', 'string input');
});
