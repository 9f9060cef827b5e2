/**
 * SHA-256 engine choice. The OCI digest is SHA-256; the fastest correct engine differs by runtime:
 * Node's node:crypto uses SHA-NI (~4x our WASM kernel here), browsers have no streaming SHA-256
 * (crypto.subtle only digests whole buffers), so there the WASM kernel is used. The platform entry
 * point (src/platform/*.ts, picked by package.json `exports` conditions) sets the engine once; the
 * core never sniffs the runtime.
 */
import { createSha256 } from '../wasm/sha256.ts';
import { kernels } from '../wasm/loader.ts';

/** A streaming SHA-256. `update` may be handed a view of kernel memory (no copy is then needed). */
export interface Sha256Like {
  update(bytes: Uint8Array): void;
  digest(): Uint8Array;
}

export interface Sha256Engine {
  name: string;
  create(): Sha256Like;
}

/** The WASM kernel: hashes views of kernel memory in place. */
export const wasmSha256Engine: Sha256Engine = {
  name: 'wasm',
  create(): Sha256Like {
    const h = createSha256();
    return {
      update(bytes: Uint8Array): void {
        if (bytes.buffer === kernels().memory.buffer) h.updateAt(bytes.byteOffset, bytes.byteLength);
        else h.update(bytes);
      },
      digest: () => h.digest(),
    };
  },
};

let current: Sha256Engine = wasmSha256Engine;

export function setSha256Engine(engine: Sha256Engine): void {
  current = engine;
}

export function sha256Engine(): Sha256Engine {
  return current;
}
