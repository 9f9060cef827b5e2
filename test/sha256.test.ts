import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSha256, sha256, sha256Hex } from '../src/wasm/sha256.ts';
import { createSha256Ref, sha256Ref } from '../src/ref/sha256.ts';
import { kernels } from '../src/wasm/loader.ts';
import { LayerkitError } from '../src/errors.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const node = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof LayerkitError) return e.code;
    throw e;
  }
  return undefined;
}

function streamed(data: Uint8Array, cuts: number[]): string {
  const h = createSha256();
  let prev = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    h.update(data.subarray(prev, c));
    prev = c;
  }
  return h.update(data.subarray(prev)).digestHex();
}

// FIPS 180-4 examples (csrc.nist.gov/projects/cryptographic-standards-and-guidelines/example-values)
const FIPS: [string, Uint8Array, string][] = [
  ['empty', new Uint8Array(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['"abc"', ascii('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ['448-bit message', ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ['896-bit message',
    ascii('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu'),
    'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1'],
  ['one million "a"', new Uint8Array(1_000_000).fill(0x61),
    'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
];

interface Vector { file: string; len: number; msg: string; md: string }
const CAVS: { source: string; vectors: Vector[] } = JSON.parse(
  readFileSync(new URL('./vectors/sha256.json', import.meta.url), 'utf8'));

describe('sha256: official vectors', () => {
  for (const [name, msg, md] of FIPS) {
    it(`FIPS 180-4 ${name}`, () => {
      expect(hex(sha256(msg))).toBe(md);
      expect(sha256Hex(msg)).toBe(md);
      expect(hex(sha256Ref(msg))).toBe(md);
      expect(createSha256().update(msg).digestHex()).toBe(md);
    });
  }

  it('one million "a" fed as 1000 pieces of 1000 (streaming)', () => {
    const piece = new Uint8Array(1000).fill(0x61);
    const h = createSha256();
    const r = createSha256Ref();
    for (let i = 0; i < 1000; i++) {
      h.update(piece);
      r.update(piece);
    }
    expect(h.digestHex()).toBe(FIPS[4][2]);
    expect(r.digestHex()).toBe(FIPS[4][2]);
  });

  it(`NIST CAVS subset (${CAVS.vectors.length} vectors from SHA256ShortMsg/LongMsg)`, () => {
    expect(CAVS.vectors.length).toBeGreaterThanOrEqual(20);
    for (const v of CAVS.vectors) {
      const msg = Buffer.from(v.msg, 'hex');
      expect(msg.length * 8, `${v.file} Len = ${v.len}`).toBe(v.len);
      expect(hex(sha256(msg)), `${v.file} Len = ${v.len}`).toBe(v.md);
      expect(hex(sha256Ref(msg)), `ref ${v.file} Len = ${v.len}`).toBe(v.md);
      // byte at a time through the streaming path
      const h = createSha256();
      for (let i = 0; i < msg.length; i++) h.update(msg.subarray(i, i + 1));
      expect(h.digestHex(), `bytewise ${v.file} Len = ${v.len}`).toBe(v.md);
    }
  });
});

describe('sha256: lengths around block boundaries', () => {
  const lengths = [0, 1, 54, 55, 56, 57, 63, 64, 65, 111, 112, 119, 120, 127, 128, 129, 191, 192, 1023, 1024, 1025];
  const data = randomBytes(1100);
  for (const n of lengths) {
    it(`length ${n}`, () => {
      const msg = data.subarray(0, n);
      const want = node(msg);
      expect(hex(sha256(msg))).toBe(want);
      expect(hex(sha256Ref(msg))).toBe(want);
      expect(streamed(msg, [Math.floor(n / 3), Math.floor(n / 2)])).toBe(want);
    });
  }
});

describe('sha256: properties', () => {
  it('streaming == one-shot == reference == node:crypto, random data and split points', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100_000 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (data, rawCuts) => {
          const cuts = rawCuts.map((c) => (data.length ? c % (data.length + 1) : 0));
          const want = node(data);
          expect(hex(sha256(data))).toBe(want);
          expect(streamed(data, cuts)).toBe(want);
          const r = createSha256Ref();
          let prev = 0;
          for (const c of [...cuts].sort((a, b) => a - b)) {
            r.update(data.subarray(prev, c));
            prev = c;
          }
          expect(r.update(data.subarray(prev)).digestHex()).toBe(want);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('small inputs with many split points', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 20 }), (data, rawCuts) => {
        const cuts = rawCuts.map((c) => c % (data.length + 1));
        expect(streamed(data, cuts)).toBe(node(data));
      }),
      { numRuns: 300 },
    );
  });

  it('interleaved hashers keep separate state', () => {
    const a = randomBytes(5000);
    const b = randomBytes(7777);
    const ha = createSha256();
    const hb = createSha256();
    for (let i = 0; i < 8000; i += 999) {
      ha.update(a.subarray(i, i + 999));
      hb.update(b.subarray(i, i + 999));
    }
    expect(ha.digestHex()).toBe(node(a));
    expect(hb.digestHex()).toBe(node(b));
  });

  it('accepts other ArrayBufferViews and ArrayBuffers as their bytes', () => {
    const u8 = randomBytes(333);
    const u32 = new Uint32Array(u8.buffer.slice(u8.byteOffset, u8.byteOffset + 332));
    expect(hex(sha256(u32))).toBe(node(u8.subarray(0, 332)));
    expect(hex(sha256(new DataView(u8.buffer, u8.byteOffset + 10, 100)))).toBe(node(u8.subarray(10, 110)));
    expect(hex(sha256(u8.buffer.slice(u8.byteOffset, u8.byteOffset + 333)))).toBe(node(u8));
  });
});

describe('sha256: large inputs', () => {
  it('several MiB one-shot and streamed in odd pieces equal node:crypto', () => {
    const big = randomBytes(5 * 1024 * 1024 + 12345);
    const want = node(big);
    expect(hex(sha256(big))).toBe(want); // more than one scratch piece
    const h = createSha256();
    for (let i = 0; i < big.length; i += 1_234_567) h.update(big.subarray(i, i + 1_234_567));
    expect(h.digestHex()).toBe(want);
  });

  it('updateAt hashes bytes already in kernel memory', () => {
    const k = kernels();
    const data = randomBytes(3 * 1024 * 1024 + 7);
    const ptr = k.alloc(data.length);
    try {
      k.view(ptr, data.length).set(data);
      const h = createSha256().updateAt(ptr, 100).updateAt(ptr + 100, data.length - 100);
      expect(h.digestHex()).toBe(node(data));
    } finally {
      k.free(ptr);
    }
  });

  it('matches sha256sum on real files', () => {
    let version = '';
    try {
      version = execFileSync('sha256sum', ['--version'], { encoding: 'utf8' });
    } catch {
      // no coreutils here: the node:crypto cross-checks above still hold
    }
    if (!version) return;
    const dir = mkdtempSync(join(tmpdir(), 'layerkit-sha256-'));
    try {
      for (const size of [0, 1, 64, 1000, 65536, 1_048_577, 3 * 1024 * 1024 + 5]) {
        const file = join(dir, `f${size}`);
        const data = randomBytes(size);
        writeFileSync(file, data);
        const line = execFileSync('sha256sum', ['-b', file], { encoding: 'utf8' });
        const theirs = line.split(' ')[0];
        expect(theirs).toMatch(/^[0-9a-f]{64}$/);
        expect(hex(sha256(readFileSync(file))), `size ${size}`).toBe(theirs);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sha256: bad input and misuse', () => {
  it('rejects non-bytes with ERR_INVALID_ARG', () => {
    for (const bad of ['abc', 42, null, undefined, [1, 2, 3], { length: 3 }]) {
      expect(codeOf(() => sha256(bad as never))).toBe('ERR_INVALID_ARG');
      expect(codeOf(() => createSha256().update(bad as never))).toBe('ERR_INVALID_ARG');
      expect(codeOf(() => sha256Ref(bad as never))).toBe('ERR_INVALID_ARG');
    }
  });

  it('rejects detached buffers with ERR_DETACHED_BUFFER', () => {
    const u8 = new Uint8Array(16);
    structuredClone(u8.buffer, { transfer: [u8.buffer] });
    expect(codeOf(() => sha256(u8))).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => sha256(u8.buffer))).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => createSha256().update(u8))).toBe('ERR_DETACHED_BUFFER');
    expect(codeOf(() => sha256Ref(u8))).toBe('ERR_DETACHED_BUFFER');
  });

  it('use after digest or dispose throws ERR_USED_AFTER_FINISH', () => {
    const h = createSha256().update(ascii('abc'));
    expect(h.digestHex()).toBe(FIPS[1][2]);
    expect(codeOf(() => h.update(ascii('x')))).toBe('ERR_USED_AFTER_FINISH');
    expect(codeOf(() => h.digest())).toBe('ERR_USED_AFTER_FINISH');
    expect(codeOf(() => h.updateAt(0, 0))).toBe('ERR_USED_AFTER_FINISH');
    const d = createSha256();
    d.dispose();
    d.dispose(); // idempotent
    expect(codeOf(() => d.update(ascii('x')))).toBe('ERR_USED_AFTER_FINISH');
    expect(codeOf(() => d.digestHex())).toBe('ERR_USED_AFTER_FINISH');
    const r = createSha256Ref();
    r.digest();
    expect(codeOf(() => r.update(ascii('x')))).toBe('ERR_USED_AFTER_FINISH');
  });

  it('updateAt checks its range', () => {
    const size = kernels().memory.buffer.byteLength;
    const h = createSha256();
    expect(codeOf(() => h.updateAt(-1, 1))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => h.updateAt(size - 10, 11))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => h.updateAt(1.5, 1))).toBe('ERR_INVALID_ARG');
    h.dispose();
  });

  it('digests are fresh copies (not views of kernel memory)', () => {
    const a = sha256(ascii('abc'));
    const b = sha256(ascii('abd'));
    expect(hex(a)).toBe(FIPS[1][2]);
    expect(a.buffer).not.toBe(kernels().memory.buffer);
    expect(hex(a)).not.toBe(hex(b));
  });
});
