/**
 * Loads the AssemblyScript kernels once and hands out typed access to them.
 *
 * - The module bytes are embedded (kernels.generated.ts), so no file access or fetch is needed.
 * - `init({ module | bytes })` lets a host bring its own compiled module (a CDN-served .wasm, a
 *   module compiled at build time by a bundler); otherwise the first use compiles synchronously.
 * - Memory is exported; `Kernels.u8()` and friends hand out views that are re-created after
 *   anything that may have grown memory (memory.grow detaches the old ArrayBuffer).
 */
import { LayerkitError } from '../errors.ts';
import { KERNELS_BASE64 } from './kernels.generated.ts';

/** The raw exports of the kernels module (flat functions over linear memory). */
export interface KernelExports {
  memory: WebAssembly.Memory;
  alloc(size: number): number;
  dealloc(ptr: number): void;
  [name: string]: unknown;
}

// (module (func (result v128) v128.const i32x4 0 0 0 0))
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11,
]);

/** Throws ERR_WASM_UNSUPPORTED naming what this runtime lacks. */
export function checkWasmSupport(): void {
  const WA = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
  if (typeof WA !== 'object' || WA === null || typeof WA.Module !== 'function') {
    throw new LayerkitError('ERR_WASM_UNSUPPORTED',
      'this runtime has no WebAssembly: layerkit needs WebAssembly with the SIMD (128-bit) feature',
      { missing: 'WebAssembly' });
  }
  if (!WA.validate(SIMD_PROBE)) {
    throw new LayerkitError('ERR_WASM_UNSUPPORTED',
      'this runtime\'s WebAssembly lacks SIMD (v128): layerkit\'s kernels need it (Node >= 16, Deno, Chrome >= 91, Firefox >= 89, Safari >= 16.4)',
      { missing: 'simd' });
  }
}

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const REQUIRED = ['memory', 'alloc', 'dealloc'] as const;

/** Typed access to one kernels instance and its memory. */
export class Kernels {
  readonly exports: KernelExports;
  readonly memory: WebAssembly.Memory;
  #buf: ArrayBuffer;
  #u8: Uint8Array;
  #dv: DataView;

  constructor(instance: WebAssembly.Instance) {
    const ex = instance.exports as unknown as KernelExports;
    for (const name of REQUIRED) {
      if (!(name in ex)) {
        throw new LayerkitError('ERR_WASM_LOAD', `kernels module has no export "${name}": wrong or stale module`, { missing: name });
      }
    }
    this.exports = ex;
    this.memory = ex.memory;
    this.#buf = ex.memory.buffer;
    this.#u8 = new Uint8Array(this.#buf);
    this.#dv = new DataView(this.#buf);
  }

  #refresh(): void {
    if (this.#buf !== this.memory.buffer) {
      this.#buf = this.memory.buffer;
      this.#u8 = new Uint8Array(this.#buf);
      this.#dv = new DataView(this.#buf);
    }
  }

  /** A view of all of memory, valid until the next call that may grow memory. */
  u8(): Uint8Array {
    this.#refresh();
    return this.#u8;
  }

  dv(): DataView {
    this.#refresh();
    return this.#dv;
  }

  /** A view of [ptr, ptr+len), valid until the next call that may grow memory. */
  view(ptr: number, len: number): Uint8Array<ArrayBuffer> {
    this.#refresh();
    return new Uint8Array(this.#buf, ptr, len);
  }

  /** Allocate `size` bytes of kernel memory (16-byte aligned). */
  alloc(size: number): number {
    const ptr = this.exports.alloc(size) >>> 0;
    if (ptr === 0) throw new LayerkitError('ERR_WASM_MEMORY', `kernel memory: cannot allocate ${size} bytes`, { size });
    return ptr;
  }

  free(ptr: number): void {
    this.exports.dealloc(ptr);
  }

  #scratchPtr = 0;
  #scratchLen = 0;

  /**
   * A shared window of at least `len` bytes for copying caller data in. Kernels run synchronously
   * and JS is single-threaded, so one window serves every hasher: copy in, call, done.
   */
  scratch(len: number): number {
    if (len > this.#scratchLen) {
      if (this.#scratchPtr) this.free(this.#scratchPtr);
      this.#scratchPtr = 0;
      this.#scratchLen = 0;
      this.#scratchPtr = this.alloc(len);
      this.#scratchLen = len;
    }
    return this.#scratchPtr;
  }

  /** A typed export; throws ERR_WASM_LOAD if the module lacks it. */
  fn<F extends (...args: never[]) => unknown>(name: string): F {
    const f = this.exports[name];
    if (typeof f !== 'function') {
      throw new LayerkitError('ERR_WASM_LOAD', `kernels module has no function "${name}": wrong or stale module`, { missing: name });
    }
    return f as F;
  }
}

let current: Kernels | undefined;
let pending: Promise<Kernels> | undefined;

export interface InitOptions {
  /** A compiled kernels module (e.g. from WebAssembly.compileStreaming of a served .wasm). */
  module?: WebAssembly.Module;
  /** The kernels module's bytes. */
  bytes?: BufferSource;
}

/**
 * Instantiate the kernels (once). Optional: the first kernel use instantiates the embedded module
 * synchronously. Call it to bring your own module or bytes, or to compile off the main thread.
 */
export function init(options: InitOptions = {}): Promise<Kernels> {
  if (current) return Promise.resolve(current);
  if (pending) return pending;
  pending = (async () => {
    checkWasmSupport();
    let module = options.module;
    try {
      if (!module) module = await WebAssembly.compile(options.bytes ?? decodeBase64(KERNELS_BASE64));
      const instance = await WebAssembly.instantiate(module, {});
      current = new Kernels(instance);
      return current;
    } catch (e) {
      pending = undefined;
      if (e instanceof LayerkitError) throw e;
      throw new LayerkitError('ERR_WASM_LOAD', `cannot load the kernels module: ${(e as Error).message}`, {}, { cause: e });
    }
  })();
  return pending;
}

/** The kernels instance, instantiated synchronously from the embedded bytes on first use. */
export function kernels(): Kernels {
  if (current) return current;
  checkWasmSupport();
  try {
    const module = new WebAssembly.Module(decodeBase64(KERNELS_BASE64));
    current = new Kernels(new WebAssembly.Instance(module, {}));
  } catch (e) {
    if (e instanceof LayerkitError) throw e;
    throw new LayerkitError('ERR_WASM_LOAD', `cannot load the kernels module: ${(e as Error).message}`, {}, { cause: e });
  }
  return current;
}

/** For tests: forget the current instance so init() can load another. */
export function resetKernelsForTesting(): void {
  current = undefined;
  pending = undefined;
}
