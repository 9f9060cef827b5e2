// Change detection merge: two sorted entry tables (old, new) -> the minimal change list.
// The TypeScript reference is mergeChanges in src/tree/changes.ts; src/wasm/diff.ts packs the
// tables and tests check both give the same answers.
//
// Entry record, REC bytes, packed by src/wasm/diff.ts:
//    0  u32 path offset (into the side's path blob, UTF-8)
//    4  u32 path length
//    8  u32 flags: F_DIR, F_FILE, F_HASH (a BLAKE3 is present), F_TIME_UNDECIDED (the mtime cannot
//       vouch for the content: mtime % 1e9 == 0, or a racy entry; timeUndecided in changes.ts)
//   12  u32 reserved
//   16  META bytes compared as a whole: type, mode, uid, gid, then (non-directories only) mtime ns,
//       size (files), devmajor, devminor, and a 16-byte digest of link target + xattrs
//       (directories: xattrs only). Two entries have equal META iff sameEntry's metadata checks agree.
//   72  32-byte BLAKE3 of the content (files with F_HASH)
// Output record, OUT bytes: u32 kind (1 add, 2 modify, 3 delete) | SUBTREE, u32 old index, u32 new index.

export const F_DIR: u32 = 1;
export const F_FILE: u32 = 2;
export const F_HASH: u32 = 4;
export const F_TIME_UNDECIDED: u32 = 8;
const REC: usize = 104;
const META: usize = 16;
const META_LEN: usize = 56;
const HASH: usize = 72;
const OUT: usize = 12;
const K_ADD: u32 = 1;
const K_MODIFY: u32 = 2;
const K_DELETE: u32 = 3;
const SUBTREE: u32 = 0x100;
const NONE: u32 = 0xffffffff;

export function diff_record_size(): u32 {
  return <u32>REC;
}

/** containerd order on UTF-8 bytes: '/' sorts before every other byte. */
@inline function comparePaths(a: usize, an: usize, b: usize, bn: usize): i32 {
  const n = an < bn ? an : bn;
  let i: usize = 0;
  while (i + 8 <= n) {
    const x = load<u64>(a + i);
    const y = load<u64>(b + i);
    if (x != y) {
      i += <usize>(ctz(x ^ y) >> 3);
      return byteOrder(load<u8>(a + i), load<u8>(b + i));
    }
    i += 8;
  }
  while (i < n) {
    const x = load<u8>(a + i);
    const y = load<u8>(b + i);
    if (x != y) return byteOrder(x, y);
    i++;
  }
  return an < bn ? -1 : an > bn ? 1 : 0;
}

@inline function byteOrder(x: u8, y: u8): i32 {
  if (x == 47) return -1;
  if (y == 47) return 1;
  return x < y ? -1 : 1;
}

@inline function sameBytes(a: usize, b: usize, n: usize): bool {
  let i: usize = 0;
  while (i + 8 <= n) {
    if (load<u64>(a + i) != load<u64>(b + i)) return false;
    i += 8;
  }
  while (i < n) {
    if (load<u8>(a + i) != load<u8>(b + i)) return false;
    i++;
  }
  return true;
}

@inline function sameEntry(o: usize, n: usize): bool {
  if (!sameBytes(o + META, n + META, META_LEN)) return false;
  const fo = load<u32>(o, 8);
  const fn = load<u32>(n, 8);
  if ((fo & F_FILE) == 0) return true;
  if ((fo & F_HASH) != 0 && (fn & F_HASH) != 0) return sameBytes(o + HASH, n + HASH, 32);
  return ((fo | fn) & F_TIME_UNDECIDED) == 0;
}

/** First index >= from whose path is not below the directory at record d. */
function skipDescendants(recs: usize, count: u32, from: u32, paths: usize, d: usize): u32 {
  const dp = paths + <usize>load<u32>(d, 0);
  const dl = <usize>load<u32>(d, 4);
  let k = from;
  while (k < count) {
    const r = recs + <usize>k * REC;
    const pl = <usize>load<u32>(r, 4);
    const p = paths + <usize>load<u32>(r, 0);
    if (pl <= dl || load<u8>(p + dl) != 47 || !sameBytes(p, dp, dl)) break;
    k++;
  }
  return k;
}

@inline function emit(out: usize, n: u32, kind: u32, oi: u32, ni: u32): u32 {
  const p = out + <usize>n * OUT;
  store<u32>(p, kind);
  store<u32>(p, oi, 4);
  store<u32>(p, ni, 8);
  return n + 1;
}

/**
 * Merge old (oldN records at oldRecs, paths in oldPaths) and new into `out`, which must hold
 * oldN + newN records. Returns the number of changes written.
 */
export function diff_merge(oldRecs: usize, oldN: u32, oldPaths: usize, newRecs: usize, newN: u32, newPaths: usize, out: usize): u32 {
  let i: u32 = 0;
  let j: u32 = 0;
  let n: u32 = 0;
  while (i < oldN || j < newN) {
    let c: i32;
    const o = oldRecs + <usize>i * REC;
    const w = newRecs + <usize>j * REC;
    if (i == oldN) c = 1;
    else if (j == newN) c = -1;
    else c = comparePaths(oldPaths + <usize>load<u32>(o, 0), <usize>load<u32>(o, 4), newPaths + <usize>load<u32>(w, 0), <usize>load<u32>(w, 4));
    if (c < 0) {
      if ((load<u32>(o, 8) & F_DIR) != 0) {
        n = emit(out, n, K_DELETE | SUBTREE, i, NONE);
        i = skipDescendants(oldRecs, oldN, i + 1, oldPaths, o);
      } else {
        n = emit(out, n, K_DELETE, i, NONE);
        i++;
      }
    } else if (c > 0) {
      n = emit(out, n, K_ADD, NONE, j);
      j++;
    } else {
      const od = (load<u32>(o, 8) & F_DIR) != 0;
      const nd = (load<u32>(w, 8) & F_DIR) != 0;
      if (od && !nd) {
        n = emit(out, n, K_MODIFY | SUBTREE, i, j);
        i = skipDescendants(oldRecs, oldN, i + 1, oldPaths, o);
      } else {
        if (!sameEntry(o, w)) n = emit(out, n, K_MODIFY, i, j);
        i++;
      }
      j++;
    }
  }
  return n;
}
