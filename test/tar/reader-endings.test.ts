/**
 * Where a tar stream may end (src/tar/reader.ts): each cut of one archive is read by our reader and
 * by GNU tar and bsdtar, and the test states who accepts it (the two tars disagree with each other
 * too). Our rule is the layer readers' (Go's archive/tar, used by containerd, moby and umoci),
 * except that an empty stream is refused.
 */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readTar as ourReadTar } from '../../src/tar/reader.ts';
import { packTar } from '../../src/tar/writer.ts';
import { collect } from '../fixtures/tools.ts';

const enc = new TextEncoder();
const mtime = 1_700_000_000;

/** d/ (header), d/f = "hi\n" (header + 3 bytes + 509 padding), then the two zero blocks. */
async function archive(): Promise<Uint8Array> {
  return collect(packTar([
    { header: { name: 'd/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime } },
    { header: { name: 'd/f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, mtime }, body: [enc.encode('hi\n')] },
  ]));
}

async function ours(bytes: Uint8Array, chunk = 100): Promise<string[] | string> {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
  const names: string[] = [];
  try {
    for await (const e of ourReadTar(chunks)) {
      let body = '';
      for await (const c of e.body()) body += new TextDecoder().decode(c);
      names.push(body ? `${e.name}=${body.trim()}` : e.name);
    }
  } catch (e) {
    return (e as { code: string }).code;
  }
  return names;
}

function accepts(tool: string, bytes: Uint8Array): boolean {
  return spawnSync(tool, ['-tf', '-'], { input: bytes }).status === 0;
}

const ALL = ['d/', 'd/f=hi'];

describe('tar reader: where a stream may end', () => {
  // [case, cut (bytes kept), ours, GNU tar accepts, bsdtar accepts]
  const cases: [string, number, string[] | string, boolean, boolean][] = [
    ['whole archive (two zero blocks)', Infinity, ALL, true, true],
    ['one zero block, then EOF', 1536 + 512, ALL, true, true],
    ['EOF where a header would start (no zero block)', 1536, ALL, true, true],
    ['EOF inside the padding after a complete body (umoci 0.4.7 insert)', 1024 + 3, ALL, false, false],
    ['EOF inside a body', 1024 + 2, 'ERR_LAYER_TRUNCATED', false, false],
    // GNU tar takes a short last block for the end; bsdtar and Go's archive/tar do not
    ['EOF inside a header', 512 + 100, 'ERR_LAYER_TRUNCATED', true, false],
    // both tars stop at the first zero block; Go's archive/tar reads the second and fails
    ['EOF inside the second zero block', 1536 + 600, 'ERR_LAYER_TRUNCATED', true, true],
    ['an empty stream', 0, 'ERR_LAYER_TRUNCATED', false, true],
  ];
  for (const [name, cut, want, gnu, bsd] of cases) {
    test(`${name}: ours ${Array.isArray(want) ? 'reads it' : want}; GNU tar ${gnu ? 'accepts' : 'refuses'}; bsdtar ${bsd ? 'accepts' : 'refuses'}`, async () => {
      const whole = await archive();
      const bytes = whole.subarray(0, Math.min(cut, whole.length));
      for (const chunk of [1, 7, 100, 1 << 20]) expect(await ours(bytes, chunk)).toEqual(want);
      expect(accepts('tar', bytes)).toBe(gnu);
      expect(accepts('bsdtar', bytes)).toBe(bsd);
    });
  }

  test('EOF after a PAX header, before its entry, is truncated (the entry it describes is missing)', async () => {
    const whole = await collect(packTar([
      { header: { name: 'x/'.repeat(60) + 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime } },
    ]));
    // the PAX header and its records (two blocks), nothing of the entry's own header
    expect(await ours(whole.subarray(0, 1024))).toBe('ERR_LAYER_TRUNCATED');
    expect(await ours(whole)).toEqual(['x/'.repeat(60) + 'f']);
  });
});
