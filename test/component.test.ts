// The component build (wit/kernels.wit) called through `jco transpile` output gives the same
// answers as the direct core-module path that JavaScript uses.
import { describe, expect, it, beforeAll } from 'vitest';
import { readFile, mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transpile } from '@bytecodealliance/jco';
import { blake3 } from '../src/wasm/blake3.ts';
import { sha256 } from '../src/wasm/sha256.ts';
import { chunkBoundaries } from '../src/wasm/cdc.ts';

interface KernelsComponent {
  blake3(data: Uint8Array, outLen: number): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
  chunkBoundaries(data: Uint8Array, min: number, avg: number, max: number): Uint32Array | number[];
}

let comp: KernelsComponent;

beforeAll(async () => {
  const path = new URL('../build/kernels.component.wasm', import.meta.url);
  const bytes = await readFile(path).catch(() => {
    throw new Error('build/kernels.component.wasm is missing: run `npm run build:component`');
  });
  const { files } = await transpile(new Uint8Array(bytes), { name: 'kernels', quiet: true });
  const dir = await mkdtemp(join(tmpdir(), 'layerkit-component-'));
  for (const [name, data] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), data);
  }
  await writeFile(join(dir, 'package.json'), '{"type":"module"}');
  comp = (await import(pathToFileURL(join(dir, 'kernels.js')).href)) as KernelsComponent;
}, 120_000);

function data(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('kernels component (jco transpile)', () => {
  it('exports the WIT world', () => {
    expect(typeof comp.blake3).toBe('function');
    expect(typeof comp.sha256).toBe('function');
    expect(typeof comp.chunkBoundaries).toBe('function');
  });

  it('BLAKE3 and SHA-256 equal the direct path', () => {
    for (const n of [0, 1, 64, 1024, 1025, 65536, 1_000_003]) {
      const d = data(n, n + 1);
      expect(Buffer.from(comp.blake3(d, 32)).toString('hex'), `blake3 ${n}`).toBe(Buffer.from(blake3(d)).toString('hex'));
      expect(Buffer.from(comp.blake3(d, 100)).toString('hex'), `xof ${n}`).toBe(Buffer.from(blake3(d, { outputLength: 100 })).toString('hex'));
      expect(Buffer.from(comp.sha256(d)).toString('hex'), `sha256 ${n}`).toBe(Buffer.from(sha256(d)).toString('hex'));
    }
  });

  it('chunk boundaries equal the direct path', () => {
    const d = data(3 << 20, 7);
    const opts = { minSize: 2048, avgSize: 8192, maxSize: 32768 };
    const got = Array.from(comp.chunkBoundaries(d, opts.minSize, opts.avgSize, opts.maxSize));
    expect(got.length).toBeGreaterThan(100);
    expect(got).toEqual(chunkBoundaries(d, opts));
  });
});
