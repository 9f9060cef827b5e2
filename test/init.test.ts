// init({ bytes | module }): a host brings its own kernels module. Its own file: it swaps the
// process-wide instance, which other suites must not see.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { init, kernels, resetKernelsForTesting } from '../src/wasm/loader.ts';
import { sha256 } from '../src/wasm/sha256.ts';

const bytes = new Uint8Array(readFileSync(new URL('../build/kernels.wasm', import.meta.url)));
const data = new TextEncoder().encode('layerkit');
const want = createHash('sha256').update(data).digest('hex');

describe('init', () => {
  it('takes the module bytes', async () => {
    resetKernelsForTesting();
    const k = await init({ bytes });
    expect(kernels()).toBe(k);
    expect(Buffer.from(sha256(data)).toString('hex')).toBe(want);
  });

  it('takes a compiled module', async () => {
    resetKernelsForTesting();
    const module = await WebAssembly.compile(bytes);
    const k = await init({ module });
    expect(kernels()).toBe(k);
    expect(Buffer.from(sha256(data)).toString('hex')).toBe(want);
  });

  it('refuses bytes that are not the kernels with ERR_WASM_LOAD', async () => {
    resetKernelsForTesting();
    await expect(init({ bytes: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]) })).rejects.toMatchObject({ code: 'ERR_WASM_LOAD' });
    await expect(init({ bytes: new Uint8Array([1, 2, 3]) })).rejects.toMatchObject({ code: 'ERR_WASM_LOAD' });
    // a failed init leaves nothing half-set: the embedded module still loads
    expect(Buffer.from(sha256(data)).toString('hex')).toBe(want);
  });
});
