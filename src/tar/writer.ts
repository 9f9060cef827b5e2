/**
 * Streaming tar writer: tar items in, archive bytes out, as an async iterable. Headers and small
 * bodies are batched into chunks of up to BATCH bytes (one chunk per header would cost a promise
 * hop each downstream); large body chunks pass through uncopied. Memory stays at one batch plus
 * whatever chunk the body source hands over.
 */
import { LayerkitError } from '../errors.ts';
import { encodeHeader, endOfArchive, paddingFor, type TarHeader } from './header.ts';

export interface TarItem {
  header: TarHeader;
  /** The body, exactly header.size bytes in total (regular files). */
  body?: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

const BATCH = 256 * 1024;
/** Chunks at least this large are yielded as they are instead of copied into the batch. */
const PASS_THROUGH = 64 * 1024;
const ZEROS = new Uint8Array(512);

export async function* packTar(items: AsyncIterable<TarItem> | Iterable<TarItem>): AsyncGenerator<Uint8Array> {
  const batch = new Batch();
  for await (const { header, body } of items) {
    yield* batch.add(encodeHeader(header));
    let n = 0;
    if (body) {
      for await (const chunk of body) {
        n += chunk.length;
        if (n > header.size) break;
        yield* batch.add(chunk);
      }
    }
    if (n !== header.size) {
      throw new LayerkitError('ERR_INVALID_ARG', `tar entry "${header.name}": body has ${n > header.size ? 'more than' : 'only'} ${n} bytes, header says ${header.size}`, {
        name: header.name, size: header.size, bytes: n,
      });
    }
    yield* batch.add(ZEROS.subarray(0, paddingFor(n)));
  }
  yield* batch.add(endOfArchive());
  yield* batch.flush();
}

class Batch {
  #buf = new Uint8Array(BATCH);
  #len = 0;

  *add(bytes: Uint8Array): Generator<Uint8Array> {
    if (bytes.length === 0) return;
    if (bytes.length >= PASS_THROUGH) {
      yield* this.flush();
      yield bytes;
      return;
    }
    if (this.#len + bytes.length > BATCH) yield* this.flush();
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
  }

  /** Hand over the filled part; the consumer owns it (a new buffer is started). */
  *flush(): Generator<Uint8Array> {
    if (this.#len === 0) return;
    const out = this.#buf.subarray(0, this.#len);
    this.#buf = new Uint8Array(BATCH);
    this.#len = 0;
    yield out;
  }
}
