/**
 * Little-endian byte buffers: ByteWriter appends numbers, length-prefixed bytes and UTF-8 strings
 * to a growing buffer; ByteReader reads them back. Used by the external sort's runs and the union
 * view's lower table.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Appends little-endian numbers, bytes and UTF-8 strings to a growing buffer. */
export class ByteWriter {
  buf = new Uint8Array(64 << 10);
  dv = new DataView(this.buf.buffer);
  length = 0;

  #room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    b.set(this.buf.subarray(0, this.length));
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }

  u8(x: number): void {
    this.#room(1);
    this.buf[this.length++] = x;
  }

  u32(x: number): void {
    this.#room(4);
    this.dv.setUint32(this.length, x, true);
    this.length += 4;
  }

  i32(x: number): void {
    this.#room(4);
    this.dv.setInt32(this.length, x, true);
    this.length += 4;
  }

  f64(x: number): void {
    this.#room(8);
    this.dv.setFloat64(this.length, x, true);
    this.length += 8;
  }

  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.#room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  str(s: string): void {
    this.#room(4 + s.length * 3);
    const { written } = encoder.encodeInto(s, this.buf.subarray(this.length + 4));
    this.dv.setUint32(this.length, written, true);
    this.length += 4 + written;
  }

  /** A copy of what was written; the writer starts again empty. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.length);
    this.length = 0;
    return out;
  }
}

/** Reads what a ByteWriter wrote, from `pos`. */
export class ByteReader {
  buf: Uint8Array = new Uint8Array(0);
  dv = new DataView(this.buf.buffer);
  pos = 0;

  u8(): number {
    return this.buf[this.pos++]!;
  }

  u32(): number {
    const x = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return x;
  }

  f64(): number {
    const x = this.dv.getFloat64(this.pos, true);
    this.pos += 8;
    return x;
  }

  bytes(): Uint8Array {
    const n = this.u32();
    const b = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  str(): string {
    const n = this.u32();
    const s = decoder.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
}
