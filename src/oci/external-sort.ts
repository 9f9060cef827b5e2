/**
 * An external merge sort: items are added one at a time; every `runItems` items (or `runBytes`
 * of their encoded size) the ones held are sorted and written to a scratch file as a run; sorted()
 * merges the runs (at most FAN_IN at once, merging groups into longer runs first when there are
 * more), so memory holds one run being filled, or one read buffer per run being merged, whatever
 * the number of items. When everything fits in one run nothing is written: the run is sorted and
 * handed out from memory.
 *
 * Items cross the scratch files through a codec; each is framed by its u32 length.
 */
import { LayerkitError } from '../errors.ts';
import type { Scratch, ScratchFile } from './scratch.ts';
import { ByteReader, ByteWriter } from '../bytes.ts';

export interface Codec<T> {
  /** Write `item` (decode reads exactly what this wrote). */
  encode(item: T, w: ByteWriter): void;
  decode(r: ByteReader): T;
  /** About how many bytes `item` holds in memory (for runBytes). */
  size(item: T): number;
}

export interface ExternalSortOptions<T> {
  compare: (a: T, b: T) => number;
  codec: Codec<T>;
  scratch: Scratch;
  /** Items held before a run is written (default 32 768). */
  runItems?: number;
  /** Bytes (codec.size) held before a run is written (default 8 MiB). */
  runBytes?: number;
}

const FAN_IN = 64;
const FLUSH = 1 << 20;
const READ_BYTES = 8 << 20; // split between the runs being merged

export class ExternalSorter<T> {
  readonly #o: Required<ExternalSortOptions<T>>;
  #held: T[] = [];
  #heldBytes = 0;
  #runs: ScratchFile[] = [];

  constructor(options: ExternalSortOptions<T>) {
    this.#o = { runItems: 32768, runBytes: 8 << 20, ...options };
  }

  /** Runs written so far. */
  get runs(): number {
    return this.#runs.length;
  }

  /** Add an item; returns a promise (to await) only when a run is being written. */
  add(item: T): Promise<void> | undefined {
    this.#held.push(item);
    this.#heldBytes += this.#o.codec.size(item);
    if (this.#held.length >= this.#o.runItems || this.#heldBytes >= this.#o.runBytes) return this.#spill();
    return undefined;
  }

  /** Every item added, in order. Call once. */
  async *sorted(): AsyncGenerator<T> {
    if (this.#runs.length === 0) {
      const held = this.#held.sort(this.#o.compare);
      this.#held = [];
      yield* held;
      return;
    }
    if (this.#held.length > 0) await this.#spill();
    while (this.#runs.length > FAN_IN) {
      const group = this.#runs.splice(0, FAN_IN);
      const out = await this.#o.scratch.create();
      this.#runs.push(out);
      const w = new RunWriter(out);
      for await (const item of this.#merge(group)) await w.add(item, this.#o.codec);
      await w.finish();
      for (const g of group) await g.remove();
    }
    yield* this.#merge(this.#runs);
  }

  /** Drop the scratch files. */
  async dispose(): Promise<void> {
    this.#held = [];
    const runs = this.#runs;
    this.#runs = [];
    for (const r of runs) await r.remove();
  }

  async #spill(): Promise<void> {
    const held = this.#held.sort(this.#o.compare);
    this.#held = [];
    this.#heldBytes = 0;
    const file = await this.#o.scratch.create();
    this.#runs.push(file);
    const w = new RunWriter(file);
    for (const item of held) await w.add(item, this.#o.codec);
    await w.finish();
  }

  async *#merge(runs: readonly ScratchFile[]): AsyncGenerator<T> {
    const chunk = Math.max(16 << 10, Math.min(1 << 20, Math.floor(READ_BYTES / runs.length)));
    const { compare, codec } = this.#o;
    const heap: { item: T; reader: RunReader }[] = [];
    const less = (i: number, j: number) => compare(heap[i]!.item, heap[j]!.item) < 0;
    const swap = (i: number, j: number) => {
      const t = heap[i]!;
      heap[i] = heap[j]!;
      heap[j] = t;
    };
    const down = (i: number) => {
      for (;;) {
        const l = 2 * i + 1;
        if (l >= heap.length) return;
        const m = l + 1 < heap.length && less(l + 1, l) ? l + 1 : l;
        if (!less(m, i)) return;
        swap(m, i);
        i = m;
      }
    };
    const readers = runs.map((r) => new RunReader(r.read(chunk)));
    try {
      for (const reader of readers) {
        const item = await reader.next(codec);
        if (item === undefined) continue;
        heap.push({ item, reader });
        for (let i = heap.length - 1; i > 0 && less(i, (i - 1) >> 1); i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
      }
      while (heap.length > 0) {
        const top = heap[0]!;
        yield top.item;
        const next = await top.reader.next(codec);
        if (next === undefined) {
          const last = heap.pop()!;
          if (heap.length === 0) break;
          heap[0] = last;
        } else top.item = next;
        down(0);
      }
    } finally {
      for (const r of readers) await r.close();
    }
  }
}

class RunWriter {
  readonly #file: ScratchFile;
  readonly #w = new ByteWriter();

  constructor(file: ScratchFile) {
    this.#file = file;
  }

  async add<T>(item: T, codec: Codec<T>): Promise<void> {
    const w = this.#w;
    const at = w.length;
    w.u32(0);
    codec.encode(item, w);
    w.dv.setUint32(at, w.length - at - 4, true);
    if (w.length >= FLUSH) await this.#flush();
  }

  async finish(): Promise<void> {
    await this.#flush();
    await this.#file.finish();
  }

  async #flush(): Promise<void> {
    if (this.#w.length === 0) return;
    await this.#file.write(this.#w.buf.subarray(0, this.#w.length));
    this.#w.length = 0;
  }
}

class RunReader {
  readonly #it: AsyncIterator<Uint8Array>;
  readonly #r = new ByteReader();
  #end = 0;

  constructor(chunks: AsyncIterable<Uint8Array>) {
    this.#it = chunks[Symbol.asyncIterator]();
  }

  async next<T>(codec: Codec<T>): Promise<T | undefined> {
    if (!(await this.#have(4))) return undefined;
    const r = this.#r;
    const n = r.dv.getUint32(r.pos, true);
    if (!(await this.#have(4 + n))) throw new LayerkitError('ERR_IO', 'a scratch file ends inside an item (changed while in use?)');
    r.pos += 4;
    const stop = r.pos + n;
    const item = codec.decode(r);
    r.pos = stop;
    return item;
  }

  async close(): Promise<void> {
    await this.#it.return?.();
  }

  /** Whether n bytes from pos are buffered (reading more as needed); false at the end. */
  async #have(n: number): Promise<boolean> {
    const r = this.#r;
    while (this.#end - r.pos < n) {
      const next = await this.#it.next();
      if (next.done) {
        if (this.#end - r.pos === 0) return false;
        throw new LayerkitError('ERR_IO', 'a scratch file ends inside an item (changed while in use?)');
      }
      const c = next.value;
      const keep = this.#end - r.pos;
      if (r.pos > 0) {
        r.buf.copyWithin(0, r.pos, this.#end);
        r.pos = 0;
        this.#end = keep;
      }
      if (keep + c.length > r.buf.length) {
        const b = new Uint8Array(Math.max(keep + c.length, r.buf.length * 2));
        b.set(r.buf.subarray(0, keep));
        r.buf = b;
        r.dv = new DataView(b.buffer);
      }
      r.buf.set(c, this.#end);
      this.#end += c.length;
    }
    return true;
  }
}
