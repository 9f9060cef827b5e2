/**
 * Content hashing: one pass over the bytes of a file, a stream or a buffer yields its BLAKE3 and/or
 * SHA-256 digest and, on request, its content-defined chunk list (offset, length, BLAKE3 of chunk).
 * Bytes that already sit in kernel memory (a file read straight into a WASM window) are hashed in
 * place; other bytes are copied into the kernels' scratch window by the wrappers.
 */
import { createBlake3 } from '../wasm/blake3.ts';
import { createChunker, DEFAULT_CDC } from '../wasm/cdc.ts';
import { kernels } from '../wasm/loader.ts';
import { asBytes } from '../wasm/input.ts';
import { LayerkitError } from '../errors.ts';
import { sha256Engine, type Sha256Like } from './engines.ts';

export interface ChunkOptions {
  minSize: number;
  avgSize: number;
  maxSize: number;
}

export interface HashOptions {
  /** BLAKE3 of the whole content (default true). */
  blake3?: boolean;
  /** SHA-256 of the whole content (default false). */
  sha256?: boolean;
  /** Content-defined chunk list; `true` uses DEFAULT_CDC (16/64/256 KiB). Default false. */
  chunks?: boolean | Partial<ChunkOptions>;
}

export interface Chunk {
  offset: number;
  length: number;
  blake3: Uint8Array;
}

export interface ContentHash {
  size: number;
  blake3?: Uint8Array;
  sha256?: Uint8Array;
  chunks?: Chunk[];
}

type Blake3 = ReturnType<typeof createBlake3>;
type Chunker = ReturnType<typeof createChunker>;

/** Streaming content hasher; feed it with update()/updateInKernel(), then finish() once. */
export class ContentHasher {
  #size = 0;
  #blake3: Blake3 | undefined;
  #sha256: Sha256Like | undefined;
  #chunker: Chunker | undefined;
  #chunkHash: Blake3 | undefined;
  #chunkStart = 0;
  #chunks: Chunk[] = [];
  #done = false;

  constructor(options: HashOptions = {}) {
    if (options.blake3 !== false) this.#blake3 = createBlake3();
    if (options.sha256) this.#sha256 = sha256Engine().create();
    if (options.chunks) {
      const opts = options.chunks === true ? DEFAULT_CDC : { ...DEFAULT_CDC, ...options.chunks };
      this.#chunker = createChunker(opts);
      this.#chunkHash = createBlake3();
    }
  }

  get size(): number {
    return this.#size;
  }

  /** Hash bytes from anywhere (copied into kernel memory in pieces). */
  update(data: Uint8Array): this {
    const bytes = asBytes(data);
    this.#check();
    // Copy through a fixed window once, then hash in place: one copy for all hashers.
    const WINDOW = 256 * 1024;
    const k = kernels();
    for (let off = 0; off < bytes.byteLength; off += WINDOW) {
      const n = Math.min(WINDOW, bytes.byteLength - off);
      const ptr = k.scratch(WINDOW);
      k.view(ptr, n).set(bytes.subarray(off, off + n));
      this.#inKernel(ptr, n);
    }
    return this;
  }

  /** Hash `len` bytes already in kernel memory at `ptr` (no copy). */
  updateInKernel(ptr: number, len: number): this {
    this.#check();
    this.#inKernel(ptr, len);
    return this;
  }

  #inKernel(ptr: number, len: number): void {
    if (len === 0) return;
    this.#blake3?.updateAt(ptr, len);
    this.#sha256?.update(kernels().view(ptr, len));
    if (this.#chunker) {
      const base = this.#size;
      let done = 0;
      for (const cut of this.#chunker.pushAt(ptr, len)) {
        const rel = cut - base;
        this.#chunkHash!.updateAt(ptr + done, rel - done);
        this.#endChunk(cut);
        done = rel;
      }
      if (done < len) this.#chunkHash!.updateAt(ptr + done, len - done);
    }
    this.#size += len;
  }

  #endChunk(end: number): void {
    this.#chunks.push({ offset: this.#chunkStart, length: end - this.#chunkStart, blake3: this.#chunkHash!.digest() });
    this.#chunkHash = createBlake3();
    this.#chunkStart = end;
  }

  #check(): void {
    if (this.#done) throw new LayerkitError('ERR_USED_AFTER_FINISH', 'content hasher used after finish()');
  }

  /** Release kernel contexts without producing a result (error paths). */
  dispose(): void {
    if (this.#done) return;
    this.#done = true;
    this.#blake3?.dispose();
    this.#chunkHash?.dispose();
    this.#chunker?.dispose();
  }

  finish(): ContentHash {
    this.#check();
    this.#done = true;
    const out: ContentHash = { size: this.#size };
    if (this.#blake3) out.blake3 = this.#blake3.digest();
    if (this.#sha256) out.sha256 = this.#sha256.digest();
    if (this.#chunker) {
      for (const cut of this.#chunker.finish()) this.#endChunk(cut);
      this.#chunkHash!.dispose();
      out.chunks = this.#chunks;
    }
    return out;
  }
}

/** Hash a buffer. */
export function hashBytes(data: Uint8Array, options?: HashOptions): ContentHash {
  return new ContentHasher(options).update(data).finish();
}

/** Hash an async iterable of byte chunks (a Node Readable, a Deno file's readable, ...) or a Web ReadableStream. */
export async function hashStream(
  stream: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
  options?: HashOptions,
): Promise<ContentHash> {
  const h = new ContentHasher(options);
  if (typeof (stream as ReadableStream<Uint8Array>).getReader === 'function' && !(Symbol.asyncIterator in stream)) {
    const reader = (stream as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      h.update(value);
    }
  } else {
    for await (const piece of stream as AsyncIterable<Uint8Array>) h.update(piece);
  }
  return h.finish();
}
