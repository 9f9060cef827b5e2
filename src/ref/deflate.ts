/**
 * Deflate (RFC 1951), the readable reference for the WASM kernel in assembly/deflate.ts: the same
 * algorithm with the same parameters and decisions, so the two give the same bytes for every
 * input, history length, level and `last` flag (test/oci/deflate-ref.test.ts holds them together).
 * Typed arrays instead of raw memory; no speed tricks. Change both or neither.
 *
 * The algorithm, in short:
 *
 * - Input: window[0..historyLength) is history (at most 32 KiB), window[historyLength..) the chunk.
 * - Level 0: stored blocks only. Levels 1-3: greedy matching (zlib's deflate_fast); 4-9: lazy
 *   matching (zlib's deflate_slow); zlib's good/lazy/nice/chain table.
 * - Hash of 3 bytes: (b0 | b1 << 8 | b2 << 16) * 0x9E3779B1 mod 2^32, top 15 bits. head[hash] is the
 *   latest position, prev[pos] the one before it with the same hash; every history position with 3
 *   bytes is inserted first. A chain is followed while the candidate is at most 32768 back.
 * - A match of length 3 farther than 4096 back is dropped (TOO_FAR).
 * - A block ends when it holds BLOCK_SYMS - 1 symbols, or at the end of the chunk. It is written
 *   stored, fixed or dynamic, whichever is estimated smallest; ties prefer stored, then fixed.
 *   The stored estimate counts 3 + 7 + 32 bits per 65535-byte piece, the others are exact.
 * - Huffman lengths: a two-queue Huffman build over leaves sorted by (frequency, symbol), leaves
 *   before internal nodes on equal weight; if a code is longer than allowed, all frequencies are
 *   halved (shift by one more, never below 1) and the tree is built again.
 * - A chunk that is not last ends with a sync flush (empty stored block, 00 00 FF FF).
 */

const WSIZE = 32768;
const MIN_MATCH = 3;
const MAX_MATCH = 258;
const HASH_BITS = 15;
const HASH_SIZE = 1 << HASH_BITS;
const BLOCK_SYMS = 16384;
const TOO_FAR = 4096;
const L_CODES = 286;
const D_CODES = 30;
const BL_CODES = 19;
const MAX_BITS = 15;
const MAX_BL_BITS = 7;
const END_BLOCK = 256;

/** zlib's configuration_table: [good_length, max_lazy, nice_length, max_chain] for levels 0..9. */
const CONFIG: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 0, 0],
  [4, 4, 8, 4],
  [4, 5, 16, 8],
  [4, 6, 32, 32],
  [4, 4, 16, 16],
  [8, 16, 32, 32],
  [8, 16, 128, 128],
  [8, 32, 128, 256],
  [32, 128, 258, 1024],
  [32, 258, 258, 4096],
];

const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/** Order of the code length code lengths in a dynamic block header. */
const BL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Length code index (0..28) for a match length 3..258. */
function lengthCode(len: number): number {
  if (len === 258) return 28;
  let i = 27;
  while (LEN_BASE[i]! > len) i--;
  return i;
}

/** Distance code (0..29) for a distance 1..32768. */
function distanceCode(dist: number): number {
  let i = 29;
  while (DIST_BASE[i]! > dist) i--;
  return i;
}

/** What the encoder chose, for tests that want to know their inputs reach every path. */
export interface DeflateRefStats {
  stored: number;
  fixed: number;
  dynamic: number;
  /** Huffman trees that had to be rebuilt with halved frequencies to fit their length limit. */
  lengthLimited: number;
}

/** One symbol of a block: a literal byte or a (length, distance) match. */
type Sym = { lit: number } | { len: number; dist: number };

/** Writes bits LSB first, as deflate wants. */
class BitWriter {
  private bytes: number[] = [];
  private buf = 0;
  private cnt = 0;

  put(value: number, n: number): void {
    for (let k = 0; k < n; k++) {
      this.buf |= ((value >>> k) & 1) << this.cnt;
      this.cnt++;
      if (this.cnt === 8) this.flushByte();
    }
  }

  private flushByte(): void {
    this.bytes.push(this.buf & 0xff);
    this.buf = 0;
    this.cnt = 0;
  }

  /** Pad with zero bits to a byte boundary. */
  align(): void {
    if (this.cnt > 0) this.flushByte();
  }

  /** Whole bytes (only at a byte boundary). */
  bytesOut(data: ArrayLike<number>): void {
    for (let i = 0; i < data.length; i++) this.bytes.push(data[i]!);
  }

  result(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** Canonical Huffman codes from lengths, bit-reversed for LSB-first output. */
function makeCodes(lens: ArrayLike<number>): number[] {
  const blCount = new Array<number>(16).fill(0);
  for (let i = 0; i < lens.length; i++) if (lens[i]! > 0) blCount[lens[i]!]!++;
  const next = new Array<number>(16).fill(0);
  let code = 0;
  for (let b = 1; b <= 15; b++) {
    code = (code + blCount[b - 1]!) << 1;
    next[b] = code;
  }
  const codes = new Array<number>(lens.length).fill(0);
  for (let i = 0; i < lens.length; i++) {
    const l = lens[i]!;
    if (l === 0) continue;
    const c = next[l]!++;
    let r = 0;
    for (let k = 0; k < l; k++) r |= ((c >> k) & 1) << (l - 1 - k);
    codes[i] = r;
  }
  return codes;
}

/**
 * Huffman code lengths for the frequencies, limited to maxBits. Unused trees get two 1-bit codes
 * (symbols 0 and 1); a tree with one used symbol gives it and a neighbour (the next symbol, or the
 * previous for the last) 1 bit each.
 */
export function buildLengths(freq: ArrayLike<number>, maxBits: number, stats?: DeflateRefStats): number[] {
  const n = freq.length;
  const lens = new Array<number>(n).fill(0);
  const used: number[] = [];
  for (let i = 0; i < n; i++) if (freq[i]! > 0) used.push(i);
  if (used.length === 0) {
    lens[0] = 1;
    lens[1] = 1;
    return lens;
  }
  if (used.length === 1) {
    const s = used[0]!;
    lens[s] = 1;
    lens[s === 0 ? 1 : s === n - 1 ? s - 1 : s + 1] = 1;
    return lens;
  }
  for (let shift = 0; ; shift++) {
    // leaves: node ids 0..n-1 (symbol numbers); internal nodes: n, n+1, ... in creation order
    const weight = new Map<number, number>();
    const parent = new Map<number, number>();
    for (const s of used) weight.set(s, shift === 0 ? freq[s]! : Math.max(1, freq[s]! >> shift));
    // stable sort by weight: equal weights stay in symbol order
    const leaves = [...used].sort((a, b) => weight.get(a)! - weight.get(b)! || a - b);
    let li = 0;
    let ii = n; // next internal node to take
    let inext = n; // next internal node to create
    const take = (): number => {
      if (li < leaves.length && (ii >= inext || weight.get(leaves[li]!)! <= weight.get(ii)!)) return leaves[li++]!;
      return ii++;
    };
    for (let k = 0; k < leaves.length - 1; k++) {
      const a = take();
      const b = take();
      weight.set(inext, weight.get(a)! + weight.get(b)!);
      parent.set(a, inext);
      parent.set(b, inext);
      inext++;
    }
    const depth = (node: number): number => {
      let d = 0;
      for (let p = parent.get(node); p !== undefined; p = parent.get(p)) d++;
      return d;
    };
    let maxLen = 0;
    for (const s of used) {
      const d = depth(s);
      lens[s] = Math.min(d, 255);
      maxLen = Math.max(maxLen, d);
    }
    if (maxLen <= maxBits) return lens;
    if (shift === 0 && stats) stats.lengthLimited++;
  }
}

/** Run-length encoding of a sequence of code lengths: [symbol, extra bits value] pairs. */
function rleLengths(lengths: number[]): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  while (i < lengths.length) {
    const l = lengths[i]!;
    let run = 1;
    while (i + run < lengths.length && lengths[i + run] === l) run++;
    let left = run;
    if (l === 0) {
      while (left >= 11) {
        const r = Math.min(left, 138);
        out.push([18, r - 11]);
        left -= r;
      }
      if (left >= 3) {
        out.push([17, left - 3]);
        left = 0;
      }
      for (; left > 0; left--) out.push([0, 0]);
    } else {
      out.push([l, 0]);
      left--;
      while (left >= 3) {
        const r = Math.min(left, 6);
        out.push([16, r - 3]);
        left -= r;
      }
      for (; left > 0; left--) out.push([l, 0]);
    }
    i += run;
  }
  return out;
}

const FIXED_LIT_LENS = Array.from({ length: 288 }, (_, i) => (i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8));
const FIXED_DIST_LENS = new Array<number>(30).fill(5);
const FIXED_LIT_CODES = makeCodes(FIXED_LIT_LENS);
const FIXED_DIST_CODES = makeCodes(FIXED_DIST_LENS);

/** Bits the symbols with these frequencies take with these lengths (extra bits included). */
function symbolBits(lfreq: number[], dfreq: number[], llens: ArrayLike<number>, dlens: ArrayLike<number>): number {
  let bits = 0;
  for (let i = 0; i < L_CODES; i++) bits += lfreq[i]! * (llens[i]! + (i >= 257 ? LEN_EXTRA[i - 257]! : 0));
  for (let i = 0; i < D_CODES; i++) bits += dfreq[i]! * (dlens[i]! + DIST_EXTRA[i]!);
  return bits;
}

function writeSymbols(bw: BitWriter, syms: Sym[], llens: ArrayLike<number>, lcodes: number[], dlens: ArrayLike<number>, dcodes: number[]): void {
  for (const s of syms) {
    if ('lit' in s) {
      bw.put(lcodes[s.lit]!, llens[s.lit]!);
      continue;
    }
    const lc = lengthCode(s.len);
    bw.put(lcodes[257 + lc]!, llens[257 + lc]!);
    bw.put(s.len - LEN_BASE[lc]!, LEN_EXTRA[lc]!);
    const dc = distanceCode(s.dist);
    bw.put(dcodes[dc]!, dlens[dc]!);
    bw.put(s.dist - DIST_BASE[dc]!, DIST_EXTRA[dc]!);
  }
  bw.put(lcodes[END_BLOCK]!, llens[END_BLOCK]!);
}

/** Stored block(s) for window[start..end): pieces of at most 65535 bytes (one even when empty). */
function writeStored(bw: BitWriter, win: Uint8Array, start: number, end: number, last: boolean): void {
  let p = start;
  do {
    const n = Math.min(end - p, 65535);
    bw.put(last && p + n === end ? 1 : 0, 3);
    bw.align();
    bw.bytesOut([n & 0xff, n >> 8, ~n & 0xff, (~n >> 8) & 0xff]);
    bw.bytesOut(win.subarray(p, p + n));
    p += n;
  } while (p < end);
}

/** Writes the symbols (covering window[start..end)) as one block: stored, fixed or dynamic. */
function flushBlock(bw: BitWriter, win: Uint8Array, syms: Sym[], start: number, end: number, last: boolean, stats?: DeflateRefStats): void {
  const lfreq = new Array<number>(L_CODES).fill(0);
  const dfreq = new Array<number>(D_CODES).fill(0);
  for (const s of syms) {
    if ('lit' in s) lfreq[s.lit]!++;
    else {
      lfreq[257 + lengthCode(s.len)]!++;
      dfreq[distanceCode(s.dist)]!++;
    }
  }
  lfreq[END_BLOCK] = 1;
  const llens = buildLengths(lfreq, MAX_BITS, stats);
  const dlens = buildLengths(dfreq, MAX_BITS, stats);
  let hlit = L_CODES;
  while (hlit > 257 && llens[hlit - 1] === 0) hlit--;
  let hdist = D_CODES;
  while (hdist > 1 && dlens[hdist - 1] === 0) hdist--;
  const rle = rleLengths([...llens.slice(0, hlit), ...dlens.slice(0, hdist)]);
  const blfreq = new Array<number>(BL_CODES).fill(0);
  for (const [s] of rle) blfreq[s]!++;
  const bllens = buildLengths(blfreq, MAX_BL_BITS, stats);
  let hclen = BL_CODES;
  while (hclen > 4 && bllens[BL_ORDER[hclen - 1]!] === 0) hclen--;

  const RLE_EXTRA: Record<number, number> = { 16: 2, 17: 3, 18: 7 };
  let dynBits = 3 + 5 + 5 + 4 + 3 * hclen;
  for (const [s] of rle) dynBits += bllens[s]! + (RLE_EXTRA[s] ?? 0);
  dynBits += symbolBits(lfreq, dfreq, llens, dlens);
  const fixBits = 3 + symbolBits(lfreq, dfreq, FIXED_LIT_LENS, FIXED_DIST_LENS);
  const len = end - start;
  const pieces = len === 0 ? 1 : Math.ceil(len / 65535);
  const storedBits = pieces * (3 + 7 + 32) + len * 8;

  if (storedBits <= fixBits && storedBits <= dynBits) {
    if (stats) stats.stored++;
    writeStored(bw, win, start, end, last);
  } else if (fixBits <= dynBits) {
    if (stats) stats.fixed++;
    bw.put(last ? 3 : 2, 3); // BFINAL, BTYPE=01
    writeSymbols(bw, syms, FIXED_LIT_LENS, FIXED_LIT_CODES, FIXED_DIST_LENS, FIXED_DIST_CODES);
  } else {
    if (stats) stats.dynamic++;
    const lcodes = makeCodes(llens.slice(0, hlit));
    const dcodes = makeCodes(dlens.slice(0, hdist));
    const blcodes = makeCodes(bllens);
    bw.put(last ? 5 : 4, 3); // BFINAL, BTYPE=10
    bw.put(hlit - 257, 5);
    bw.put(hdist - 1, 5);
    bw.put(hclen - 4, 4);
    for (let i = 0; i < hclen; i++) bw.put(bllens[BL_ORDER[i]!]!, 3);
    for (const [s, extra] of rle) {
      bw.put(blcodes[s]!, bllens[s]!);
      if (s >= 16) bw.put(extra, RLE_EXTRA[s]!);
    }
    writeSymbols(bw, syms, llens, lcodes, dlens, dcodes);
  }
}

/** The chained hash table over window positions. */
class MatchFinder {
  readonly head = new Int32Array(HASH_SIZE).fill(-1);
  readonly prev: Int32Array;

  constructor(private readonly win: Uint8Array) {
    this.prev = new Int32Array(win.length).fill(-1);
  }

  hash(p: number): number {
    const w = this.win;
    const v = w[p]! | (w[p + 1]! << 8) | (w[p + 2]! << 16);
    return Math.imul(v, 0x9e3779b1) >>> (32 - HASH_BITS);
  }

  /** Insert position p (which must have 3 bytes); returns the previous head of its chain, or -1. */
  insert(p: number): number {
    const h = this.hash(p);
    const cand = this.head[h]!;
    this.prev[p] = cand;
    this.head[h] = p;
    return cand;
  }

  /**
   * Longest match for `cur` (at most `max` bytes) among the chain from `cand`, longer than `best`:
   * [length, distance]; distance 0 when nothing beat `best` (the length is then `best`). Stops at
   * the first match of `nice` bytes, after `chain` candidates, or at a candidate > 32768 back.
   */
  longest(cur: number, cand: number, best: number, chain: number, max: number, nice: number): [number, number] {
    const w = this.win;
    let bestLen = best;
    let bestDist = 0;
    if (bestLen >= max) return [bestLen, 0];
    nice = Math.min(nice, max);
    for (; cand >= 0 && cand >= cur - WSIZE && chain > 0; cand = this.prev[cand]!, chain--) {
      // quick rejects, as the kernel does: the byte that would beat bestLen, and the first two
      if (w[cand + bestLen] !== w[cur + bestLen] || w[cand] !== w[cur] || w[cand + 1] !== w[cur + 1]) continue;
      let len = 0;
      while (len < max && w[cand + len] === w[cur + len]) len++;
      if (len > bestLen) {
        bestLen = len;
        bestDist = cur - cand;
        if (len >= nice) break;
      }
    }
    return [bestLen, bestDist];
  }
}

/**
 * Compress window[historyLength..] with window[..historyLength] (at most 32 KiB) as history, as
 * assembly/deflate.ts does: a raw deflate fragment ending with a final block when `last`, else with
 * a sync flush, so fragments of consecutive chunks concatenate into one stream. `stats`, if given,
 * counts the block kinds written (level 0 writes stored pieces without counting them).
 */
export function deflateChunkRef(window: Uint8Array, historyLength: number, level: number, last: boolean, stats?: DeflateRefStats): Uint8Array {
  if (!Number.isInteger(historyLength) || historyLength < 0 || historyLength > WSIZE || historyLength > window.length) {
    throw new RangeError(`deflate history must be 0..${WSIZE} bytes of the window, got ${historyLength}`);
  }
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`deflate level must be 0..9, got ${level}`);
  const win = window;
  const total = win.length;
  const start = historyLength;
  const bw = new BitWriter();
  const syncFlush = (): void => {
    bw.put(0, 3);
    bw.align();
    bw.bytesOut([0x00, 0x00, 0xff, 0xff]);
  };
  if (level === 0) {
    writeStored(bw, win, start, total, last);
    if (!last) syncFlush();
    return bw.result();
  }
  const [good, maxLazy, nice, maxChain] = CONFIG[level]!;
  const lazy = level >= 4;
  const mf = new MatchFinder(win);
  for (let p = 0; p < historyLength && p + MIN_MATCH <= total; p++) mf.insert(p);
  /** Insert the positions [from, to) that have 3 bytes. */
  const insertRange = (from: number, to: number): void => {
    for (let p = from; p < to && p + MIN_MATCH <= total; p++) mf.insert(p);
  };

  let syms: Sym[] = [];
  let blockStart = start;
  let cur = start;
  // lazy matching: the symbol at cur - 1 is still undecided (a literal, or a match of prevLen)
  let havePrev = false;
  let prevLen = 0;
  let prevDist = 0;
  while (cur < total) {
    const cand = cur + MIN_MATCH <= total ? mf.insert(cur) : -1;
    let len = 0;
    let dist = 0;
    const max = Math.min(MAX_MATCH, total - cur);
    if (cand >= 0 && cur - cand <= WSIZE && max >= MIN_MATCH && (!lazy || prevLen < maxLazy)) {
      const chain = lazy && prevLen >= good ? maxChain >> 2 : maxChain;
      const best = lazy && prevLen > MIN_MATCH - 1 ? prevLen : MIN_MATCH - 1;
      [len, dist] = mf.longest(cur, cand, best, chain, max, nice);
      if (len < MIN_MATCH || (len === MIN_MATCH && dist > TOO_FAR)) {
        len = 0;
        dist = 0;
      }
    }
    if (!lazy) {
      if (len >= MIN_MATCH) {
        syms.push({ len, dist });
        // as zlib's deflate_fast: the positions inside a match are hashed only for short matches
        if (len <= maxLazy) insertRange(cur + 1, cur + len);
        cur += len;
      } else {
        syms.push({ lit: win[cur]! });
        cur++;
      }
    } else if (havePrev && prevLen >= MIN_MATCH && len <= prevLen) {
      // the match starting at cur - 1 is not beaten: take it
      syms.push({ len: prevLen, dist: prevDist });
      const stop = cur - 1 + prevLen;
      insertRange(cur + 1, stop);
      cur = stop;
      havePrev = false;
      prevLen = 0;
    } else {
      if (havePrev) syms.push({ lit: win[cur - 1]! });
      havePrev = true;
      prevLen = len;
      prevDist = dist;
      cur++;
    }
    if (syms.length >= BLOCK_SYMS - 1) {
      const end = havePrev ? cur - 1 : cur;
      flushBlock(bw, win, syms, blockStart, end, false, stats);
      blockStart = end;
      syms = [];
    }
  }
  if (havePrev) syms.push(prevLen >= MIN_MATCH ? { len: prevLen, dist: prevDist } : { lit: win[cur - 1]! });
  if (syms.length > 0 || last || blockStart === start) flushBlock(bw, win, syms, blockStart, total, last, stats);
  if (!last) syncFlush();
  bw.align();
  return bw.result();
}
