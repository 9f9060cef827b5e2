// Whiteout resolution across a stack of layers: which entries (and which whiteout / opaque
// markers) of layers 0..N-1 still matter once all of them are applied. Used by flatten.
// The TypeScript reference is survivorsRef in src/ref/stack.ts; src/oci/stack.ts packs the tables.
//
// Record, REC bytes, in stack order (layer 0 first, each layer in tar order):
//    0 u32 path offset (into the path blob, UTF-8, cleaned: relative, no trailing '/')
//    4 u32 path length
//    8 u32 layer index
//   12 u32 kind: K_FILE (any non-directory), K_DIR, K_WHITEOUT (path = the removed name),
//              K_OPAQUE (path = the directory, '' for the root)
// Output: one u8 per record: 1 it survives, 0 it does not, 2 it survives as a whiteout of its
// path (a non-directory that later layers replaced only with directories).
//
// One reverse pass; a hash table (open addressing, caller-owned, `cap` slots, a power of two at
// least twice the record count) holds, per path, what later records do to it. A record is looked
// up once per ancestor prefix (hashes computed incrementally), so the work is O(total path bytes)
// plus O(depth) probes per record: nothing grows with the number of whiteouts.

const REC: usize = 16;
const SLOT: usize = 24;
export const K_FILE: u32 = 0;
export const K_DIR: u32 = 1;
export const K_WHITEOUT: u32 = 2;
export const K_OPAQUE: u32 = 3;

// Slot: u32 key (record index + 1; 0 empty), u32 hash, u32 flags, i32 max whiteout layer,
// i32 max opaque layer, u32 pad.
const F_EXACT: u32 = 1; // a later entry at this path
const F_SUBTREE: u32 = 2; // a later non-directory at this path (its subtree goes)
const F_WH: u32 = 4; // a later whiteout of this path
const F_OPQ: u32 = 8; // a later opaque marker in this directory

const FNV_OFFSET: u32 = 2166136261;
const FNV_PRIME: u32 = 16777619;

export function stack_record_size(): u32 {
  return <u32>REC;
}

export function stack_slot_size(): u32 {
  return <u32>SLOT;
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

/** The slot holding key (p, n, h), or the empty slot where it would go (key word 0). */
function find(table: usize, mask: u32, recs: usize, paths: usize, p: usize, n: usize, h: u32): usize {
  let i = h & mask;
  let s = table + <usize>i * SLOT;
  let k = load<u32>(s);
  while (k != 0) {
    if (load<u32>(s, 4) == h) {
      const r = recs + <usize>(k - 1) * REC;
      if (<usize>load<u32>(r, 4) == n && sameBytes(paths + <usize>load<u32>(r, 0), p, n)) return s;
    }
    i = (i + 1) & mask;
    s = table + <usize>i * SLOT;
    k = load<u32>(s);
  }
  return s;
}

/** Whether a later record kills everything strictly below the path at slot s, for layer L. */
@inline function killsBelow(s: usize, layer: i32): bool {
  if (load<u32>(s) == 0) return false;
  return (load<u32>(s, 8) & F_SUBTREE) != 0 || load<i32>(s, 12) > layer || load<i32>(s, 16) > layer;
}

/**
 * Decide survival for `count` records. `table` must hold `cap` zeroed slots (cap a power of two,
 * cap >= 2 * count + 2). Writes `out[i]` (u8) and returns the number of survivors.
 */
export function stack_survivors(recs: usize, count: u32, paths: usize, table: usize, cap: u32, out: usize): u32 {
  const mask = cap - 1;
  let alive: u32 = 0;
  let r = count;
  while (r > 0) {
    r--;
    const rec = recs + <usize>r * REC;
    const p = paths + <usize>load<u32>(rec, 0);
    const n = <usize>load<u32>(rec, 4);
    const layer = <i32>load<u32>(rec, 8);
    const kind = load<u32>(rec, 12);
    let dead = false;
    // Strict ancestors: the root, then every prefix ending before a '/'.
    let h: u32 = FNV_OFFSET;
    if (n > 0 && killsBelow(find(table, mask, recs, paths, p, 0, h), layer)) dead = true;
    for (let i: usize = 0; i < n && !dead; i++) {
      const c = load<u8>(p + i);
      if (c == 47 && killsBelow(find(table, mask, recs, paths, p, i, h), layer)) dead = true;
      h = (h ^ <u32>c) * FNV_PRIME;
    }
    const s = find(table, mask, recs, paths, p, n, h);
    const has = load<u32>(s) != 0;
    const flags = has ? load<u32>(s, 8) : 0;
    let asWhiteout = false;
    if (!dead && has) {
      if (kind == K_WHITEOUT) dead = (flags & F_WH) != 0;
      else if (kind == K_OPAQUE) dead = (flags & (F_SUBTREE | F_OPQ)) != 0 || load<i32>(s, 12) > layer;
      else {
        dead = (flags & F_EXACT) != 0 || load<i32>(s, 12) > layer;
        // A non-directory replaced only by later directories: what it removed from a lower tree
        // must stay removed, so it survives as a whiteout of its name.
        asWhiteout = kind == K_FILE && (flags & (F_SUBTREE | F_WH)) == 0 && load<i32>(s, 12) <= layer;
      }
    }
    if (!has) {
      store<u32>(s, r + 1);
      store<u32>(s, h, 4);
      store<u32>(s, 0, 8);
      store<i32>(s, -1, 12);
      store<i32>(s, -1, 16);
    }
    if (kind == K_FILE) store<u32>(s, flags | F_EXACT | F_SUBTREE | (asWhiteout ? F_WH : 0), 8);
    else if (kind == K_DIR) store<u32>(s, flags | F_EXACT, 8);
    else if (kind == K_WHITEOUT) {
      store<u32>(s, flags | F_WH, 8);
      if (layer > load<i32>(s, 12)) store<i32>(s, layer, 12);
    } else {
      store<u32>(s, flags | F_OPQ, 8);
      if (layer > load<i32>(s, 16)) store<i32>(s, layer, 16);
    }
    store<u8>(out + <usize>r, asWhiteout ? 2 : dead ? 0 : 1);
    if (!dead || asWhiteout) alive++;
  }
  return alive;
}
