// BLAKE3 kernel: streaming hash / keyed_hash / derive_key with XOF output.
//
// Layout of the work:
// - `hash4` compresses 4 inputs in parallel, one per i32x4 lane (message words transposed into
//   16 v128 locals): 4 whole chunks (16 blocks each) or 4 parent nodes (1 block each).
// - `compress` is the scalar compression, for single blocks, partial chunks and output.
// - update() follows the Rust crate: finish a partial chunk, then hash aligned power-of-two
//   subtrees (at most SUBTREE_CHUNKS chunks each) with hash4, pushing the two half-subtree CVs on
//   a CV stack that merges lazily; at least one byte of the last chunk always stays buffered, so
//   nothing that could be the root is ever finalized early.
// - finalize is non-destructive: the root output is rebuilt in static scratch memory.

// ---- constants --------------------------------------------------------------------------------

const IV0: u32 = 0x6a09e667;
const IV1: u32 = 0xbb67ae85;
const IV2: u32 = 0x3c6ef372;
const IV3: u32 = 0xa54ff53a;
const IV4: u32 = 0x510e527f;
const IV5: u32 = 0x9b05688c;
const IV6: u32 = 0x1f83d9ab;
const IV7: u32 = 0x5be0cd19;

const CHUNK_START: u32 = 1;
const CHUNK_END: u32 = 2;
const PARENT: u32 = 4;
const ROOT: u32 = 8;
const KEYED_HASH: u32 = 16;
const DERIVE_KEY_CONTEXT: u32 = 32;
const DERIVE_KEY_MATERIAL: u32 = 64;

const BLOCK_LEN: usize = 64;
const CHUNK_LEN: usize = 1024;
/** Largest subtree hashed in one piece by update() (a power of two, >= 4). */
const SUBTREE_CHUNKS: usize = 64;
const MAX_STACK: usize = 56; // 2^64 bytes = 2^54 chunks; lazy merging may hold one more.

// ---- context layout (bytes) -------------------------------------------------------------------

const C_KEY: usize = 0; //        8 x u32: key words (IV for hash mode)
const C_CV: usize = 32; //        8 x u32: chaining value of the current chunk
const C_COUNTER: usize = 64; //   u64: index of the current chunk
const C_BUFLEN: usize = 72; //    u32: bytes in buf
const C_BLOCKS: usize = 76; //    u32: blocks of the current chunk already compressed
const C_FLAGS: usize = 80; //     u32: mode flags (0, KEYED_HASH, DERIVE_KEY_*)
const C_STACKLEN: usize = 84; //  u32: CVs on the stack
const C_BUF: usize = 96; //       64 bytes: the last, not yet compressed block of the chunk
const C_STACK: usize = 160; //    MAX_STACK x 32 bytes: the CV stack
const CTX_SIZE: usize = C_STACK + MAX_STACK * 32;

// ---- static scratch (the kernel is not re-entrant: one call at a time) ------------------------

const SUB_CVS: usize = memory.data(<i32>(SUBTREE_CHUNKS * 32), 16);
const SCRATCH4: usize = memory.data(128, 16);
const TMP_CV: usize = memory.data(32, 16);
const DKEY: usize = memory.data(32, 16);
const ROOT_CV: usize = memory.data(32, 16);
const ROOT_BLOCK: usize = memory.data(64, 16);
const OUT_BLOCK: usize = memory.data(64, 16);
const MSG: usize = memory.data(256, 16); // hash4's transposed message words
let rootLen: u32 = 0;
let rootCounter: u64 = 0;
let rootFlags: u32 = 0;

// ---- SIMD helpers -----------------------------------------------------------------------------

// Byte rotations: a swizzle with constant indices becomes one pshufb in V8 (mask read from the
// constant pool); i8x16.shuffle rebuilds its mask in a register at every use, and shifts cost 3.
// @ts-ignore: decorator
@inline function rot16(x: v128): v128 {
  return i8x16.swizzle(x, i8x16(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
}
// @ts-ignore: decorator
@inline function rot8(x: v128): v128 {
  return i8x16.swizzle(x, i8x16(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12));
}
// @ts-ignore: decorator
@inline function rot12(x: v128): v128 {
  return v128.or(i32x4.shr_u(x, 12), i32x4.shl(x, 20));
}
// @ts-ignore: decorator
@inline function rot7(x: v128): v128 {
  return v128.or(i32x4.shr_u(x, 7), i32x4.shl(x, 25));
}

/** Load 4 words from each of q0..q3 and store them transposed: dst + 16*j holds word j of each. */
// @ts-ignore: decorator
@inline function transpose4(q0: usize, q1: usize, q2: usize, q3: usize, dst: usize): void {
  const a0 = v128.load(q0), a1 = v128.load(q1), a2 = v128.load(q2), a3 = v128.load(q3);
  const t0 = i32x4.shuffle(a0, a1, 0, 4, 1, 5), t1 = i32x4.shuffle(a0, a1, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(a2, a3, 0, 4, 1, 5), t3 = i32x4.shuffle(a2, a3, 2, 6, 3, 7);
  v128.store(dst, i32x4.shuffle(t0, t2, 0, 1, 4, 5), 0);
  v128.store(dst, i32x4.shuffle(t0, t2, 2, 3, 6, 7), 16);
  v128.store(dst, i32x4.shuffle(t1, t3, 0, 1, 4, 5), 32);
  v128.store(dst, i32x4.shuffle(t1, t3, 2, 3, 6, 7), 48);
}

// ---- scalar compression -----------------------------------------------------------------------

/**
 * Compress one block. Writes the 8-word chaining value to `out`, or with `xof` the full 16-word
 * output block. `out` may alias `cv` (everything is loaded before anything is stored).
 */
function compress(cv: usize, block: usize, blockLen: u32, counter: u64, flags: u32, out: usize, xof: bool): void {
  let m0 = load<u32>(block, 0), m1 = load<u32>(block, 4), m2 = load<u32>(block, 8), m3 = load<u32>(block, 12);
  let m4 = load<u32>(block, 16), m5 = load<u32>(block, 20), m6 = load<u32>(block, 24), m7 = load<u32>(block, 28);
  let m8 = load<u32>(block, 32), m9 = load<u32>(block, 36), m10 = load<u32>(block, 40), m11 = load<u32>(block, 44);
  let m12 = load<u32>(block, 48), m13 = load<u32>(block, 52), m14 = load<u32>(block, 56), m15 = load<u32>(block, 60);
  let c0 = load<u32>(cv, 0), c1 = load<u32>(cv, 4), c2 = load<u32>(cv, 8), c3 = load<u32>(cv, 12);
  let c4 = load<u32>(cv, 16), c5 = load<u32>(cv, 20), c6 = load<u32>(cv, 24), c7 = load<u32>(cv, 28);
  let v0 = c0, v1 = c1, v2 = c2, v3 = c3, v4 = c4, v5 = c5, v6 = c6, v7 = c7;
  let v8 = IV0, v9 = IV1, v10 = IV2, v11 = IV3;
  let v12 = <u32>counter, v13 = <u32>(counter >>> 32), v14 = blockLen, v15 = flags;
  // BEGIN GENERATED SCALAR ROUNDS
    // round 0
    v0 = v0 + v4 + m0;
    v1 = v1 + v5 + m2;
    v2 = v2 + v6 + m4;
    v3 = v3 + v7 + m6;
    v12 = rotr<u32>(v12 ^ v0, 16);
    v13 = rotr<u32>(v13 ^ v1, 16);
    v14 = rotr<u32>(v14 ^ v2, 16);
    v15 = rotr<u32>(v15 ^ v3, 16);
    v8 = v8 + v12;
    v9 = v9 + v13;
    v10 = v10 + v14;
    v11 = v11 + v15;
    v4 = rotr<u32>(v4 ^ v8, 12);
    v5 = rotr<u32>(v5 ^ v9, 12);
    v6 = rotr<u32>(v6 ^ v10, 12);
    v7 = rotr<u32>(v7 ^ v11, 12);
    v0 = v0 + v4 + m1;
    v1 = v1 + v5 + m3;
    v2 = v2 + v6 + m5;
    v3 = v3 + v7 + m7;
    v12 = rotr<u32>(v12 ^ v0, 8);
    v13 = rotr<u32>(v13 ^ v1, 8);
    v14 = rotr<u32>(v14 ^ v2, 8);
    v15 = rotr<u32>(v15 ^ v3, 8);
    v8 = v8 + v12;
    v9 = v9 + v13;
    v10 = v10 + v14;
    v11 = v11 + v15;
    v4 = rotr<u32>(v4 ^ v8, 7);
    v5 = rotr<u32>(v5 ^ v9, 7);
    v6 = rotr<u32>(v6 ^ v10, 7);
    v7 = rotr<u32>(v7 ^ v11, 7);
    v0 = v0 + v5 + m8;
    v1 = v1 + v6 + m10;
    v2 = v2 + v7 + m12;
    v3 = v3 + v4 + m14;
    v15 = rotr<u32>(v15 ^ v0, 16);
    v12 = rotr<u32>(v12 ^ v1, 16);
    v13 = rotr<u32>(v13 ^ v2, 16);
    v14 = rotr<u32>(v14 ^ v3, 16);
    v10 = v10 + v15;
    v11 = v11 + v12;
    v8 = v8 + v13;
    v9 = v9 + v14;
    v5 = rotr<u32>(v5 ^ v10, 12);
    v6 = rotr<u32>(v6 ^ v11, 12);
    v7 = rotr<u32>(v7 ^ v8, 12);
    v4 = rotr<u32>(v4 ^ v9, 12);
    v0 = v0 + v5 + m9;
    v1 = v1 + v6 + m11;
    v2 = v2 + v7 + m13;
    v3 = v3 + v4 + m15;
    v15 = rotr<u32>(v15 ^ v0, 8);
    v12 = rotr<u32>(v12 ^ v1, 8);
    v13 = rotr<u32>(v13 ^ v2, 8);
    v14 = rotr<u32>(v14 ^ v3, 8);
    v10 = v10 + v15;
    v11 = v11 + v12;
    v8 = v8 + v13;
    v9 = v9 + v14;
    v5 = rotr<u32>(v5 ^ v10, 7);
    v6 = rotr<u32>(v6 ^ v11, 7);
    v7 = rotr<u32>(v7 ^ v8, 7);
    v4 = rotr<u32>(v4 ^ v9, 7);
    // round 1
    v0 = v0 + v4 + m2;
    v1 = v1 + v5 + m3;
    v2 = v2 + v6 + m7;
    v3 = v3 + v7 + m4;
    v12 = rotr<u32>(v12 ^ v0, 16);
    v13 = rotr<u32>(v13 ^ v1, 16);
    v14 = rotr<u32>(v14 ^ v2, 16);
    v15 = rotr<u32>(v15 ^ v3, 16);
    v8 = v8 + v12;
    v9 = v9 + v13;
    v10 = v10 + v14;
    v11 = v11 + v15;
    v4 = rotr<u32>(v4 ^ v8, 12);
    v5 = rotr<u32>(v5 ^ v9, 12);
    v6 = rotr<u32>(v6 ^ v10, 12);
    v7 = rotr<u32>(v7 ^ v11, 12);
    v0 = v0 + v4 + m6;
    v1 = v1 + v5 + m10;
    v2 = v2 + v6 + m0;
    v3 = v3 + v7 + m13;
    v12 = rotr<u32>(v12 ^ v0, 8);
    v13 = rotr<u32>(v13 ^ v1, 8);
    v14 = rotr<u32>(v14 ^ v2, 8);
    v15 = rotr<u32>(v15 ^ v3, 8);
    v8 = v8 + v12;
    v9 = v9 + v13;
    v10 = v10 + v14;
    v11 = v11 + v15;
    v4 = rotr<u32>(v4 ^ v8, 7);
    v5 = rotr<u32>(v5 ^ v9, 7);
    v6 = rotr<u32>(v6 ^ v10, 7);
    v7 = rotr<u32>(v7 ^ v11, 7);
    v0 = v0 + v5 + m1;
    v1 = v1 + v6 + m12;
    v2 = v2 + v7 + m9;
    v3 = v3 + v4 + m15;
    v15 = rotr<u32>(v15 ^ v0, 16);
    v12 = rotr<u32>(v12 ^ v1, 16);
    v13 = rotr<u32>(v13 ^ v2, 16);
    v14 = rotr<u32>(v14 ^ v3, 16);
    v10 = v10 + v15;
    v11 = v11 + v12;
    v8 = v8 + v13;
    v9 = v9 + v14;
    v5 = rotr<u32>(v5 ^ v10, 12);
    v6 = rotr<u32>(v6 ^ v11, 12);
    v7 = rotr<u32>(v7 ^ v8, 12);
    v4 = rotr<u32>(v4 ^ v9, 12);
    v0 = v0 + v5 + m11;
    v1 = v1 + v6 + m5;
    v2 = v2 + v7 + m14;
    v3 = v3 + v4 + m8;
    v15 = rotr<u32>(v15 ^ v0, 8);
    v12 = rotr<u32>(v12 ^ v1, 8);
    v13 = rotr<u32>(v13 ^ v2, 8);
    v14 = rotr<u32>(v14 ^ v3, 8);
    v10 = v10 + v15;
    v11 = v11 + v12;
    v8 = v8 + v13;
    v9 = v9 + v14;
    v5 = rotr<u32>(v5 ^ v10, 7);
    v6 = rotr<u32>(v6 ^ v11, 7);
    v7 = rotr<u32>(v7 ^ v8, 7);
    v4 = rotr<u32>(v4 ^ v9, 7);
    // round 2
    v0 = v0 + v4 + m3;
    v1 = v1 + v5 + m10;
    v2 = v2 + v6 + m13;
    v3 = v3 + v7 + m7;
    v12 = rotr<u32>(v12 ^ v0, 16);
    v13 = rotr<u32>(v13 ^ v1, 16);
    v14 = rotr<u32>(v14 ^ v2, 16);
    v15 = rotr<u32>(v15 ^ v3, 16);
    v8 = v8 + v12;
    v9 = v9 + v13;
    v10 = v10 + v14;
    v11 = v11 + v15;
    v4 = rotr<u32>(v4 ^ v8, 12);
    v5 = rotr<u32>(v5 ^ v9, 12);
    v6 = rotr<u32>(v6 ^ v10, 12);
    v7 = rotr<u32>(v7 ^ v11, 12);
    v0 = v0 + v4 + m4;
    v1 = v1 + v5 + m12;
    v2 = v2 + v6 + m2;
    v3 = v3 + v7 + m14;
    v12 = rotr<u32>(v12 ^ v0, 8);
    v13 = rotr<u32>(v13 ^ v1, 8);
    v14 = rotr<u32>(v14 ^ v2, 8);
    v15 = rotr<u32>(v15 ^ v3, 8);
    v8 = v8 + v12;
    v9 = v9 + v13;
    v10 = v10 + v14;
    v11 = v11 + v15;
    v4 = rotr<u32>(v4 ^ v8, 7);
    v5 = rotr<u32>(v5 ^ v9, 7);
    v6 = rotr<u32>(v6 ^ v10, 7);
    v7 = rotr<u32>(v7 ^ v11, 7);
    v0 = v0 + v5 + m6;
    v1 = v1 + v6 + m9;
    v2 = v2 + v7 + m11;
    v3 = v3 + v4 + m8;
    v15 = rotr<u32>(v15 ^ v0, 16);
    v12 = rotr<u32>(v12 ^ v1, 16);
    v13 = rotr<u32>(v13 ^ v2, 16);
    v14 = rotr<u32>(v14 ^ v3, 16);
    v10 = v10 + v15;
    v11 = v11 + v12;
    v8 = v8 + v13;
    v9 = v9 + v14;
    v5 = rotr<u32>(v5 ^ v10, 12);
    v6 = rotr<u32>(v6 ^ v11, 12);
    v7 = rotr<u32>(v7 ^ v8, 12);
    v4 = rotr<u32>(v4 ^ v9, 12);
    v0 = v0 + v5 + m5;
    v1 = v1 + v6 + m0;
    v2 = v2 + v7 + m15;
    v3 = v3 + v4 + m1;
    v15 = rotr<u32>(v15 ^ v0, 8);
    v12 = rotr<u32>(v12 ^ v1, 8);
    v13 = rotr<u32>(v13 ^ v2, 8);
    v14 = rotr<u32>(v14 ^ v3, 8);
    v10 = v10 + v15;
    v11 = v11 + v12;
    v8 = v8 + v13;
    v9 = v9 + v14;
    v5 = rotr<u32>(v5 ^ v10, 7);
    v6 = rotr<u32>(v6 ^ v11, 7);
    v7 = rotr<u32>(v7 ^ v8, 7);
    v4 = rotr<u32>(v4 ^ v9, 7);
    // round 3
    v0 = v0 + v4 + m10;
    v1 = v1 + v5 + m12;
    v2 = v2 + v6 + m14;
    v3 = v3 + v7 + m13;
    v12 = rotr<u32>(v12 ^ v0, 16);
    v13 = rotr<u32>(v13 ^ v1, 16);
    v14 = rotr<u32>(v14 ^ v2, 16);
    v15 = rotr<u32>(v15 ^ v3, 16);
    v8 = v8 + v12;
    v9 = v9 + v13;
    v10 = v10 + v14;
    v11 = v11 + v15;
    v4 = rotr<u32>(v4 ^ v8, 12);
    v5 = rotr<u32>(v5 ^ v9, 12);
    v6 = rotr<u32>(v6 ^ v10, 12);
    v7 = rotr<u32>(v7 ^ v11, 12);
    v0 = v0 + v4 + m7;
    v1 = v1 + v5 + m9;
    v2 = v2 + v6 + m3;
    v3 = v3 + v7 + m15;
    v12 = rotr<u32>(v12 ^ v0, 8);
    v13 = rotr<u32>(v13 ^ v1, 8);
    v14 = rotr<u32>(v14 ^ v2, 8);
    v15 = rotr<u32>(v15 ^ v3, 8);
    v8 = v8 + v12;
    v9 = v9 + v13;
    v10 = v10 + v14;
    v11 = v11 + v15;
    v4 = rotr<u32>(v4 ^ v8, 7);
    v5 = rotr<u32>(v5 ^ v9, 7);
    v6 = rotr<u32>(v6 ^ v10, 7);
    v7 = rotr<u32>(v7 ^ v11, 7);
    v0 = v0 + v5 + m4;
    v1 = v1 + v6 + m11;
    v2 = v2 + v7 + m5;
    v3 = v3 + v4 + m1;
    v15 = rotr<u32>(v15 ^ v0, 16);
    v12 = rotr<u32>(v12 ^ v1, 16);
    v13 = rotr<u32>(v13 ^ v2, 16);
    v14 = rotr<u32>(v14 ^ v3, 16);
    v10 = v10 + v15;
    v11 = v11 + v12;
    v8 = v8 + v13;
    v9 = v9 + v14;
    v5 = rotr<u32>(v5 ^ v10, 12);
    v6 = rotr<u32>(v6 ^ v11, 12);
    v7 = rotr<u32>(v7 ^ v8, 12);
    v4 = rotr<u32>(v4 ^ v9, 12);
    v0 = v0 + v5 + m0;
    v1 = v1 + v6 + m2;
    v2 = v2 + v7 + m8;
    v3 = v3 + v4 + m6;
    v15 = rotr<u32>(v15 ^ v0, 8);
    v12 = rotr<u32>(v12 ^ v1, 8);
    v13 = rotr<u32>(v13 ^ v2, 8);
    v14 = rotr<u32>(v14 ^ v3, 8);
    v10 = v10 + v15;
    v11 = v11 + v12;
    v8 = v8 + v13;
    v9 = v9 + v14;
    v5 = rotr<u32>(v5 ^ v10, 7);
    v6 = rotr<u32>(v6 ^ v11, 7);
    v7 = rotr<u32>(v7 ^ v8, 7);
    v4 = rotr<u32>(v4 ^ v9, 7);
    // round 4
    v0 = v0 + v4 + m12;
    v1 = v1 + v5 + m9;
    v2 = v2 + v6 + m15;
    v3 = v3 + v7 + m14;
    v12 = rotr<u32>(v12 ^ v0, 16);
    v13 = rotr<u32>(v13 ^ v1, 16);
    v14 = rotr<u32>(v14 ^ v2, 16);
    v15 = rotr<u32>(v15 ^ v3, 16);
    v8 = v8 + v12;
    v9 = v9 + v13;
    v10 = v10 + v14;
    v11 = v11 + v15;
    v4 = rotr<u32>(v4 ^ v8, 12);
    v5 = rotr<u32>(v5 ^ v9, 12);
    v6 = rotr<u32>(v6 ^ v10, 12);
    v7 = rotr<u32>(v7 ^ v11, 12);
    v0 = v0 + v4 + m13;
    v1 = v1 + v5 + m11;
    v2 = v2 + v6 + m10;
    v3 = v3 + v7 + m8;
    v12 = rotr<u32>(v12 ^ v0, 8);
    v13 = rotr<u32>(v13 ^ v1, 8);
    v14 = rotr<u32>(v14 ^ v2, 8);
    v15 = rotr<u32>(v15 ^ v3, 8);
    v8 = v8 + v12;
    v9 = v9 + v13;
    v10 = v10 + v14;
    v11 = v11 + v15;
    v4 = rotr<u32>(v4 ^ v8, 7);
    v5 = rotr<u32>(v5 ^ v9, 7);
    v6 = rotr<u32>(v6 ^ v10, 7);
    v7 = rotr<u32>(v7 ^ v11, 7);
    v0 = v0 + v5 + m7;
    v1 = v1 + v6 + m5;
    v2 = v2 + v7 + m0;
    v3 = v3 + v4 + m6;
    v15 = rotr<u32>(v15 ^ v0, 16);
    v12 = rotr<u32>(v12 ^ v1, 16);
    v13 = rotr<u32>(v13 ^ v2, 16);
    v14 = rotr<u32>(v14 ^ v3, 16);
    v10 = v10 + v15;
    v11 = v11 + v12;
    v8 = v8 + v13;
    v9 = v9 + v14;
    v5 = rotr<u32>(v5 ^ v10, 12);
    v6 = rotr<u32>(v6 ^ v11, 12);
    v7 = rotr<u32>(v7 ^ v8, 12);
    v4 = rotr<u32>(v4 ^ v9, 12);
    v0 = v0 + v5 + m2;
    v1 = v1 + v6 + m3;
    v2 = v2 + v7 + m1;
    v3 = v3 + v4 + m4;
    v15 = rotr<u32>(v15 ^ v0, 8);
    v12 = rotr<u32>(v12 ^ v1, 8);
    v13 = rotr<u32>(v13 ^ v2, 8);
    v14 = rotr<u32>(v14 ^ v3, 8);
    v10 = v10 + v15;
    v11 = v11 + v12;
    v8 = v8 + v13;
    v9 = v9 + v14;
    v5 = rotr<u32>(v5 ^ v10, 7);
    v6 = rotr<u32>(v6 ^ v11, 7);
    v7 = rotr<u32>(v7 ^ v8, 7);
    v4 = rotr<u32>(v4 ^ v9, 7);
    // round 5
    v0 = v0 + v4 + m9;
    v1 = v1 + v5 + m11;
    v2 = v2 + v6 + m8;
    v3 = v3 + v7 + m15;
    v12 = rotr<u32>(v12 ^ v0, 16);
    v13 = rotr<u32>(v13 ^ v1, 16);
    v14 = rotr<u32>(v14 ^ v2, 16);
    v15 = rotr<u32>(v15 ^ v3, 16);
    v8 = v8 + v12;
    v9 = v9 + v13;
    v10 = v10 + v14;
    v11 = v11 + v15;
    v4 = rotr<u32>(v4 ^ v8, 12);
    v5 = rotr<u32>(v5 ^ v9, 12);
    v6 = rotr<u32>(v6 ^ v10, 12);
    v7 = rotr<u32>(v7 ^ v11, 12);
    v0 = v0 + v4 + m14;
    v1 = v1 + v5 + m5;
    v2 = v2 + v6 + m12;
    v3 = v3 + v7 + m1;
    v12 = rotr<u32>(v12 ^ v0, 8);
    v13 = rotr<u32>(v13 ^ v1, 8);
    v14 = rotr<u32>(v14 ^ v2, 8);
    v15 = rotr<u32>(v15 ^ v3, 8);
    v8 = v8 + v12;
    v9 = v9 + v13;
    v10 = v10 + v14;
    v11 = v11 + v15;
    v4 = rotr<u32>(v4 ^ v8, 7);
    v5 = rotr<u32>(v5 ^ v9, 7);
    v6 = rotr<u32>(v6 ^ v10, 7);
    v7 = rotr<u32>(v7 ^ v11, 7);
    v0 = v0 + v5 + m13;
    v1 = v1 + v6 + m0;
    v2 = v2 + v7 + m2;
    v3 = v3 + v4 + m4;
    v15 = rotr<u32>(v15 ^ v0, 16);
    v12 = rotr<u32>(v12 ^ v1, 16);
    v13 = rotr<u32>(v13 ^ v2, 16);
    v14 = rotr<u32>(v14 ^ v3, 16);
    v10 = v10 + v15;
    v11 = v11 + v12;
    v8 = v8 + v13;
    v9 = v9 + v14;
    v5 = rotr<u32>(v5 ^ v10, 12);
    v6 = rotr<u32>(v6 ^ v11, 12);
    v7 = rotr<u32>(v7 ^ v8, 12);
    v4 = rotr<u32>(v4 ^ v9, 12);
    v0 = v0 + v5 + m3;
    v1 = v1 + v6 + m10;
    v2 = v2 + v7 + m6;
    v3 = v3 + v4 + m7;
    v15 = rotr<u32>(v15 ^ v0, 8);
    v12 = rotr<u32>(v12 ^ v1, 8);
    v13 = rotr<u32>(v13 ^ v2, 8);
    v14 = rotr<u32>(v14 ^ v3, 8);
    v10 = v10 + v15;
    v11 = v11 + v12;
    v8 = v8 + v13;
    v9 = v9 + v14;
    v5 = rotr<u32>(v5 ^ v10, 7);
    v6 = rotr<u32>(v6 ^ v11, 7);
    v7 = rotr<u32>(v7 ^ v8, 7);
    v4 = rotr<u32>(v4 ^ v9, 7);
    // round 6
    v0 = v0 + v4 + m11;
    v1 = v1 + v5 + m5;
    v2 = v2 + v6 + m1;
    v3 = v3 + v7 + m8;
    v12 = rotr<u32>(v12 ^ v0, 16);
    v13 = rotr<u32>(v13 ^ v1, 16);
    v14 = rotr<u32>(v14 ^ v2, 16);
    v15 = rotr<u32>(v15 ^ v3, 16);
    v8 = v8 + v12;
    v9 = v9 + v13;
    v10 = v10 + v14;
    v11 = v11 + v15;
    v4 = rotr<u32>(v4 ^ v8, 12);
    v5 = rotr<u32>(v5 ^ v9, 12);
    v6 = rotr<u32>(v6 ^ v10, 12);
    v7 = rotr<u32>(v7 ^ v11, 12);
    v0 = v0 + v4 + m15;
    v1 = v1 + v5 + m0;
    v2 = v2 + v6 + m9;
    v3 = v3 + v7 + m6;
    v12 = rotr<u32>(v12 ^ v0, 8);
    v13 = rotr<u32>(v13 ^ v1, 8);
    v14 = rotr<u32>(v14 ^ v2, 8);
    v15 = rotr<u32>(v15 ^ v3, 8);
    v8 = v8 + v12;
    v9 = v9 + v13;
    v10 = v10 + v14;
    v11 = v11 + v15;
    v4 = rotr<u32>(v4 ^ v8, 7);
    v5 = rotr<u32>(v5 ^ v9, 7);
    v6 = rotr<u32>(v6 ^ v10, 7);
    v7 = rotr<u32>(v7 ^ v11, 7);
    v0 = v0 + v5 + m14;
    v1 = v1 + v6 + m2;
    v2 = v2 + v7 + m3;
    v3 = v3 + v4 + m7;
    v15 = rotr<u32>(v15 ^ v0, 16);
    v12 = rotr<u32>(v12 ^ v1, 16);
    v13 = rotr<u32>(v13 ^ v2, 16);
    v14 = rotr<u32>(v14 ^ v3, 16);
    v10 = v10 + v15;
    v11 = v11 + v12;
    v8 = v8 + v13;
    v9 = v9 + v14;
    v5 = rotr<u32>(v5 ^ v10, 12);
    v6 = rotr<u32>(v6 ^ v11, 12);
    v7 = rotr<u32>(v7 ^ v8, 12);
    v4 = rotr<u32>(v4 ^ v9, 12);
    v0 = v0 + v5 + m10;
    v1 = v1 + v6 + m12;
    v2 = v2 + v7 + m4;
    v3 = v3 + v4 + m13;
    v15 = rotr<u32>(v15 ^ v0, 8);
    v12 = rotr<u32>(v12 ^ v1, 8);
    v13 = rotr<u32>(v13 ^ v2, 8);
    v14 = rotr<u32>(v14 ^ v3, 8);
    v10 = v10 + v15;
    v11 = v11 + v12;
    v8 = v8 + v13;
    v9 = v9 + v14;
    v5 = rotr<u32>(v5 ^ v10, 7);
    v6 = rotr<u32>(v6 ^ v11, 7);
    v7 = rotr<u32>(v7 ^ v8, 7);
    v4 = rotr<u32>(v4 ^ v9, 7);
  // END GENERATED SCALAR ROUNDS
  store<u32>(out, v0 ^ v8, 0); store<u32>(out, v1 ^ v9, 4);
  store<u32>(out, v2 ^ v10, 8); store<u32>(out, v3 ^ v11, 12);
  store<u32>(out, v4 ^ v12, 16); store<u32>(out, v5 ^ v13, 20);
  store<u32>(out, v6 ^ v14, 24); store<u32>(out, v7 ^ v15, 28);
  if (xof) {
    store<u32>(out, v8 ^ c0, 32); store<u32>(out, v9 ^ c1, 36);
    store<u32>(out, v10 ^ c2, 40); store<u32>(out, v11 ^ c3, 44);
    store<u32>(out, v12 ^ c4, 48); store<u32>(out, v13 ^ c5, 52);
    store<u32>(out, v14 ^ c6, 56); store<u32>(out, v15 ^ c7, 60);
  }
}

// ---- 4-lane SIMD compression ------------------------------------------------------------------

/**
 * Hash 4 inputs of `blocks` whole blocks each, one per lane, from the key words at `key`.
 * Lane i uses counter + i when `inc` (chunks) or `counter` (parents). The first block gets
 * `flagsStart`, the last `flagsEnd`. Writes 4 CVs (32 bytes each) to out; out may overlap
 * the inputs only when blocks == 1 (parents), since each block is loaded before anything is stored.
 */
function hash4(p0: usize, p1: usize, p2: usize, p3: usize, blocks: u32, key: usize, counter: u64, inc: bool,
  flags: u32, flagsStart: u32, flagsEnd: u32, out: usize): void {
  let h0 = v128.load32_splat(key, 0), h1 = v128.load32_splat(key, 4);
  let h2 = v128.load32_splat(key, 8), h3 = v128.load32_splat(key, 12);
  let h4 = v128.load32_splat(key, 16), h5 = v128.load32_splat(key, 20);
  let h6 = v128.load32_splat(key, 24), h7 = v128.load32_splat(key, 28);
  let cl = i32x4.splat(<i32>counter);
  let ch = i32x4.splat(<i32>(counter >>> 32));
  if (inc) {
    const c1 = counter + 1, c2 = counter + 2, c3 = counter + 3;
    cl = i32x4.replace_lane(cl, 1, <i32>c1);
    cl = i32x4.replace_lane(cl, 2, <i32>c2);
    cl = i32x4.replace_lane(cl, 3, <i32>c3);
    ch = i32x4.replace_lane(ch, 1, <i32>(c1 >>> 32));
    ch = i32x4.replace_lane(ch, 2, <i32>(c2 >>> 32));
    ch = i32x4.replace_lane(ch, 3, <i32>(c3 >>> 32));
  }
  const last = blocks - 1;
  for (let b: u32 = 0; b < blocks; b++) {
    const off = <usize>b << 6;
    let bf = flags;
    if (b == 0) bf |= flagsStart;
    if (b == last) bf |= flagsEnd;
    // Message words, transposed: MSG + 16*w holds word w of the 4 inputs (lane i = input i).
    const q0 = p0 + off, q1 = p1 + off, q2 = p2 + off, q3 = p3 + off;
    transpose4(q0, q1, q2, q3, MSG);
    transpose4(q0 + 16, q1 + 16, q2 + 16, q3 + 16, MSG + 64);
    transpose4(q0 + 32, q1 + 32, q2 + 32, q3 + 32, MSG + 128);
    transpose4(q0 + 48, q1 + 48, q2 + 48, q3 + 48, MSG + 192);

    let v0 = h0, v1 = h1, v2 = h2, v3 = h3, v4 = h4, v5 = h5, v6 = h6, v7 = h7;
    let v8 = i32x4.splat(<i32>IV0), v9 = i32x4.splat(<i32>IV1), v10 = i32x4.splat(<i32>IV2), v11 = i32x4.splat(<i32>IV3);
    let v12 = cl, v13 = ch, v14 = i32x4.splat(64), v15 = i32x4.splat(<i32>bf);
    // BEGIN GENERATED SIMD ROUNDS
    // round 0
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 0)), v4);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 32)), v5);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 64)), v6);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 96)), v7);
    v12 = rot16(v128.xor(v12, v0));
    v13 = rot16(v128.xor(v13, v1));
    v14 = rot16(v128.xor(v14, v2));
    v15 = rot16(v128.xor(v15, v3));
    v8 = i32x4.add(v8, v12);
    v9 = i32x4.add(v9, v13);
    v10 = i32x4.add(v10, v14);
    v11 = i32x4.add(v11, v15);
    v4 = rot12(v128.xor(v4, v8));
    v5 = rot12(v128.xor(v5, v9));
    v6 = rot12(v128.xor(v6, v10));
    v7 = rot12(v128.xor(v7, v11));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 16)), v4);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 48)), v5);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 80)), v6);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 112)), v7);
    v12 = rot8(v128.xor(v12, v0));
    v13 = rot8(v128.xor(v13, v1));
    v14 = rot8(v128.xor(v14, v2));
    v15 = rot8(v128.xor(v15, v3));
    v8 = i32x4.add(v8, v12);
    v9 = i32x4.add(v9, v13);
    v10 = i32x4.add(v10, v14);
    v11 = i32x4.add(v11, v15);
    v4 = rot7(v128.xor(v4, v8));
    v5 = rot7(v128.xor(v5, v9));
    v6 = rot7(v128.xor(v6, v10));
    v7 = rot7(v128.xor(v7, v11));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 128)), v5);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 160)), v6);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 192)), v7);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 224)), v4);
    v15 = rot16(v128.xor(v15, v0));
    v12 = rot16(v128.xor(v12, v1));
    v13 = rot16(v128.xor(v13, v2));
    v14 = rot16(v128.xor(v14, v3));
    v10 = i32x4.add(v10, v15);
    v11 = i32x4.add(v11, v12);
    v8 = i32x4.add(v8, v13);
    v9 = i32x4.add(v9, v14);
    v5 = rot12(v128.xor(v5, v10));
    v6 = rot12(v128.xor(v6, v11));
    v7 = rot12(v128.xor(v7, v8));
    v4 = rot12(v128.xor(v4, v9));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 144)), v5);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 176)), v6);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 208)), v7);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 240)), v4);
    v15 = rot8(v128.xor(v15, v0));
    v12 = rot8(v128.xor(v12, v1));
    v13 = rot8(v128.xor(v13, v2));
    v14 = rot8(v128.xor(v14, v3));
    v10 = i32x4.add(v10, v15);
    v11 = i32x4.add(v11, v12);
    v8 = i32x4.add(v8, v13);
    v9 = i32x4.add(v9, v14);
    v5 = rot7(v128.xor(v5, v10));
    v6 = rot7(v128.xor(v6, v11));
    v7 = rot7(v128.xor(v7, v8));
    v4 = rot7(v128.xor(v4, v9));
    // round 1
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 32)), v4);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 48)), v5);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 112)), v6);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 64)), v7);
    v12 = rot16(v128.xor(v12, v0));
    v13 = rot16(v128.xor(v13, v1));
    v14 = rot16(v128.xor(v14, v2));
    v15 = rot16(v128.xor(v15, v3));
    v8 = i32x4.add(v8, v12);
    v9 = i32x4.add(v9, v13);
    v10 = i32x4.add(v10, v14);
    v11 = i32x4.add(v11, v15);
    v4 = rot12(v128.xor(v4, v8));
    v5 = rot12(v128.xor(v5, v9));
    v6 = rot12(v128.xor(v6, v10));
    v7 = rot12(v128.xor(v7, v11));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 96)), v4);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 160)), v5);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 0)), v6);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 208)), v7);
    v12 = rot8(v128.xor(v12, v0));
    v13 = rot8(v128.xor(v13, v1));
    v14 = rot8(v128.xor(v14, v2));
    v15 = rot8(v128.xor(v15, v3));
    v8 = i32x4.add(v8, v12);
    v9 = i32x4.add(v9, v13);
    v10 = i32x4.add(v10, v14);
    v11 = i32x4.add(v11, v15);
    v4 = rot7(v128.xor(v4, v8));
    v5 = rot7(v128.xor(v5, v9));
    v6 = rot7(v128.xor(v6, v10));
    v7 = rot7(v128.xor(v7, v11));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 16)), v5);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 192)), v6);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 144)), v7);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 240)), v4);
    v15 = rot16(v128.xor(v15, v0));
    v12 = rot16(v128.xor(v12, v1));
    v13 = rot16(v128.xor(v13, v2));
    v14 = rot16(v128.xor(v14, v3));
    v10 = i32x4.add(v10, v15);
    v11 = i32x4.add(v11, v12);
    v8 = i32x4.add(v8, v13);
    v9 = i32x4.add(v9, v14);
    v5 = rot12(v128.xor(v5, v10));
    v6 = rot12(v128.xor(v6, v11));
    v7 = rot12(v128.xor(v7, v8));
    v4 = rot12(v128.xor(v4, v9));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 176)), v5);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 80)), v6);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 224)), v7);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 128)), v4);
    v15 = rot8(v128.xor(v15, v0));
    v12 = rot8(v128.xor(v12, v1));
    v13 = rot8(v128.xor(v13, v2));
    v14 = rot8(v128.xor(v14, v3));
    v10 = i32x4.add(v10, v15);
    v11 = i32x4.add(v11, v12);
    v8 = i32x4.add(v8, v13);
    v9 = i32x4.add(v9, v14);
    v5 = rot7(v128.xor(v5, v10));
    v6 = rot7(v128.xor(v6, v11));
    v7 = rot7(v128.xor(v7, v8));
    v4 = rot7(v128.xor(v4, v9));
    // round 2
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 48)), v4);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 160)), v5);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 208)), v6);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 112)), v7);
    v12 = rot16(v128.xor(v12, v0));
    v13 = rot16(v128.xor(v13, v1));
    v14 = rot16(v128.xor(v14, v2));
    v15 = rot16(v128.xor(v15, v3));
    v8 = i32x4.add(v8, v12);
    v9 = i32x4.add(v9, v13);
    v10 = i32x4.add(v10, v14);
    v11 = i32x4.add(v11, v15);
    v4 = rot12(v128.xor(v4, v8));
    v5 = rot12(v128.xor(v5, v9));
    v6 = rot12(v128.xor(v6, v10));
    v7 = rot12(v128.xor(v7, v11));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 64)), v4);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 192)), v5);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 32)), v6);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 224)), v7);
    v12 = rot8(v128.xor(v12, v0));
    v13 = rot8(v128.xor(v13, v1));
    v14 = rot8(v128.xor(v14, v2));
    v15 = rot8(v128.xor(v15, v3));
    v8 = i32x4.add(v8, v12);
    v9 = i32x4.add(v9, v13);
    v10 = i32x4.add(v10, v14);
    v11 = i32x4.add(v11, v15);
    v4 = rot7(v128.xor(v4, v8));
    v5 = rot7(v128.xor(v5, v9));
    v6 = rot7(v128.xor(v6, v10));
    v7 = rot7(v128.xor(v7, v11));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 96)), v5);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 144)), v6);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 176)), v7);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 128)), v4);
    v15 = rot16(v128.xor(v15, v0));
    v12 = rot16(v128.xor(v12, v1));
    v13 = rot16(v128.xor(v13, v2));
    v14 = rot16(v128.xor(v14, v3));
    v10 = i32x4.add(v10, v15);
    v11 = i32x4.add(v11, v12);
    v8 = i32x4.add(v8, v13);
    v9 = i32x4.add(v9, v14);
    v5 = rot12(v128.xor(v5, v10));
    v6 = rot12(v128.xor(v6, v11));
    v7 = rot12(v128.xor(v7, v8));
    v4 = rot12(v128.xor(v4, v9));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 80)), v5);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 0)), v6);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 240)), v7);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 16)), v4);
    v15 = rot8(v128.xor(v15, v0));
    v12 = rot8(v128.xor(v12, v1));
    v13 = rot8(v128.xor(v13, v2));
    v14 = rot8(v128.xor(v14, v3));
    v10 = i32x4.add(v10, v15);
    v11 = i32x4.add(v11, v12);
    v8 = i32x4.add(v8, v13);
    v9 = i32x4.add(v9, v14);
    v5 = rot7(v128.xor(v5, v10));
    v6 = rot7(v128.xor(v6, v11));
    v7 = rot7(v128.xor(v7, v8));
    v4 = rot7(v128.xor(v4, v9));
    // round 3
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 160)), v4);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 192)), v5);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 224)), v6);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 208)), v7);
    v12 = rot16(v128.xor(v12, v0));
    v13 = rot16(v128.xor(v13, v1));
    v14 = rot16(v128.xor(v14, v2));
    v15 = rot16(v128.xor(v15, v3));
    v8 = i32x4.add(v8, v12);
    v9 = i32x4.add(v9, v13);
    v10 = i32x4.add(v10, v14);
    v11 = i32x4.add(v11, v15);
    v4 = rot12(v128.xor(v4, v8));
    v5 = rot12(v128.xor(v5, v9));
    v6 = rot12(v128.xor(v6, v10));
    v7 = rot12(v128.xor(v7, v11));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 112)), v4);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 144)), v5);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 48)), v6);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 240)), v7);
    v12 = rot8(v128.xor(v12, v0));
    v13 = rot8(v128.xor(v13, v1));
    v14 = rot8(v128.xor(v14, v2));
    v15 = rot8(v128.xor(v15, v3));
    v8 = i32x4.add(v8, v12);
    v9 = i32x4.add(v9, v13);
    v10 = i32x4.add(v10, v14);
    v11 = i32x4.add(v11, v15);
    v4 = rot7(v128.xor(v4, v8));
    v5 = rot7(v128.xor(v5, v9));
    v6 = rot7(v128.xor(v6, v10));
    v7 = rot7(v128.xor(v7, v11));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 64)), v5);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 176)), v6);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 80)), v7);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 16)), v4);
    v15 = rot16(v128.xor(v15, v0));
    v12 = rot16(v128.xor(v12, v1));
    v13 = rot16(v128.xor(v13, v2));
    v14 = rot16(v128.xor(v14, v3));
    v10 = i32x4.add(v10, v15);
    v11 = i32x4.add(v11, v12);
    v8 = i32x4.add(v8, v13);
    v9 = i32x4.add(v9, v14);
    v5 = rot12(v128.xor(v5, v10));
    v6 = rot12(v128.xor(v6, v11));
    v7 = rot12(v128.xor(v7, v8));
    v4 = rot12(v128.xor(v4, v9));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 0)), v5);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 32)), v6);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 128)), v7);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 96)), v4);
    v15 = rot8(v128.xor(v15, v0));
    v12 = rot8(v128.xor(v12, v1));
    v13 = rot8(v128.xor(v13, v2));
    v14 = rot8(v128.xor(v14, v3));
    v10 = i32x4.add(v10, v15);
    v11 = i32x4.add(v11, v12);
    v8 = i32x4.add(v8, v13);
    v9 = i32x4.add(v9, v14);
    v5 = rot7(v128.xor(v5, v10));
    v6 = rot7(v128.xor(v6, v11));
    v7 = rot7(v128.xor(v7, v8));
    v4 = rot7(v128.xor(v4, v9));
    // round 4
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 192)), v4);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 144)), v5);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 240)), v6);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 224)), v7);
    v12 = rot16(v128.xor(v12, v0));
    v13 = rot16(v128.xor(v13, v1));
    v14 = rot16(v128.xor(v14, v2));
    v15 = rot16(v128.xor(v15, v3));
    v8 = i32x4.add(v8, v12);
    v9 = i32x4.add(v9, v13);
    v10 = i32x4.add(v10, v14);
    v11 = i32x4.add(v11, v15);
    v4 = rot12(v128.xor(v4, v8));
    v5 = rot12(v128.xor(v5, v9));
    v6 = rot12(v128.xor(v6, v10));
    v7 = rot12(v128.xor(v7, v11));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 208)), v4);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 176)), v5);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 160)), v6);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 128)), v7);
    v12 = rot8(v128.xor(v12, v0));
    v13 = rot8(v128.xor(v13, v1));
    v14 = rot8(v128.xor(v14, v2));
    v15 = rot8(v128.xor(v15, v3));
    v8 = i32x4.add(v8, v12);
    v9 = i32x4.add(v9, v13);
    v10 = i32x4.add(v10, v14);
    v11 = i32x4.add(v11, v15);
    v4 = rot7(v128.xor(v4, v8));
    v5 = rot7(v128.xor(v5, v9));
    v6 = rot7(v128.xor(v6, v10));
    v7 = rot7(v128.xor(v7, v11));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 112)), v5);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 80)), v6);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 0)), v7);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 96)), v4);
    v15 = rot16(v128.xor(v15, v0));
    v12 = rot16(v128.xor(v12, v1));
    v13 = rot16(v128.xor(v13, v2));
    v14 = rot16(v128.xor(v14, v3));
    v10 = i32x4.add(v10, v15);
    v11 = i32x4.add(v11, v12);
    v8 = i32x4.add(v8, v13);
    v9 = i32x4.add(v9, v14);
    v5 = rot12(v128.xor(v5, v10));
    v6 = rot12(v128.xor(v6, v11));
    v7 = rot12(v128.xor(v7, v8));
    v4 = rot12(v128.xor(v4, v9));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 32)), v5);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 48)), v6);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 16)), v7);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 64)), v4);
    v15 = rot8(v128.xor(v15, v0));
    v12 = rot8(v128.xor(v12, v1));
    v13 = rot8(v128.xor(v13, v2));
    v14 = rot8(v128.xor(v14, v3));
    v10 = i32x4.add(v10, v15);
    v11 = i32x4.add(v11, v12);
    v8 = i32x4.add(v8, v13);
    v9 = i32x4.add(v9, v14);
    v5 = rot7(v128.xor(v5, v10));
    v6 = rot7(v128.xor(v6, v11));
    v7 = rot7(v128.xor(v7, v8));
    v4 = rot7(v128.xor(v4, v9));
    // round 5
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 144)), v4);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 176)), v5);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 128)), v6);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 240)), v7);
    v12 = rot16(v128.xor(v12, v0));
    v13 = rot16(v128.xor(v13, v1));
    v14 = rot16(v128.xor(v14, v2));
    v15 = rot16(v128.xor(v15, v3));
    v8 = i32x4.add(v8, v12);
    v9 = i32x4.add(v9, v13);
    v10 = i32x4.add(v10, v14);
    v11 = i32x4.add(v11, v15);
    v4 = rot12(v128.xor(v4, v8));
    v5 = rot12(v128.xor(v5, v9));
    v6 = rot12(v128.xor(v6, v10));
    v7 = rot12(v128.xor(v7, v11));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 224)), v4);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 80)), v5);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 192)), v6);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 16)), v7);
    v12 = rot8(v128.xor(v12, v0));
    v13 = rot8(v128.xor(v13, v1));
    v14 = rot8(v128.xor(v14, v2));
    v15 = rot8(v128.xor(v15, v3));
    v8 = i32x4.add(v8, v12);
    v9 = i32x4.add(v9, v13);
    v10 = i32x4.add(v10, v14);
    v11 = i32x4.add(v11, v15);
    v4 = rot7(v128.xor(v4, v8));
    v5 = rot7(v128.xor(v5, v9));
    v6 = rot7(v128.xor(v6, v10));
    v7 = rot7(v128.xor(v7, v11));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 208)), v5);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 0)), v6);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 32)), v7);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 64)), v4);
    v15 = rot16(v128.xor(v15, v0));
    v12 = rot16(v128.xor(v12, v1));
    v13 = rot16(v128.xor(v13, v2));
    v14 = rot16(v128.xor(v14, v3));
    v10 = i32x4.add(v10, v15);
    v11 = i32x4.add(v11, v12);
    v8 = i32x4.add(v8, v13);
    v9 = i32x4.add(v9, v14);
    v5 = rot12(v128.xor(v5, v10));
    v6 = rot12(v128.xor(v6, v11));
    v7 = rot12(v128.xor(v7, v8));
    v4 = rot12(v128.xor(v4, v9));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 48)), v5);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 160)), v6);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 96)), v7);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 112)), v4);
    v15 = rot8(v128.xor(v15, v0));
    v12 = rot8(v128.xor(v12, v1));
    v13 = rot8(v128.xor(v13, v2));
    v14 = rot8(v128.xor(v14, v3));
    v10 = i32x4.add(v10, v15);
    v11 = i32x4.add(v11, v12);
    v8 = i32x4.add(v8, v13);
    v9 = i32x4.add(v9, v14);
    v5 = rot7(v128.xor(v5, v10));
    v6 = rot7(v128.xor(v6, v11));
    v7 = rot7(v128.xor(v7, v8));
    v4 = rot7(v128.xor(v4, v9));
    // round 6
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 176)), v4);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 80)), v5);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 16)), v6);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 128)), v7);
    v12 = rot16(v128.xor(v12, v0));
    v13 = rot16(v128.xor(v13, v1));
    v14 = rot16(v128.xor(v14, v2));
    v15 = rot16(v128.xor(v15, v3));
    v8 = i32x4.add(v8, v12);
    v9 = i32x4.add(v9, v13);
    v10 = i32x4.add(v10, v14);
    v11 = i32x4.add(v11, v15);
    v4 = rot12(v128.xor(v4, v8));
    v5 = rot12(v128.xor(v5, v9));
    v6 = rot12(v128.xor(v6, v10));
    v7 = rot12(v128.xor(v7, v11));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 240)), v4);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 0)), v5);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 144)), v6);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 96)), v7);
    v12 = rot8(v128.xor(v12, v0));
    v13 = rot8(v128.xor(v13, v1));
    v14 = rot8(v128.xor(v14, v2));
    v15 = rot8(v128.xor(v15, v3));
    v8 = i32x4.add(v8, v12);
    v9 = i32x4.add(v9, v13);
    v10 = i32x4.add(v10, v14);
    v11 = i32x4.add(v11, v15);
    v4 = rot7(v128.xor(v4, v8));
    v5 = rot7(v128.xor(v5, v9));
    v6 = rot7(v128.xor(v6, v10));
    v7 = rot7(v128.xor(v7, v11));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 224)), v5);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 32)), v6);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 48)), v7);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 112)), v4);
    v15 = rot16(v128.xor(v15, v0));
    v12 = rot16(v128.xor(v12, v1));
    v13 = rot16(v128.xor(v13, v2));
    v14 = rot16(v128.xor(v14, v3));
    v10 = i32x4.add(v10, v15);
    v11 = i32x4.add(v11, v12);
    v8 = i32x4.add(v8, v13);
    v9 = i32x4.add(v9, v14);
    v5 = rot12(v128.xor(v5, v10));
    v6 = rot12(v128.xor(v6, v11));
    v7 = rot12(v128.xor(v7, v8));
    v4 = rot12(v128.xor(v4, v9));
    v0 = i32x4.add(i32x4.add(v0, v128.load(MSG, 160)), v5);
    v1 = i32x4.add(i32x4.add(v1, v128.load(MSG, 192)), v6);
    v2 = i32x4.add(i32x4.add(v2, v128.load(MSG, 64)), v7);
    v3 = i32x4.add(i32x4.add(v3, v128.load(MSG, 208)), v4);
    v15 = rot8(v128.xor(v15, v0));
    v12 = rot8(v128.xor(v12, v1));
    v13 = rot8(v128.xor(v13, v2));
    v14 = rot8(v128.xor(v14, v3));
    v10 = i32x4.add(v10, v15);
    v11 = i32x4.add(v11, v12);
    v8 = i32x4.add(v8, v13);
    v9 = i32x4.add(v9, v14);
    v5 = rot7(v128.xor(v5, v10));
    v6 = rot7(v128.xor(v6, v11));
    v7 = rot7(v128.xor(v7, v8));
    v4 = rot7(v128.xor(v4, v9));
    // END GENERATED SIMD ROUNDS
    h0 = v128.xor(v0, v8); h1 = v128.xor(v1, v9); h2 = v128.xor(v2, v10); h3 = v128.xor(v3, v11);
    h4 = v128.xor(v4, v12); h5 = v128.xor(v5, v13); h6 = v128.xor(v6, v14); h7 = v128.xor(v7, v15);
  }
  // Transpose back: lane i of h0..h7 is CV i.
  let t0 = i32x4.shuffle(h0, h1, 0, 4, 1, 5), t1 = i32x4.shuffle(h0, h1, 2, 6, 3, 7);
  let t2 = i32x4.shuffle(h2, h3, 0, 4, 1, 5), t3 = i32x4.shuffle(h2, h3, 2, 6, 3, 7);
  v128.store(out, i32x4.shuffle(t0, t2, 0, 1, 4, 5), 0);
  v128.store(out, i32x4.shuffle(t0, t2, 2, 3, 6, 7), 32);
  v128.store(out, i32x4.shuffle(t1, t3, 0, 1, 4, 5), 64);
  v128.store(out, i32x4.shuffle(t1, t3, 2, 3, 6, 7), 96);
  t0 = i32x4.shuffle(h4, h5, 0, 4, 1, 5); t1 = i32x4.shuffle(h4, h5, 2, 6, 3, 7);
  t2 = i32x4.shuffle(h6, h7, 0, 4, 1, 5); t3 = i32x4.shuffle(h6, h7, 2, 6, 3, 7);
  v128.store(out, i32x4.shuffle(t0, t2, 0, 1, 4, 5), 16);
  v128.store(out, i32x4.shuffle(t0, t2, 2, 3, 6, 7), 48);
  v128.store(out, i32x4.shuffle(t1, t3, 0, 1, 4, 5), 80);
  v128.store(out, i32x4.shuffle(t1, t3, 2, 3, 6, 7), 112);
}

// ---- subtrees ---------------------------------------------------------------------------------

/** CV of one whole chunk at `input` (scalar), to `out`. */
function hashChunk(input: usize, key: usize, counter: u64, flags: u32, out: usize): void {
  memory.copy(out, key, 32);
  for (let b: usize = 0; b < 16; b++) {
    let f = flags;
    if (b == 0) f |= CHUNK_START;
    if (b == 15) f |= CHUNK_END;
    compress(out, input + (b << 6), 64, counter, f, out, false);
  }
}

/**
 * Hash a complete subtree of `chunks` whole chunks (a power of two, 2..SUBTREE_CHUNKS) starting at
 * chunk index `counter`; leaves its left and right half CVs at SUB_CVS and SUB_CVS + 32.
 */
function hashSubtreeHalves(input: usize, chunks: usize, key: usize, counter: u64, flags: u32): void {
  // Leaves, 4 chunks at a time.
  if (chunks >= 4) {
    for (let i: usize = 0; i < chunks; i += 4) {
      const p = input + (i << 10);
      hash4(p, p + 1024, p + 2048, p + 3072, 16, key, counter + <u64>i, true, flags, CHUNK_START, CHUNK_END, SUB_CVS + (i << 5));
    }
  } else {
    hash4(input, input + 1024, input, input + 1024, 16, key, counter, true, flags, CHUNK_START, CHUNK_END, SCRATCH4);
    memory.copy(SUB_CVS, SCRATCH4, 64);
    return;
  }
  // Parent levels, 4 parents at a time, in place, down to 2 CVs.
  const pf = flags | PARENT;
  let n = chunks;
  while (n > 2) {
    const pairs = n >> 1;
    if (pairs >= 4) {
      for (let j: usize = 0; j < pairs; j += 4) {
        const p = SUB_CVS + (j << 6);
        hash4(p, p + 64, p + 128, p + 192, 1, key, 0, false, pf, 0, 0, SUB_CVS + (j << 5));
      }
    } else { // pairs == 2
      hash4(SUB_CVS, SUB_CVS + 64, SUB_CVS, SUB_CVS + 64, 1, key, 0, false, pf, 0, 0, SCRATCH4);
      memory.copy(SUB_CVS, SCRATCH4, 64);
    }
    n = pairs;
  }
}

// ---- chunk state and CV stack -----------------------------------------------------------------

// @ts-ignore: decorator
@inline function chunkLen(ctx: usize): usize {
  return (<usize>load<u32>(ctx, C_BLOCKS) << 6) + <usize>load<u32>(ctx, C_BUFLEN);
}

// @ts-ignore: decorator
@inline function startFlag(ctx: usize): u32 {
  return load<u32>(ctx, C_BLOCKS) == 0 ? CHUNK_START : 0;
}

/** Add `len` bytes (not overflowing the chunk) to the current chunk; keeps the last block buffered. */
function chunkUpdate(ctx: usize, input: usize, len: usize): void {
  const counter = load<u64>(ctx, C_COUNTER);
  const flags = load<u32>(ctx, C_FLAGS);
  let bufLen = <usize>load<u32>(ctx, C_BUFLEN);
  let blocks = load<u32>(ctx, C_BLOCKS);
  if (bufLen > 0) {
    const take = min(BLOCK_LEN - bufLen, len);
    memory.copy(ctx + C_BUF + bufLen, input, take);
    bufLen += take; input += take; len -= take;
    if (len > 0) {
      compress(ctx + C_CV, ctx + C_BUF, 64, counter, flags | (blocks == 0 ? CHUNK_START : 0), ctx + C_CV, false);
      blocks++;
      bufLen = 0;
    }
  }
  while (len > BLOCK_LEN) {
    compress(ctx + C_CV, input, 64, counter, flags | (blocks == 0 ? CHUNK_START : 0), ctx + C_CV, false);
    blocks++;
    input += 64; len -= 64;
  }
  if (len > 0) {
    memory.copy(ctx + C_BUF + bufLen, input, len);
    bufLen += len;
  }
  store<u32>(ctx, <u32>bufLen, C_BUFLEN);
  store<u32>(ctx, blocks, C_BLOCKS);
}

/** Start chunk number `counter`. */
// @ts-ignore: decorator
@inline function chunkReset(ctx: usize, counter: u64): void {
  memory.copy(ctx + C_CV, ctx + C_KEY, 32);
  store<u64>(ctx, counter, C_COUNTER);
  store<u32>(ctx, 0, C_BUFLEN);
  store<u32>(ctx, 0, C_BLOCKS);
}

/** Zero the unused tail of the chunk buffer (the last block is zero-padded). */
// @ts-ignore: decorator
@inline function padBuf(ctx: usize): void {
  const bufLen = <usize>load<u32>(ctx, C_BUFLEN);
  memory.fill(ctx + C_BUF + bufLen, 0, BLOCK_LEN - bufLen);
}

/** Merge the CV stack down to popcount(totalChunks) entries. */
function mergeCvStack(ctx: usize, totalChunks: u64): void {
  const keep = <usize>popcnt<u64>(totalChunks);
  let len = <usize>load<u32>(ctx, C_STACKLEN);
  if (len <= keep) return;
  const pf = load<u32>(ctx, C_FLAGS) | PARENT;
  const key = ctx + C_KEY;
  while (len > keep) {
    // The top two entries are contiguous: they form the parent block; the result replaces the left.
    const left = ctx + C_STACK + ((len - 2) << 5);
    compress(key, left, 64, 0, pf, left, false);
    len--;
  }
  store<u32>(ctx, <u32>len, C_STACKLEN);
}

function pushCv(ctx: usize, cv: usize, counter: u64): void {
  mergeCvStack(ctx, counter);
  const len = <usize>load<u32>(ctx, C_STACKLEN);
  memory.copy(ctx + C_STACK + (len << 5), cv, 32);
  store<u32>(ctx, <u32>(len + 1), C_STACKLEN);
}

// ---- exports ----------------------------------------------------------------------------------

export function blake3_ctx_size(): u32 {
  return <u32>CTX_SIZE;
}

function initWith(ctx: usize, key: usize, flags: u32): void {
  memory.copy(ctx + C_KEY, key, 32);
  store<u32>(ctx, flags, C_FLAGS);
  store<u32>(ctx, 0, C_STACKLEN);
  chunkReset(ctx, 0);
}

function initIv(ctx: usize, flags: u32): void {
  store<u32>(ctx, IV0, C_KEY + 0); store<u32>(ctx, IV1, C_KEY + 4);
  store<u32>(ctx, IV2, C_KEY + 8); store<u32>(ctx, IV3, C_KEY + 12);
  store<u32>(ctx, IV4, C_KEY + 16); store<u32>(ctx, IV5, C_KEY + 20);
  store<u32>(ctx, IV6, C_KEY + 24); store<u32>(ctx, IV7, C_KEY + 28);
  store<u32>(ctx, flags, C_FLAGS);
  store<u32>(ctx, 0, C_STACKLEN);
  chunkReset(ctx, 0);
}

export function blake3_init(ctx: usize): void {
  initIv(ctx, 0);
}

export function blake3_init_keyed(ctx: usize, key: usize): void {
  initWith(ctx, key, KEYED_HASH);
}

export function blake3_init_derive_key(ctx: usize, context: usize, contextLen: usize): void {
  initIv(ctx, DERIVE_KEY_CONTEXT);
  blake3_update(ctx, context, contextLen);
  blake3_finalize_seek(ctx, 0, DKEY, 32);
  initWith(ctx, DKEY, DERIVE_KEY_MATERIAL);
}

export function blake3_update(ctx: usize, ptr: usize, len: usize): void {
  const key = ctx + C_KEY;
  const flags = load<u32>(ctx, C_FLAGS);
  let counter = load<u64>(ctx, C_COUNTER);
  // Finish a partial chunk first; finalize it only if more input follows.
  const have = chunkLen(ctx);
  if (have > 0) {
    const take = min(CHUNK_LEN - have, len);
    chunkUpdate(ctx, ptr, take);
    ptr += take; len -= take;
    if (len == 0) return;
    padBuf(ctx);
    compress(ctx + C_CV, ctx + C_BUF, load<u32>(ctx, C_BUFLEN), counter, flags | startFlag(ctx) | CHUNK_END, TMP_CV, false);
    pushCv(ctx, TMP_CV, counter);
    counter++;
    chunkReset(ctx, counter);
  }
  // Whole aligned power-of-two subtrees, keeping at least one byte for the chunk state.
  while (len > CHUNK_LEN) {
    let sub: usize = (<usize>1) << (31 - clz<u32>(<u32>len)); // largest power of two <= len
    if (sub > SUBTREE_CHUNKS * CHUNK_LEN) sub = SUBTREE_CHUNKS * CHUNK_LEN;
    const soFar = counter << 10;
    while (((<u64>sub - 1) & soFar) != 0) sub >>= 1;
    const chunks = sub >> 10;
    if (chunks == 1) {
      hashChunk(ptr, key, counter, flags, TMP_CV);
      pushCv(ctx, TMP_CV, counter);
    } else {
      hashSubtreeHalves(ptr, chunks, key, counter, flags);
      pushCv(ctx, SUB_CVS, counter);
      pushCv(ctx, SUB_CVS + 32, counter + <u64>(chunks >> 1));
    }
    counter += <u64>chunks;
    ptr += sub; len -= sub;
  }
  store<u64>(ctx, counter, C_COUNTER);
  if (len > 0) {
    chunkUpdate(ctx, ptr, len);
    // What is on the stack can no longer be the root: merge it now (simplifies finalize).
    mergeCvStack(ctx, counter);
  }
}

/** Build the root node's compression input (ROOT_CV, ROOT_BLOCK, rootLen, rootFlags) from ctx. */
function rootOutput(ctx: usize): void {
  const flags = load<u32>(ctx, C_FLAGS);
  let n = <usize>load<u32>(ctx, C_STACKLEN);
  if (chunkLen(ctx) > 0 || n == 0) {
    padBuf(ctx);
    memory.copy(ROOT_CV, ctx + C_CV, 32);
    memory.copy(ROOT_BLOCK, ctx + C_BUF, 64);
    rootLen = load<u32>(ctx, C_BUFLEN);
    rootCounter = load<u64>(ctx, C_COUNTER);
    rootFlags = flags | startFlag(ctx) | CHUNK_END;
  } else {
    memory.copy(ROOT_CV, ctx + C_KEY, 32);
    memory.copy(ROOT_BLOCK, ctx + C_STACK + ((n - 2) << 5), 64);
    rootLen = 64;
    rootCounter = 0;
    rootFlags = flags | PARENT;
    n -= 2;
  }
  while (n > 0) {
    compress(ROOT_CV, ROOT_BLOCK, rootLen, rootCounter, rootFlags, TMP_CV, false);
    memory.copy(ROOT_BLOCK, ctx + C_STACK + ((n - 1) << 5), 32);
    memory.copy(ROOT_BLOCK + 32, TMP_CV, 32);
    memory.copy(ROOT_CV, ctx + C_KEY, 32);
    rootLen = 64;
    rootCounter = 0;
    rootFlags = flags | PARENT;
    n--;
  }
}

export function blake3_finalize_seek(ctx: usize, seek: u64, out: usize, outLen: usize): void {
  rootOutput(ctx);
  const f = rootFlags | ROOT;
  let blockIndex = seek >>> 6;
  let skip = <usize>(seek & 63);
  while (outLen > 0) {
    if (skip == 0 && outLen >= 64) {
      compress(ROOT_CV, ROOT_BLOCK, rootLen, blockIndex, f, out, true);
      out += 64; outLen -= 64;
    } else {
      compress(ROOT_CV, ROOT_BLOCK, rootLen, blockIndex, f, OUT_BLOCK, true);
      const take = min<usize>(64 - skip, outLen);
      memory.copy(out, OUT_BLOCK + skip, take);
      out += take; outLen -= take;
      skip = 0;
    }
    blockIndex++;
  }
}

export function blake3_finalize(ctx: usize, out: usize, outLen: usize): void {
  blake3_finalize_seek(ctx, 0, out, outLen);
}
