import { describe, expect, it } from 'vitest';
import { kernels, init, checkWasmSupport } from '../src/wasm/loader.ts';
import { asBytes, checkInt } from '../src/wasm/input.ts';
import { LayerkitError } from '../src/errors.ts';

describe('kernel loader', () => {
  it('instantiates once and exports memory, alloc, dealloc', async () => {
    const k = kernels();
    expect(k.memory).toBeInstanceOf(WebAssembly.Memory);
    expect(await init()).toBe(k);
    const p = k.alloc(1024);
    expect(p % 16).toBe(0);
    k.free(p);
  });

  it('re-creates views after memory grows', () => {
    const k = kernels();
    const before = k.u8();
    const big = k.alloc(before.byteLength + (1 << 20)); // forces memory.grow
    const after = k.u8();
    expect(after.byteLength).toBeGreaterThan(before.byteLength);
    expect(before.byteLength).toBe(0); // the old view is detached
    after[big] = 7;
    expect(k.view(big, 1)[0]).toBe(7);
    k.free(big);
  });

  it('names a missing function', () => {
    expect(() => kernels().fn('no_such_kernel')).toThrowError(/no function "no_such_kernel"/);
  });

  it('reports runtimes without WebAssembly by name', () => {
    const saved = globalThis.WebAssembly;
    try {
      // @ts-expect-error simulate a runtime without WebAssembly
      delete globalThis.WebAssembly;
      let err: unknown;
      try { checkWasmSupport(); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(LayerkitError);
      expect((err as LayerkitError).code).toBe('ERR_WASM_UNSUPPORTED');
      expect((err as LayerkitError).data.missing).toBe('WebAssembly');
    } finally {
      globalThis.WebAssembly = saved;
    }
  });

  it('reports runtimes without SIMD by name', () => {
    const saved = WebAssembly.validate;
    try {
      WebAssembly.validate = () => false;
      let err: unknown;
      try { checkWasmSupport(); } catch (e) { err = e; }
      expect((err as LayerkitError).code).toBe('ERR_WASM_UNSUPPORTED');
      expect((err as LayerkitError).data.missing).toBe('simd');
    } finally {
      WebAssembly.validate = saved;
    }
  });
});

describe('byte inputs', () => {
  it('accepts views and buffers', () => {
    expect(asBytes(new Uint8Array([1, 2]))).toEqual(new Uint8Array([1, 2]));
    expect(asBytes(new Uint16Array([0x0201])).byteLength).toBe(2);
    expect(asBytes(new ArrayBuffer(3)).byteLength).toBe(3);
  });
  it('rejects non-bytes with ERR_INVALID_ARG', () => {
    for (const bad of ['abc', 12, null, undefined, [1, 2], { length: 1 }]) {
      expect(() => asBytes(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    }
  });
  it('rejects detached buffers with ERR_DETACHED_BUFFER', () => {
    const ab = new ArrayBuffer(8);
    const view = new Uint8Array(ab);
    structuredClone(ab, { transfer: [ab] });
    expect(() => asBytes(view)).toThrow(expect.objectContaining({ code: 'ERR_DETACHED_BUFFER' }));
    expect(() => asBytes(ab)).toThrow(expect.objectContaining({ code: 'ERR_DETACHED_BUFFER' }));
    expect(asBytes(new Uint8Array(0)).byteLength).toBe(0);
  });
  it('checks integer ranges', () => {
    expect(checkInt(5, 'n', 1, 10)).toBe(5);
    expect(() => checkInt(0, 'n', 1, 10)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => checkInt(1.5, 'n', 1, 10)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
  });
});
