/**
 * The one place where layerkit's errors are defined.
 *
 * Every error has a stable `code` (part of the public API: scripts match on it) and a `data`
 * object with the facts that explain it. The CLI maps codes to exit statuses with `exitCodeOf`.
 * Wrapping adds context ("hash file a/b: ...") without losing the code.
 */

/** Exit statuses: documented in README.md ("Exit codes"). */
export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  invalidInput: 3,
  io: 4,
  unsupported: 5,
  integrity: 6,
  unsafe: 7,
} as const;

/** Every error code layerkit throws, with the exit status the CLI uses for it. */
export const CODES = {
  /** An argument has the wrong type (not bytes, not a number, ...). */
  ERR_INVALID_ARG: EXIT.invalidInput,
  /** A numeric parameter is outside what makes sense (chunk sizes, output lengths, ...). */
  ERR_OUT_OF_RANGE: EXIT.invalidInput,
  /** The buffer handed in is detached (transferred or its memory was replaced). */
  ERR_DETACHED_BUFFER: EXIT.invalidInput,
  /** A hasher or chunker was used after digest()/finish() or after being disposed. */
  ERR_USED_AFTER_FINISH: EXIT.internal,
  /** The runtime lacks WebAssembly or a WebAssembly feature the kernels need. */
  ERR_WASM_UNSUPPORTED: EXIT.unsupported,
  /** The kernels failed to load (bad bytes, wrong module, missing export). */
  ERR_WASM_LOAD: EXIT.unsupported,
  /** Kernel memory could not be grown for a request. */
  ERR_WASM_MEMORY: EXIT.internal,
  /** Reading or writing a file failed. */
  ERR_IO: EXIT.io,
  /** A CLI invocation is malformed. */
  ERR_USAGE: EXIT.usage,
  /** A name in a tree is `.wh.*`: reserved for whiteouts in OCI layers, so it cannot be stored (G6). */
  ERR_WHITEOUT_NAME: EXIT.invalidInput,
  /** A snapshot manifest is damaged: bad magic, truncated, checksum mismatch or malformed records. */
  ERR_MANIFEST_CORRUPT: EXIT.integrity,
  /** A snapshot manifest was written by a format version this build does not read. */
  ERR_MANIFEST_VERSION: EXIT.unsupported,
  /** The runtime lacks a feature the operation needs (e.g. zstd in a browser). */
  ERR_UNSUPPORTED: EXIT.unsupported,
  /** A file changed (size differs from its entry) while it was being read into a layer. */
  ERR_FILE_CHANGED: EXIT.io,
  /** A whiteout entry is malformed (`.wh.`, `.wh..`, `.wh...`: nothing to remove). */
  ERR_INVALID_WHITEOUT: EXIT.invalidInput,
  /** A compressor failed (the zstd process exited non-zero, ...). */
  ERR_COMPRESSION: EXIT.io,
  /** A layer is not a valid tar (bad header checksum, malformed number or PAX record) or its compressed stream is corrupt. */
  ERR_LAYER_CORRUPT: EXIT.integrity,
  /** A layer ends early: inside a header or a body, or it is empty (src/tar/reader.ts lists where a tar may end). */
  ERR_LAYER_TRUNCATED: EXIT.integrity,
  /**
   * Bytes do not hash to the digest that names them: a layer's digest (sha256 of the blob) or
   * diffID (sha256 of the tar) when applying, a blob of an image layout (or its size differs from
   * its descriptor's).
   */
  ERR_DIGEST_MISMATCH: EXIT.integrity,
  /** A layer entry's name leaves the target root, or would change the root's type (A2, A3). */
  ERR_UNSAFE_PATH: EXIT.unsafe,
  /** A hardlink's target leaves the root, does not exist yet, or is a directory (A10). */
  ERR_UNSAFE_LINK: EXIT.unsafe,
  /** A bound on untrusted input was exceeded: decompressed bytes, entries, name or header size (A15). */
  ERR_LIMIT_EXCEEDED: EXIT.unsafe,
  /** A layer entry needs a directory where the target holds something else (a file as a parent). */
  ERR_LAYER_CONFLICT: EXIT.invalidInput,
  /** The target carries the marker of an apply that did not finish: its contents are not a valid tree. */
  ERR_TARGET_INCOMPLETE: EXIT.integrity,
  /** A media type layerkit does not know (a layer, manifest or config descriptor, or --media-type). */
  ERR_UNKNOWN_MEDIA_TYPE: EXIT.unsupported,
  /** A digest string is malformed (not `<algorithm>:<hex>` with the algorithm's length). */
  ERR_INVALID_DIGEST: EXIT.invalidInput,
  /** A layer's uncompressed tar does not hash to the diffID its image config lists. */
  ERR_DIFFID_MISMATCH: EXIT.integrity,
  /** A descriptor (index, manifest, config or layer) names a blob the layout does not hold. */
  ERR_BLOB_MISSING: EXIT.integrity,
  /** A directory is not an OCI image layout (no oci-layout file, an unknown version, no index.json). */
  ERR_NOT_A_LAYOUT: EXIT.invalidInput,
  /** `image init` on a directory that already holds an image layout (or other files). */
  ERR_LAYOUT_EXISTS: EXIT.invalidInput,
  /** An index, manifest or config document is malformed (bad JSON, missing or wrong fields, too large). */
  ERR_IMAGE_CORRUPT: EXIT.integrity,
  /** No image in the layout carries the requested tag (org.opencontainers.image.ref.name). */
  ERR_TAG_NOT_FOUND: EXIT.invalidInput,
  /** A tag does not match the ref.name grammar of the image-layout spec. */
  ERR_INVALID_TAG: EXIT.invalidInput,
  /** Several images (or platforms) match and none was named: give a tag (or a platform). */
  ERR_AMBIGUOUS_IMAGE: EXIT.invalidInput,
  /** A snapshot key names no snapshot in the store. */
  ERR_SNAPSHOT_NOT_FOUND: EXIT.invalidInput,
  /** A snapshot key is taken already (keys are unique across active, view and committed). */
  ERR_SNAPSHOT_EXISTS: EXIT.invalidInput,
  /** The snapshot is of the wrong kind for the operation (commit a view, a parent that is not committed, ...). */
  ERR_SNAPSHOT_KIND: EXIT.invalidInput,
  /** A write into a view or a committed snapshot: only active snapshots can be written. */
  ERR_SNAPSHOT_READONLY: EXIT.invalidInput,
  /** A snapshot cannot be removed while snapshots are based on it (remove the children first). */
  ERR_SNAPSHOT_HAS_CHILDREN: EXIT.invalidInput,
  /** A path given to a snapshot writer leaves the snapshot (`..`, absolute) or goes through a symlink. */
  ERR_SNAPSHOT_PATH: EXIT.unsafe,
  /** The directory is not a layerkit snapshot store (and is not empty, so none is created there). */
  ERR_NOT_A_STORE: EXIT.invalidInput,
  /** Another live process holds the store's lock and did not release it in time. */
  ERR_STORE_LOCKED: EXIT.io,
  /** Another live process is updating the image layout's index.json and did not finish in time. */
  ERR_LAYOUT_LOCKED: EXIT.io,
  /** Another live process is writing into, committing or removing the container and did not finish in time. */
  ERR_CONTAINER_LOCKED: EXIT.io,
  /** The store's metadata or blobs are damaged or contradict each other (see `layerkit store check`). */
  ERR_STORE_CORRUPT: EXIT.integrity,
  /** The store was written by a format version this build does not read. */
  ERR_STORE_VERSION: EXIT.unsupported,
  /** A container name names no container in the store. */
  ERR_CONTAINER_NOT_FOUND: EXIT.invalidInput,
  /** A container of that name exists already in the store. */
  ERR_CONTAINER_EXISTS: EXIT.invalidInput,
  /** The snapshot belongs to a container: it is removed with `layerkit container rm`, not `snapshots rm`. */
  ERR_CONTAINER_SNAPSHOT: EXIT.invalidInput,
} as const;

export type ErrorCode = keyof typeof CODES;

export class LayerkitError extends Error {
  readonly code: ErrorCode;
  readonly data: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LayerkitError';
    this.code = code;
    this.data = data;
  }
}

export function isLayerkitError(e: unknown): e is LayerkitError {
  return e instanceof LayerkitError;
}

/** Prefix `context` to an error's message, keeping its code; unknown errors become ERR_IO or internal. */
export function wrapError(e: unknown, context: string): LayerkitError {
  if (e instanceof LayerkitError) {
    return new LayerkitError(e.code, `${context}: ${e.message}`, e.data, { cause: e });
  }
  const err = e as { code?: unknown; message?: unknown };
  const sysCode = typeof err?.code === 'string' ? err.code : undefined;
  const msg = typeof err?.message === 'string' ? err.message : String(e);
  return new LayerkitError('ERR_IO', `${context}: ${msg}`, sysCode ? { syscode: sysCode } : {}, { cause: e });
}

/** The system error code of `e` (ENOENT, EEXIST, ...) or a LayerkitError's code; undefined when none. */
export function codeOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'string' ? c : undefined;
}

export function exitCodeOf(e: unknown): number {
  return e instanceof LayerkitError ? CODES[e.code] : EXIT.internal;
}
