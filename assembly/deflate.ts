// Deflate (RFC 1951), deterministic: the same bytes in give the same bytes out on every runtime,
// which node:zlib cannot promise (Node's Chromium zlib, Deno's and a browser's CompressionStream
// all encode differently). src/ref/deflate.ts is the readable reference with the same output.
//
// Unit of work: one CHUNK of input with up to 32 KiB of the input before it as a dictionary
// (pigz's scheme). Matches may reach into the dictionary, so ratios stay close to a single stream,
// while chunks can be compressed in any order or in parallel and concatenated: every chunk but
// the last ends with a sync flush (an empty stored block), the last with a final block. Because
// the chunk size is fixed by the caller's format, not by the thread count, the output does not
// depend on how many workers ran.
//
// Matching is zlib's deflate_slow (lazy evaluation) for levels 4-9 and greedy matching for 1-3,
// with zlib's parameter table (good/lazy/nice/chain); level 0 stores. Hash: 3 bytes, 15 bits.
// Blocks end every BLOCK_SYMS symbols (zlib's lit_bufsize at memLevel 8) or at the chunk end; each
// block is written stored, fixed or dynamic, whichever is smallest (ties: stored < fixed < dynamic).
// Huffman code lengths are limited by halving frequencies until the tree fits (deterministic,
// slightly less optimal than zlib's overflow repair on pathological inputs).

const WSIZE: i32 = 32768;
const MIN_MATCH: i32 = 3;
const MAX_MATCH: i32 = 258;
const HASH_BITS: i32 = 15;
const HASH_SIZE: i32 = 1 << HASH_BITS;
const BLOCK_SYMS: i32 = 16384;
const TOO_FAR: i32 = 4096;
const L_CODES: i32 = 286;
const D_CODES: i32 = 30;
const BL_CODES: i32 = 19;
const MAX_BITS: i32 = 15;
const MAX_BL_BITS: i32 = 7;
const END_BLOCK: i32 = 256;

// zlib's configuration_table: good_length, max_lazy, nice_length, max_chain for levels 0..9
// @ts-ignore: decorator
@lazy const CONFIG: StaticArray<i32> = [
  0, 0, 0, 0,
  4, 4, 8, 4,
  4, 5, 16, 8,
  4, 6, 32, 32,
  4, 4, 16, 16,
  8, 16, 32, 32,
  8, 16, 128, 128,
  8, 32, 128, 256,
  32, 128, 258, 1024,
  32, 258, 258, 4096,
];

// length codes 257..285: base lengths and extra bits
// @ts-ignore: decorator
@lazy const LEN_BASE: StaticArray<i32> = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
// @ts-ignore: decorator
@lazy const LEN_EXTRA: StaticArray<i32> = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
// @ts-ignore: decorator
@lazy const DIST_BASE: StaticArray<i32> = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
// @ts-ignore: decorator
@lazy const DIST_EXTRA: StaticArray<i32> = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
// order of code length code lengths in the header
// @ts-ignore: decorator
@lazy const BL_ORDER: StaticArray<i32> = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

// ---- scratch (per instance; a worker has its own instance) ----
let winCap: i32 = 0;
let headPtr: usize = 0; // i32[HASH_SIZE]: latest position with each hash, -1 none
let prevPtr: usize = 0; // i32[winCap]: previous position with the same hash
let symPtr: usize = 0; // u32[BLOCK_SYMS]: literal b (b < 256) or 0x80000000 | (len-3) << 16 | (dist-1)
let lenCodePtr: usize = 0; // u8[256]: length-3 -> length code index 0..28
let distCodePtr: usize = 0; // u8[512]: dist-1 -> code (see distCode)
let lfreqPtr: usize = 0; // i32[L_CODES]
let dfreqPtr: usize = 0; // i32[D_CODES]
let blfreqPtr: usize = 0; // i32[BL_CODES]
let llenPtr: usize = 0; // u8[L_CODES]
let dlenPtr: usize = 0; // u8[D_CODES]
let bllenPtr: usize = 0; // u8[BL_CODES]
let lcodePtr: usize = 0; // u16[L_CODES] (bit-reversed)
let dcodePtr: usize = 0; // u16[D_CODES]
let blcodePtr: usize = 0; // u16[BL_CODES]
let rlePtr: usize = 0; // u16[L_CODES + D_CODES]: code-length RLE symbols (sym | extra << 8)
let treePtr: usize = 0; // scratch for tree building
let fixedReady = false;
let flenPtr: usize = 0; // u8[288] fixed literal lengths
let fdlenPtr: usize = 0; // u8[30]
let fcodePtr: usize = 0; // u16[288]
let fdcodePtr: usize = 0; // u16[30]

// ---- bit writer ----
let out: usize = 0;
let outPos: usize = 0;
let bitBuf: u64 = 0;
let bitCnt: i32 = 0;

// @ts-ignore: decorator
@inline function putBits(value: u32, n: i32): void {
  bitBuf |= (<u64>value) << (<u64>bitCnt);
  bitCnt += n;
  if (bitCnt >= 32) {
    store<u32>(out + outPos, <u32>bitBuf);
    outPos += 4;
    bitBuf >>= 32;
    bitCnt -= 32;
  }
}

function alignToByte(): void {
  while (bitCnt > 0) {
    store<u8>(out + outPos, <u8>bitBuf);
    outPos++;
    bitBuf >>= 8;
    bitCnt = bitCnt > 8 ? bitCnt - 8 : 0;
  }
  bitBuf = 0;
}

function setup(total: i32): void {
  if (headPtr == 0) {
    headPtr = heap.alloc(<usize>HASH_SIZE << 2);
    symPtr = heap.alloc(<usize>BLOCK_SYMS << 2);
    lenCodePtr = heap.alloc(256);
    distCodePtr = heap.alloc(512);
    lfreqPtr = heap.alloc(<usize>L_CODES << 2);
    dfreqPtr = heap.alloc(<usize>D_CODES << 2);
    blfreqPtr = heap.alloc(<usize>BL_CODES << 2);
    llenPtr = heap.alloc(288);
    dlenPtr = heap.alloc(32);
    bllenPtr = heap.alloc(32);
    lcodePtr = heap.alloc(288 * 2);
    dcodePtr = heap.alloc(32 * 2);
    blcodePtr = heap.alloc(32 * 2);
    rlePtr = heap.alloc((L_CODES + D_CODES) * 2);
    treePtr = heap.alloc(4 * 1024 * 4);
    flenPtr = heap.alloc(288);
    fdlenPtr = heap.alloc(32);
    fcodePtr = heap.alloc(288 * 2);
    fdcodePtr = heap.alloc(32 * 2);
    for (let i = 0; i < 29; i++) {
      const base = unchecked(LEN_BASE[i]);
      const n = 1 << unchecked(LEN_EXTRA[i]);
      for (let j = 0; j < n && base - 3 + j < 256; j++) store<u8>(lenCodePtr + <usize>(base - 3 + j), <u8>i);
    }
    store<u8>(lenCodePtr + 255, 28); // length 258 is its own code (285)
    for (let i = 0; i < 30; i++) {
      const base = unchecked(DIST_BASE[i]);
      const n = 1 << unchecked(DIST_EXTRA[i]);
      for (let j = 0; j < n; j++) {
        const d = base - 1 + j; // 0..32767
        if (d < 256) store<u8>(distCodePtr + <usize>d, <u8>i);
        else if ((d >> 7) < 256) store<u8>(distCodePtr + 256 + <usize>(d >> 7), <u8>i);
      }
    }
    // fixed codes
    for (let i = 0; i < 288; i++) store<u8>(flenPtr + <usize>i, <u8>(i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8));
    for (let i = 0; i < 30; i++) store<u8>(fdlenPtr + <usize>i, 5);
    makeCodes(flenPtr, fcodePtr, 288);
    makeCodes(fdlenPtr, fdcodePtr, 30);
  }
  if (total > winCap) {
    if (prevPtr != 0) heap.free(prevPtr);
    prevPtr = heap.alloc(<usize>total << 2);
    winCap = total;
  }
}

// @ts-ignore: decorator
@inline function distCode(d0: i32): i32 {
  // d0 = dist - 1
  return d0 < 256 ? <i32>load<u8>(distCodePtr + <usize>d0) : <i32>load<u8>(distCodePtr + 256 + <usize>(d0 >> 7));
}

// @ts-ignore: decorator
@inline function hashAt(p: usize): i32 {
  const v: u32 = (<u32>load<u8>(p)) | ((<u32>load<u8>(p + 1)) << 8) | ((<u32>load<u8>(p + 2)) << 16);
  return <i32>((v * 0x9E3779B1) >> (32 - HASH_BITS));
}

/** hashAt(p) with one load; p + 4 bytes must be readable. */
// @ts-ignore: decorator
@inline function hashAt4(p: usize): i32 {
  return <i32>(((load<u32>(p) & 0xffffff) * 0x9E3779B1) >> (32 - HASH_BITS));
}

/** Length of the common prefix of a and b, at most max. */
// @ts-ignore: decorator
@inline function matchLen(a: usize, b: usize, max: i32): i32 {
  let n: i32 = 0;
  while (n + 8 <= max) {
    const x = load<u64>(a + <usize>n) ^ load<u64>(b + <usize>n);
    if (x != 0) return n + <i32>(ctz(x) >> 3);
    n += 8;
  }
  while (n < max && load<u8>(a + <usize>n) == load<u8>(b + <usize>n)) n++;
  return n;
}

let matchDist: i32 = 0;

/** Longest match for `cur` among the chain from `cand`, longer than `best`; sets matchDist. */
function longest(win: usize, cur: i32, cand: i32, best: i32, chain: i32, max: i32, nice: i32): i32 {
  const limit = cur - WSIZE;
  const curp = win + <usize>cur;
  let bestLen = best;
  matchDist = 0;
  if (bestLen >= max) return bestLen;
  if (nice > max) nice = max;
  // A candidate can only beat bestLen if it agrees on the two bytes ending at bestLen and on the
  // first two (bestLen >= 2 here): zlib's scan_end test. Filters only, so the result is the same.
  const start2 = load<u16>(curp);
  let end2 = load<u16>(curp + <usize>(bestLen - 1));
  while (cand >= 0 && cand >= limit && chain > 0) {
    const cp = win + <usize>cand;
    if (load<u16>(cp + <usize>(bestLen - 1)) == end2 && load<u16>(cp) == start2) {
      const len = matchLen(cp, curp, max);
      if (len > bestLen) {
        bestLen = len;
        matchDist = cur - cand;
        if (len >= nice) break;
        end2 = load<u16>(curp + <usize>(bestLen - 1));
      }
    }
    cand = load<i32>(prevPtr + (<usize>cand << 2));
    chain--;
  }
  return bestLen;
}

// ---- Huffman ----

/** Canonical codes (bit-reversed for LSB-first output) from lengths. */
function makeCodes(lens: usize, codes: usize, n: i32): void {
  const blCount = treePtr; // i32[16] reused
  const next = treePtr + 64;
  for (let i = 0; i < 16; i++) store<i32>(blCount + (<usize>i << 2), 0);
  for (let i = 0; i < n; i++) {
    const l = <i32>load<u8>(lens + <usize>i);
    if (l > 0) store<i32>(blCount + (<usize>l << 2), load<i32>(blCount + (<usize>l << 2)) + 1);
  }
  let code = 0;
  for (let b = 1; b <= 15; b++) {
    code = (code + load<i32>(blCount + (<usize>(b - 1) << 2))) << 1;
    store<i32>(next + (<usize>b << 2), code);
  }
  for (let i = 0; i < n; i++) {
    const l = <i32>load<u8>(lens + <usize>i);
    if (l == 0) { store<u16>(codes + (<usize>i << 1), 0); continue; }
    const c = load<i32>(next + (<usize>l << 2));
    store<i32>(next + (<usize>l << 2), c + 1);
    // reverse l bits
    let r = 0;
    for (let k = 0; k < l; k++) r |= ((c >> k) & 1) << (l - 1 - k);
    store<u16>(codes + (<usize>i << 1), <u16>r);
  }
}

/**
 * Huffman code lengths for n symbols with frequencies freq (i32), limited to maxBits, into lens
 * (u8). At least two symbols get a code when any does (zlib's rule, which also keeps one-symbol
 * distance trees decodable by every inflater). Deterministic: ties broken by symbol number.
 */
function buildLengths(freq: usize, lens: usize, n: i32, maxBits: i32): void {
  // tree scratch layout (i32 each): weights[0..2n), parent[0..2n), leafSym[0..n), order[n]
  const w = treePtr + 256;
  const parent = w + (<usize>(2 * n) << 2);
  const sym = parent + (<usize>(2 * n) << 2);
  for (let i = 0; i < n; i++) store<u8>(lens + <usize>i, 0);
  let count = 0;
  for (let i = 0; i < n; i++) if (load<i32>(freq + (<usize>i << 2)) > 0) count++;
  if (count == 0) {
    // an unused tree (no matches: the distance tree) still gets two 1-bit codes, as zlib writes
    store<u8>(lens, 1);
    store<u8>(lens + 1, 1);
    return;
  }
  if (count == 1) {
    // one used symbol: give it and a neighbour length 1
    let s = 0;
    while (load<i32>(freq + (<usize>s << 2)) == 0) s++;
    store<u8>(lens + <usize>s, 1);
    store<u8>(lens + <usize>(s == 0 ? 1 : s == n - 1 ? s - 1 : s + 1), 1);
    return;
  }
  let shift = 0;
  for (;;) {
    // leaves sorted by (scaled freq, symbol): insertion sort over at most 286 symbols
    let m = 0;
    for (let i = 0; i < n; i++) {
      let f = load<i32>(freq + (<usize>i << 2));
      if (f == 0) continue;
      if (shift > 0) { f = f >> shift; if (f == 0) f = 1; }
      let j = m;
      while (j > 0) {
        const pj = load<i32>(sym + (<usize>(j - 1) << 2));
        if (load<i32>(w + (<usize>pj << 2)) <= f) break;
        store<i32>(sym + (<usize>j << 2), pj);
        j--;
      }
      store<i32>(sym + (<usize>j << 2), i);
      store<i32>(w + (<usize>i << 2), f);
      m++;
    }
    // two-queue merge: leaves (sorted) and internal nodes (created in ascending weight order).
    // node ids: leaves are symbol numbers (0..n), internal nodes n..n+m-1
    let li = 0;
    let ii = n;
    let inext = n;
    for (let k = 0; k < m - 1; k++) {
      let a: i32, b: i32;
      // pick the smaller of the two queue heads, twice (leaves first on ties)
      if (li < m && (ii >= inext || load<i32>(w + (<usize>load<i32>(sym + (<usize>li << 2)) << 2)) <= load<i32>(w + (<usize>ii << 2)))) { a = load<i32>(sym + (<usize>li << 2)); li++; } else { a = ii; ii++; }
      if (li < m && (ii >= inext || load<i32>(w + (<usize>load<i32>(sym + (<usize>li << 2)) << 2)) <= load<i32>(w + (<usize>ii << 2)))) { b = load<i32>(sym + (<usize>li << 2)); li++; } else { b = ii; ii++; }
      store<i32>(w + (<usize>inext << 2), load<i32>(w + (<usize>a << 2)) + load<i32>(w + (<usize>b << 2)));
      store<i32>(parent + (<usize>a << 2), inext);
      store<i32>(parent + (<usize>b << 2), inext);
      inext++;
    }
    // depths: root is inext-1; internal nodes were created in order, so walk them backwards
    const root = inext - 1;
    store<i32>(parent + (<usize>root << 2), -1);
    // reuse w for depth of internal nodes
    store<i32>(w + (<usize>root << 2), 0);
    for (let k = root - 1; k >= n; k--) store<i32>(w + (<usize>k << 2), load<i32>(w + (<usize>load<i32>(parent + (<usize>k << 2)) << 2)) + 1);
    let maxLen = 0;
    for (let k = 0; k < m; k++) {
      const s = load<i32>(sym + (<usize>k << 2));
      const d = load<i32>(w + (<usize>load<i32>(parent + (<usize>s << 2)) << 2)) + 1;
      store<u8>(lens + <usize>s, <u8>(d > 255 ? 255 : d));
      if (d > maxLen) maxLen = d;
    }
    if (maxLen <= maxBits) return;
    shift++;
  }
}

/** Run-length encode the code lengths of both trees (symbols 16, 17, 18); returns the count. */
function rleLengths(hlit: i32, hdist: i32): i32 {
  let n = 0;
  const total = hlit + hdist;
  let i = 0;
  while (i < total) {
    const l = i < hlit ? <i32>load<u8>(llenPtr + <usize>i) : <i32>load<u8>(dlenPtr + <usize>(i - hlit));
    let run = 1;
    while (i + run < total) {
      const j = i + run;
      const lj = j < hlit ? <i32>load<u8>(llenPtr + <usize>j) : <i32>load<u8>(dlenPtr + <usize>(j - hlit));
      if (lj != l) break;
      run++;
    }
    let left = run;
    if (l == 0) {
      while (left >= 11) { const r = left > 138 ? 138 : left; store<u16>(rlePtr + (<usize>(n++) << 1), <u16>(18 | ((r - 11) << 8))); left -= r; }
      if (left >= 3) { store<u16>(rlePtr + (<usize>(n++) << 1), <u16>(17 | ((left - 3) << 8))); left = 0; }
      while (left > 0) { store<u16>(rlePtr + (<usize>(n++) << 1), 0); left--; }
    } else {
      store<u16>(rlePtr + (<usize>(n++) << 1), <u16>l);
      left--;
      while (left >= 3) { const r = left > 6 ? 6 : left; store<u16>(rlePtr + (<usize>(n++) << 1), <u16>(16 | ((r - 3) << 8))); left -= r; }
      while (left > 0) { store<u16>(rlePtr + (<usize>(n++) << 1), <u16>l); left--; }
    }
    i += run;
  }
  return n;
}

/** Bits the block's symbols take with the given tables (without the block header). */
function symbolBits(nsyms: i32, ll: usize, dl: usize): u64 {
  let bits: u64 = 0;
  for (let i = 0; i < L_CODES; i++) {
    const f = load<i32>(lfreqPtr + (<usize>i << 2));
    if (f == 0) continue;
    let b = <u64>load<u8>(ll + <usize>i);
    if (i >= 257) b += <u64>unchecked(LEN_EXTRA[i - 257]);
    bits += <u64>f * b;
  }
  for (let i = 0; i < D_CODES; i++) {
    const f = load<i32>(dfreqPtr + (<usize>i << 2));
    if (f == 0) continue;
    bits += <u64>f * (<u64>load<u8>(dl + <usize>i) + <u64>unchecked(DIST_EXTRA[i]));
  }
  return bits;
}

function writeSymbols(nsyms: i32, ll: usize, lc: usize, dl: usize, dc: usize): void {
  for (let k = 0; k < nsyms; k++) {
    const s = load<u32>(symPtr + (<usize>k << 2));
    if ((s & 0x80000000) == 0) {
      putBits(<u32>load<u16>(lc + (<usize>s << 1)), <i32>load<u8>(ll + <usize>s));
    } else {
      const len0 = <i32>((s >> 16) & 0xff); // len - 3
      const d0 = <i32>(s & 0xffff); // dist - 1
      const lcode = <i32>load<u8>(lenCodePtr + <usize>len0);
      const sym = 257 + lcode;
      putBits(<u32>load<u16>(lc + (<usize>sym << 1)), <i32>load<u8>(ll + <usize>sym));
      const le = unchecked(LEN_EXTRA[lcode]);
      if (le > 0) putBits(<u32>(len0 + 3 - unchecked(LEN_BASE[lcode])), le);
      const dcode = distCode(d0);
      putBits(<u32>load<u16>(dc + (<usize>dcode << 1)), <i32>load<u8>(dl + <usize>dcode));
      const de = unchecked(DIST_EXTRA[dcode]);
      if (de > 0) putBits(<u32>(d0 + 1 - unchecked(DIST_BASE[dcode])), de);
    }
  }
  putBits(<u32>load<u16>(lc + (<usize>END_BLOCK << 1)), <i32>load<u8>(ll + <usize>END_BLOCK));
}

function writeStored(win: usize, start: i32, end: i32, last: bool): void {
  let p = start;
  do {
    const n = end - p > 65535 ? 65535 : end - p;
    const fin = last && p + n == end;
    putBits(fin ? 1 : 0, 3);
    alignToByte();
    store<u16>(out + outPos, <u16>n);
    store<u16>(out + outPos + 2, <u16>~n);
    outPos += 4;
    memory.copy(out + outPos, win + <usize>p, <usize>n);
    outPos += <usize>n;
    p += n;
  } while (p < end);
}

/** Write the pending symbols (covering input [start, end)) as one block. */
function flushBlock(win: usize, nsyms: i32, start: i32, end: i32, last: bool): void {
  for (let i = 0; i < L_CODES; i++) store<i32>(lfreqPtr + (<usize>i << 2), 0);
  for (let i = 0; i < D_CODES; i++) store<i32>(dfreqPtr + (<usize>i << 2), 0);
  for (let k = 0; k < nsyms; k++) {
    const s = load<u32>(symPtr + (<usize>k << 2));
    if ((s & 0x80000000) == 0) {
      const a = lfreqPtr + (<usize>s << 2);
      store<i32>(a, load<i32>(a) + 1);
    } else {
      const a = lfreqPtr + (<usize>(257 + <i32>load<u8>(lenCodePtr + <usize>((s >> 16) & 0xff))) << 2);
      store<i32>(a, load<i32>(a) + 1);
      const d = dfreqPtr + (<usize>distCode(<i32>(s & 0xffff)) << 2);
      store<i32>(d, load<i32>(d) + 1);
    }
  }
  store<i32>(lfreqPtr + (<usize>END_BLOCK << 2), 1);
  buildLengths(lfreqPtr, llenPtr, L_CODES, MAX_BITS);
  buildLengths(dfreqPtr, dlenPtr, D_CODES, MAX_BITS);
  let hlit = L_CODES;
  while (hlit > 257 && load<u8>(llenPtr + <usize>(hlit - 1)) == 0) hlit--;
  let hdist = D_CODES;
  while (hdist > 1 && load<u8>(dlenPtr + <usize>(hdist - 1)) == 0) hdist--;
  const nrle = rleLengths(hlit, hdist);
  for (let i = 0; i < BL_CODES; i++) store<i32>(blfreqPtr + (<usize>i << 2), 0);
  for (let k = 0; k < nrle; k++) {
    const a = blfreqPtr + (<usize>(load<u16>(rlePtr + (<usize>k << 1)) & 0xff) << 2);
    store<i32>(a, load<i32>(a) + 1);
  }
  buildLengths(blfreqPtr, bllenPtr, BL_CODES, MAX_BL_BITS);
  let hclen = BL_CODES;
  while (hclen > 4 && load<u8>(bllenPtr + <usize>unchecked(BL_ORDER[hclen - 1])) == 0) hclen--;

  // sizes in bits
  let dynBits: u64 = 3 + 5 + 5 + 4 + <u64>(3 * hclen);
  for (let k = 0; k < nrle; k++) {
    const v = <i32>load<u16>(rlePtr + (<usize>k << 1));
    const s = v & 0xff;
    dynBits += <u64>load<u8>(bllenPtr + <usize>s) + (s == 16 ? 2 : s == 17 ? 3 : s == 18 ? 7 : 0);
  }
  dynBits += symbolBits(nsyms, llenPtr, dlenPtr);
  const fixBits: u64 = 3 + symbolBits(nsyms, flenPtr, fdlenPtr);
  const len = end - start;
  // stored: header bits, then byte alignment (at most 7 bits), LEN/NLEN and the bytes, per 64 KiB
  const pieces = len == 0 ? 1 : (len + 65534) / 65535;
  const storedBits: u64 = <u64>pieces * (3 + 7 + 32) + (<u64>len << 3);

  if (storedBits <= fixBits && storedBits <= dynBits) {
    writeStored(win, start, end, last);
    return;
  }
  if (fixBits <= dynBits) {
    putBits(last ? 3 : 2, 3); // BFINAL, BTYPE=01
    writeSymbols(nsyms, flenPtr, fcodePtr, fdlenPtr, fdcodePtr);
    return;
  }
  makeCodes(llenPtr, lcodePtr, hlit);
  makeCodes(dlenPtr, dcodePtr, hdist);
  makeCodes(bllenPtr, blcodePtr, BL_CODES);
  putBits(last ? 5 : 4, 3); // BFINAL, BTYPE=10
  putBits(<u32>(hlit - 257), 5);
  putBits(<u32>(hdist - 1), 5);
  putBits(<u32>(hclen - 4), 4);
  for (let i = 0; i < hclen; i++) putBits(<u32>load<u8>(bllenPtr + <usize>unchecked(BL_ORDER[i])), 3);
  for (let k = 0; k < nrle; k++) {
    const v = <i32>load<u16>(rlePtr + (<usize>k << 1));
    const s = v & 0xff;
    putBits(<u32>load<u16>(blcodePtr + (<usize>s << 1)), <i32>load<u8>(bllenPtr + <usize>s));
    if (s == 16) putBits(<u32>(v >> 8), 2);
    else if (s == 17) putBits(<u32>(v >> 8), 3);
    else if (s == 18) putBits(<u32>(v >> 8), 7);
  }
  writeSymbols(nsyms, llenPtr, lcodePtr, dlenPtr, dcodePtr);
}

/** Worst-case output size for `len` input bytes in one chunk (stored blocks plus the flush). */
export function deflate_bound(len: i32): i32 {
  return len + 5 * (len / 65535 + 1) + 16 + (len >> 4);
}

/**
 * Compress win[dictLen..total) using win[0..dictLen) (at most 32 KiB) as history, into `outPtr`
 * (at least deflate_bound(total - dictLen) bytes). `last`: end with a final block, else with a
 * sync flush (empty stored block), so the outputs of consecutive chunks concatenate into one
 * raw deflate stream. Returns the bytes written, or -1 for bad arguments.
 */
export function deflate_chunk(win: usize, dictLen: i32, total: i32, level: i32, last: bool, outPtr: usize): i32 {
  if (dictLen < 0 || dictLen > WSIZE || total < dictLen || level < 0 || level > 9) return -1;
  setup(total);
  out = outPtr;
  outPos = 0;
  bitBuf = 0;
  bitCnt = 0;
  const start = dictLen;
  if (level == 0) {
    writeStored(win, start, total, last);
    if (!last) { putBits(0, 3); alignToByte(); store<u32>(out + outPos, 0xffff0000); outPos += 4; }
    alignToByte();
    return <i32>outPos;
  }
  const good = unchecked(CONFIG[level * 4]);
  const maxLazy = unchecked(CONFIG[level * 4 + 1]);
  const nice = unchecked(CONFIG[level * 4 + 2]);
  const maxChain = unchecked(CONFIG[level * 4 + 3]);
  const lazy = level >= 4;
  memory.fill(headPtr, 0xff, <usize>HASH_SIZE << 2);
  // history: insert every dictionary position that has 3 bytes
  for (let p = 0; p < dictLen && p + MIN_MATCH <= total; p++) {
    const h = headPtr + (<usize>(p + 4 <= total ? hashAt4(win + <usize>p) : hashAt(win + <usize>p)) << 2);
    store<i32>(prevPtr + (<usize>p << 2), load<i32>(h));
    store<i32>(h, p);
  }
  let nsyms = 0;
  let blockStart = start;
  let cur = start;
  let havePrev = false;
  let prevLen = 0;
  let prevDist = 0;
  while (cur < total) {
    let cand = -1;
    if (cur + MIN_MATCH <= total) {
      const h = headPtr + (<usize>(cur + 4 <= total ? hashAt4(win + <usize>cur) : hashAt(win + <usize>cur)) << 2);
      cand = load<i32>(h);
      store<i32>(prevPtr + (<usize>cur << 2), cand);
      store<i32>(h, cur);
    }
    let len = 0;
    let dist = 0;
    const max = total - cur > MAX_MATCH ? MAX_MATCH : total - cur;
    if (cand >= 0 && cur - cand <= WSIZE && max >= MIN_MATCH && (!lazy || prevLen < maxLazy)) {
      const chain = lazy && prevLen >= good ? maxChain >> 2 : maxChain;
      len = longest(win, cur, cand, lazy && prevLen > MIN_MATCH - 1 ? prevLen : MIN_MATCH - 1, chain, max, nice);
      dist = matchDist;
      if (len < MIN_MATCH || (len == MIN_MATCH && dist > TOO_FAR)) { len = 0; dist = 0; }
    }
    if (!lazy) {
      if (len >= MIN_MATCH) {
        store<u32>(symPtr + (<usize>(nsyms++) << 2), 0x80000000 | (<u32>(len - 3) << 16) | <u32>(dist - 1));
        const stop = cur + len;
        // zlib's deflate_fast inserts the positions inside short matches only (max_insert_length = max_lazy)
        if (len <= maxLazy) {
          for (let p = cur + 1; p < stop; p++) {
            if (p + MIN_MATCH > total) break;
            const h = headPtr + (<usize>hashAt(win + <usize>p) << 2);
            store<i32>(prevPtr + (<usize>p << 2), load<i32>(h));
            store<i32>(h, p);
          }
        }
        cur = stop;
      } else {
        store<u32>(symPtr + (<usize>(nsyms++) << 2), <u32>load<u8>(win + <usize>cur));
        cur++;
      }
    } else if (havePrev && prevLen >= MIN_MATCH && len <= prevLen) {
      store<u32>(symPtr + (<usize>(nsyms++) << 2), 0x80000000 | (<u32>(prevLen - 3) << 16) | <u32>(prevDist - 1));
      const stop = cur - 1 + prevLen;
      for (let p = cur + 1; p < stop; p++) {
        if (p + MIN_MATCH > total) break;
        const h = headPtr + (<usize>(p + 4 <= total ? hashAt4(win + <usize>p) : hashAt(win + <usize>p)) << 2);
        store<i32>(prevPtr + (<usize>p << 2), load<i32>(h));
        store<i32>(h, p);
      }
      cur = stop;
      havePrev = false;
      prevLen = 0;
    } else {
      if (havePrev) store<u32>(symPtr + (<usize>(nsyms++) << 2), <u32>load<u8>(win + <usize>(cur - 1)));
      havePrev = true;
      prevLen = len;
      prevDist = dist;
      cur++;
    }
    if (nsyms >= BLOCK_SYMS - 1) {
      // the block covers the input up to the pending literal (cur - 1 when one is pending)
      const end = havePrev ? cur - 1 : cur;
      flushBlock(win, nsyms, blockStart, end, false);
      blockStart = end;
      nsyms = 0;
    }
  }
  if (havePrev) {
    if (prevLen >= MIN_MATCH) store<u32>(symPtr + (<usize>(nsyms++) << 2), 0x80000000 | (<u32>(prevLen - 3) << 16) | <u32>(prevDist - 1));
    else store<u32>(symPtr + (<usize>(nsyms++) << 2), <u32>load<u8>(win + <usize>(cur - 1)));
  }
  if (nsyms > 0 || last || blockStart == start) flushBlock(win, nsyms, blockStart, total, last);
  if (!last) {
    // sync flush: an empty stored block, byte-aligned (00 00 FF FF)
    putBits(0, 3);
    alignToByte();
    store<u32>(out + outPos, 0xffff0000);
    outPos += 4;
  }
  alignToByte();
  return <i32>outPos;
}
