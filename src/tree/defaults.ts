/**
 * The one place where the tree code's default hash functions are wired. Both load the kernels
 * lazily (dynamic import), so walking with an injected hasher, or decoding a manifest with an
 * injected checksum, never loads WASM.
 */
import type { FsLike } from '../fs/types.ts';

/** Content hash of one regular file: BLAKE3-256 by default (32 bytes). */
export type FileHasher = (fs: FsLike, path: string) => Promise<Uint8Array>;

/** A streaming SHA-256 (the shape of src/hash/engines.ts Sha256Like). */
export interface Sha256Stream {
  update(bytes: Uint8Array): void;
  digest(): Uint8Array;
}
export type Sha256Factory = () => Sha256Stream | Promise<Sha256Stream>;

/** hashFile(fs, path, { blake3: true }).blake3, through the WASM kernels. */
export const blake3FileHasher: FileHasher = async (fs, path) => {
  const { hashFile } = await import('../hash/file.ts');
  const h = await hashFile(fs, path, { blake3: true });
  return h.blake3!;
};

/** The platform's SHA-256 engine (node:crypto on Node/Deno, the WASM kernel in browsers). */
export const defaultSha256: Sha256Factory = async () => {
  const { sha256Engine } = await import('../hash/engines.ts');
  return sha256Engine().create();
};
