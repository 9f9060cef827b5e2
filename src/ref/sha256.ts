/**
 * SHA-256 as FIPS 180-4 (section 6.2) writes it: a plain TypeScript reference for the WASM kernel.
 * Readable, not fast. Same API shape as src/wasm/sha256.ts.
 */
import { LayerkitError } from '../errors.ts';
import { asBytes } from '../wasm/input.ts';

// 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes.
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// 5.3.3: the first 32 bits of the fractional parts of the square roots of the first 8 primes.
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

// 4.1.2 functions (ROTR^n is rotr(x, n); SHR^n is x >>> n).
const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));
const ch = (x: number, y: number, z: number): number => (x & y) ^ (~x & z);
const maj = (x: number, y: number, z: number): number => (x & y) ^ (x & z) ^ (y & z);
const bigSigma0 = (x: number): number => rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22);
const bigSigma1 = (x: number): number => rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25);
const smallSigma0 = (x: number): number => rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
const smallSigma1 = (x: number): number => rotr(x, 17) ^ rotr(x, 19) ^ (x >>> 10);

/** One 512-bit block (6.2.2): updates H in place. */
function compressBlock(H: Uint32Array, block: Uint8Array, W: Uint32Array): void {
  const dv = new DataView(block.buffer, block.byteOffset, 64);
  for (let t = 0; t < 16; t++) W[t] = dv.getUint32(t * 4, false);
  for (let t = 16; t < 64; t++) {
    W[t] = (smallSigma1(W[t - 2]) + W[t - 7] + smallSigma0(W[t - 15]) + W[t - 16]) >>> 0;
  }
  let [a, b, c, d, e, f, g, h] = H as unknown as number[];
  for (let t = 0; t < 64; t++) {
    const T1 = (h + bigSigma1(e) + ch(e, f, g) + K[t] + W[t]) >>> 0;
    const T2 = (bigSigma0(a) + maj(a, b, c)) >>> 0;
    h = g;
    g = f;
    f = e;
    e = (d + T1) >>> 0;
    d = c;
    c = b;
    b = a;
    a = (T1 + T2) >>> 0;
  }
  H[0] += a; H[1] += b; H[2] += c; H[3] += d;
  H[4] += e; H[5] += f; H[6] += g; H[7] += h;
}

/** The streaming reference hasher. */
export interface Sha256Ref {
  update(data: Uint8Array | ArrayBufferView | ArrayBuffer): this;
  digest(): Uint8Array;
  digestHex(): string;
}

class Sha256RefImpl implements Sha256Ref {
  #H = Uint32Array.from(H0);
  #W = new Uint32Array(64);
  #buf = new Uint8Array(64);
  #pending = 0;
  #length = 0; // bytes; exact up to 2^53
  #done = false;

  update(data: Uint8Array | ArrayBufferView | ArrayBuffer): this {
    this.#check();
    const bytes = asBytes(data);
    this.#length += bytes.length;
    this.#absorb(bytes);
    return this;
  }

  #absorb(bytes: Uint8Array): void {
    let i = 0;
    while (i < bytes.length) {
      const take = Math.min(64 - this.#pending, bytes.length - i);
      this.#buf.set(bytes.subarray(i, i + take), this.#pending);
      this.#pending += take;
      i += take;
      if (this.#pending === 64) {
        compressBlock(this.#H, this.#buf, this.#W);
        this.#pending = 0;
      }
    }
  }

  /** 5.1.1 padding: a 1 bit, zeros to 448 mod 512, the 64-bit big-endian bit length. */
  digest(): Uint8Array {
    this.#check();
    this.#done = true;
    const bits = this.#length * 8;
    const pad = new Uint8Array(this.#pending < 56 ? 64 - this.#pending : 128 - this.#pending);
    pad[0] = 0x80;
    const dv = new DataView(pad.buffer);
    dv.setUint32(pad.length - 8, Math.floor(bits / 2 ** 32), false);
    dv.setUint32(pad.length - 4, bits >>> 0, false);
    this.#absorb(pad);
    const out = new Uint8Array(32);
    const ov = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) ov.setUint32(i * 4, this.#H[i], false);
    return out;
  }

  digestHex(): string {
    return toHex(this.digest());
  }

  #check(): void {
    if (this.#done) throw new LayerkitError('ERR_USED_AFTER_FINISH', 'sha256 reference hasher used after digest()');
  }
}

function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** A new streaming reference hasher. */
export function createSha256Ref(): Sha256Ref {
  return new Sha256RefImpl();
}

/** SHA-256 of `data` (reference implementation). */
export function sha256Ref(data: Uint8Array | ArrayBufferView | ArrayBuffer): Uint8Array {
  return new Sha256RefImpl().update(data).digest();
}
