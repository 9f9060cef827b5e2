// A real crash: `layerkit image add-layer LAYOUT:TAG -` is killed (SIGKILL) while the layer blob
// is being written. Afterwards no blob name shows partial bytes, index.json is byte-identical,
// and the layout reads as before. Needs the built CLI (npm run build).
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { tempDir } from '../fixtures/tools.ts';

const BIN = new URL('../../bin/layerkit.js', import.meta.url).pathname;
const tmp = tempDir('layerkit-crash-');
afterAll(() => tmp.dispose());

const cli = (args: string[], input?: Uint8Array) => spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8' });

/** A tar with one file of `size` random bytes (ustar, made by hand so the test needs no tar tool). */
function bigTar(size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write('big', 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\x0000', 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return Buffer.concat([h, randomBytes(size), Buffer.alloc(512 - (size % 512 || 512)), Buffer.alloc(1024)]);
}

function verifyBlobs(layout: string): number {
  const dir = join(layout, 'blobs', 'sha256');
  let n = 0;
  for (const name of fs.readdirSync(dir)) {
    expect(createHash('sha256').update(fs.readFileSync(join(dir, name))).digest('hex'), name).toBe(name);
    n++;
  }
  return n;
}

describe('crash while writing a layer', () => {
  it('SIGKILL mid-blob: no partial blob, index.json unchanged, layout still reads', async () => {
    const layout = join(tmp.path, 'img');
    expect(cli(['image', 'init', layout]).status).toBe(0);
    const small = bigTar(1000);
    expect(cli(['image', 'add-layer', '-q', `${layout}:base`, '-'], small).status).toBe(0);
    const indexBefore = fs.readFileSync(join(layout, 'index.json'));
    const blobsBefore = verifyBlobs(layout);

    const tar = bigTar(8 << 20);
    const child = spawn(process.execPath, [BIN, 'image', 'add-layer', '-q', `${layout}:base`, '-'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_c, sig) => resolve(sig)));
    child.stdin.on('error', () => {}); // EPIPE once the child is killed mid-write: expected
    // Feed the first half, then wait until the temporary blob holds some of it, then kill.
    child.stdin.write(tar.subarray(0, tar.length / 2));
    const tmpDir = join(layout, '.layerkit-tmp');
    const deadline = Date.now() + 30_000;
    let partial = 0;
    while (Date.now() < deadline) {
      const files = fs.existsSync(tmpDir) ? fs.readdirSync(tmpDir) : [];
      partial = files.reduce((n, f) => n + fs.statSync(join(tmpDir, f)).size, 0);
      if (partial > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(partial).toBeGreaterThan(0);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    expect(Buffer.compare(fs.readFileSync(join(layout, 'index.json')), indexBefore)).toBe(0);
    expect(verifyBlobs(layout)).toBe(blobsBefore);
    const ls = cli(['image', 'ls', layout]);
    expect(ls.status).toBe(0);
    expect(ls.stdout.split('\n').filter(Boolean).length).toBe(1);
    expect(JSON.parse(cli(['image', 'inspect', `${layout}:base`]).stdout).layers.length).toBe(1);
    // The next writer is not disturbed by the leftover temporary file.
    const again = cli(['image', 'add-layer', '-q', `${layout}:base`, '-'], tar);
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(cli(['image', 'inspect', `${layout}:base`]).stdout).layers.length).toBe(2);
    verifyBlobs(layout);
  });
});
