/**
 * A set of names kept as 64-bit keyed hashes, 8 bytes a name: what apply remembers of the names a
 * layer wrote into directories that existed before it, for opaque markers that come after them
 * (a Set of the strings cost ~100 bytes a name; at the default maxEntries of 4 M a layer, 400 MB).
 *
 * Layout: recent names in a small open-addressing table (TAIL names at most), merged into one
 * sorted array of hashes when it fills (amortised: a merge per TAIL names). Lookups (one per child
 * of a directory an opaque marker clears) probe the table, then binary-search the sorted array.
 *
 * A lookup can be wrong only one way: a name never added is said to be in the set when its hash
 * equals an added one's (the lower entry it names survives the opaque marker). The two 32-bit
 * lanes are keyed with random seeds per set, so a given pair of names collides with probability
 * 2^-64 per lookup; and whoever writes the layer gains nothing from one, since leaving out the
 * opaque marker keeps the lower entries just the same.
 */

/** Names in the unsorted table before a merge into the sorted array. */
const TAIL = 1 << 16;
/** Table slots (pairs of u32): load at most 1/2. */
const SLOTS = TAIL * 2;
const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Index of the high and low u32 of a u64 in a Uint32Array view. */
const HI = LE ? 1 : 0;
const LO = LE ? 0 : 1;

export class NameSet {
  readonly #seed1: number;
  readonly #seed2: number;
  /** Open-addressing table: [hi, lo] pairs, (0, 0) empty. */
  #tail = new Uint32Array(SLOTS * 2);
  #tailCount = 0;
  /** Sorted hashes (as u64; read through #sortedWords). */
  #sorted = new BigUint64Array(0);
  #sortedWords = new Uint32Array(0);
  #h1 = 0;
  #h2 = 0;

  constructor() {
    const seeds = new Uint32Array(2);
    crypto.getRandomValues(seeds);
    this.#seed1 = seeds[0]!;
    this.#seed2 = seeds[1]! ^ 0x9e3779b9;
  }

  /** Names held (tests and measurements: merges the table first, since a merge drops names added again). */
  get size(): number {
    if (this.#tailCount > 0) this.#merge();
    return this.#sorted.length;
  }

  /** Bytes held (tests and measurements). */
  get bytes(): number {
    return this.#tail.byteLength + this.#sorted.byteLength;
  }

  /** O(1): a name already in the sorted array is not searched for here; the merge drops it. */
  add(name: string): void {
    this.#hash(name);
    if (this.#probe(true)) return;
    if (++this.#tailCount >= TAIL) this.#merge();
  }

  has(name: string): boolean {
    this.#hash(name);
    return this.#probe(false) || this.#inSorted();
  }

  /** Hash `name` into #h1 (high) and #h2 (low): two murmur3-style lanes over UTF-16 units. */
  #hash(name: string): void {
    let a = this.#seed1;
    let b = this.#seed2;
    const n = name.length;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const k = name.charCodeAt(i) | (name.charCodeAt(i + 1) << 16);
      a = mixLane(a, k);
      b = mixLane(b, Math.imul(k, 0x85ebca6b) ^ 0x27d4eb2f);
    }
    if (i < n) {
      const k = name.charCodeAt(i);
      a = mixLane(a, k);
      b = mixLane(b, Math.imul(k, 0x85ebca6b) ^ 0x27d4eb2f);
    }
    a = fmix(a ^ n);
    b = fmix(b ^ n ^ a);
    if ((a | b) === 0) b = 1; // (0, 0) marks an empty slot
    this.#h1 = a >>> 0;
    this.#h2 = b >>> 0;
  }

  /** Look #h1/#h2 up in the table; with `insert`, put it in the empty slot found. True: it was there. */
  #probe(insert: boolean): boolean {
    const t = this.#tail;
    const mask = SLOTS - 1;
    for (let s = (this.#h2 ^ this.#h1) & mask; ; s = (s + 1) & mask) {
      const hi = t[2 * s]!;
      const lo = t[2 * s + 1]!;
      if (hi === this.#h1 && lo === this.#h2) return true;
      if (hi === 0 && lo === 0) {
        if (insert) {
          t[2 * s] = this.#h1;
          t[2 * s + 1] = this.#h2;
        }
        return false;
      }
    }
  }

  /** Binary search of #h1/#h2 in the sorted array. */
  #inSorted(): boolean {
    const w = this.#sortedWords;
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = cmp(w[2 * mid + HI]!, w[2 * mid + LO]!, this.#h1, this.#h2);
      if (c === 0) return true;
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return false;
  }

  /** Move the table's hashes into the sorted array (a sort of TAIL keys and one linear merge). */
  #merge(): void {
    const add = new BigUint64Array(this.#tailCount);
    const aw = new Uint32Array(add.buffer);
    const t = this.#tail;
    let n = 0;
    for (let s = 0; s < SLOTS; s++) {
      if (t[2 * s] === 0 && t[2 * s + 1] === 0) continue;
      aw[2 * n + HI] = t[2 * s]!;
      aw[2 * n + LO] = t[2 * s + 1]!;
      n++;
    }
    add.sort();
    const old = this.#sortedWords;
    const oldLen = this.#sorted.length;
    const out = new BigUint64Array(oldLen + n);
    const ow = new Uint32Array(out.buffer);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < oldLen && j < n) {
      const c = cmp(old[2 * i + HI]!, old[2 * i + LO]!, aw[2 * j + HI]!, aw[2 * j + LO]!);
      if (c === 0) j++; // added again: kept once
      if (c <= 0) {
        ow[2 * k] = old[2 * i]!;
        ow[2 * k + 1] = old[2 * i + 1]!;
        i++;
      } else {
        ow[2 * k] = aw[2 * j]!;
        ow[2 * k + 1] = aw[2 * j + 1]!;
        j++;
      }
      k++;
    }
    if (i < oldLen) {
      ow.set(old.subarray(2 * i, 2 * oldLen), 2 * k);
      k += oldLen - i;
    } else if (j < n) {
      ow.set(aw.subarray(2 * j, 2 * n), 2 * k);
      k += n - j;
    }
    this.#sorted = k === out.length ? out : out.slice(0, k);
    this.#sortedWords = new Uint32Array(this.#sorted.buffer, this.#sorted.byteOffset, 2 * k);
    t.fill(0);
    this.#tailCount = 0;
  }
}

function mixLane(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Compare (ah, al) with (bh, bl) as unsigned 64-bit numbers. */
function cmp(ah: number, al: number, bh: number, bl: number): number {
  return ah !== bh ? (ah < bh ? -1 : 1) : al !== bl ? (al < bl ? -1 : 1) : 0;
}
