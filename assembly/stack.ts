// Whiteout resolution across a stack of layers: which entries (and which whiteout / opaque
// markers) of layers 0..N-1 still matter once all of them are applied. Used by flatten.
// The rules' reference is survivorsRef in src/ref/stack.ts (a map over every path); this kernel
// decides the same in one streaming pass over the records sorted by path, holding only the
// chain of ancestors of the current path, so its memory does not grow with the stack.
// SortedStackRef in src/ref/stack-sorted.ts is its line-for-line TS reference; src/oci/stack.ts
// drives it.
//
// Input, in batches, sorted: by path in tree order (components separated by a 0 byte instead of
// '/', compared so that a path comes before everything below it and everything below it comes
// together), then by sequence number DESCENDING (the latest record of a path first).
// Record, REC bytes:
//    0 u32 path offset (into the batch's path blob: cleaned, relative, components 0-separated)
//    4 u32 path length
//    8 u32 layer index
//   12 u32 kind: K_FILE (any non-directory), K_DIR, K_WHITEOUT (path = the removed name),
//              K_OPAQUE (path = the directory, '' for the root)
//   16 u32 sequence number (the record's place in stack order: layer 0 first, each in tar order)
// Output per record: u8 fate: 1 it survives, 0 it does not, 2 it survives as a whiteout of its
// path (a non-directory that later layers replaced only with directories).
// Events: when the kernel leaves a path whose surviving directory record is `dir`, it writes
// (u32 dir, u32 at): `at` is the smallest sequence number among the surviving records below the
// directory (an opaque marker of the directory counts), or `dir` itself if smaller; the root's is
// always itself (applying a layer never replaces the root, so its entry can stay where it is). flatten writes a directory at `at`, so it comes before its children.
//
// State (caller-owned, stack_state_size(pathCap) bytes): a header, the current path (each level
// of the ancestor stack is a prefix of it, so one buffer holds them all) and the levels.

const REC: usize = 20;
const LEVEL: usize = 48;
const HEAD: usize = 16;
export const K_FILE: u32 = 0;
export const K_DIR: u32 = 1;
export const K_WHITEOUT: u32 = 2;
export const K_OPAQUE: u32 = 3;
const NONE: u32 = 0xffffffff;

// Level fields. Max fields hold seq + 1 or layer + 1 (0: none); min fields a seq (NONE: none).
const L_LEN = 0; // path length (a prefix of the current path)
const L_PFILE = 4; // over the strict ancestors: max (seq + 1) of a non-directory record
const L_PWH = 8; //                            max (layer + 1) of a whiteout
const L_POPQ = 12; //                          max (layer + 1) of an opaque marker
const L_FLAGS = 16; // over this path's records seen so far (later ones first): F_*
const L_FILE = 20; // max (seq + 1) of a non-directory record at this path
const L_WH = 24; // max (layer + 1) of a whiteout of this path
const L_OPQ = 28; // max (layer + 1) of an opaque marker of this directory
const L_DIR = 32; // the surviving directory record's seq (NONE)
const L_OWN = 36; // smallest seq of a surviving record at this path, not an opaque marker
const L_BELOW = 40; // smallest seq of a surviving record below (or an opaque marker of) this path
const L_LAST = 44; // the last seq seen at this path (order check)

const F_EXACT: u32 = 1; // a later entry at this path
const F_SUBTREE: u32 = 2; // a later non-directory at this path (its subtree goes)
const F_WH: u32 = 4; // a later whiteout of this path
const F_OPQ: u32 = 8; // a later opaque marker in this directory

// Header: u32 depth, u32 path capacity, u32 events written by the current call.
const H_DEPTH = 0;
const H_CAP = 4;
const H_EVENTS = 8;

export function stack_record_size(): u32 {
  return <u32>REC;
}

/** Bytes of state for paths of up to pathCap bytes. */
export function stack_state_size(pathCap: u32): u32 {
  return <u32>(HEAD + ((<usize>pathCap + 7) & ~7) + (<usize>pathCap / 2 + 2) * LEVEL);
}

@inline function levels(state: usize): usize {
  return state + HEAD + ((<usize>load<u32>(state, H_CAP) + 7) & ~7);
}

/** Start a pass: the state is empty. */
export function stack_begin(state: usize, pathCap: u32): void {
  store<u32>(state, 0, H_DEPTH);
  store<u32>(state, pathCap, H_CAP);
  store<u32>(state, 0, H_EVENTS);
}

@inline function maxU(a: u32, b: u32): u32 {
  return a > b ? a : b;
}

@inline function minU(a: u32, b: u32): u32 {
  return a < b ? a : b;
}

/** Leave the top level: its directory's event, and what survives in it to its parent. */
function pop(state: usize, events: usize): void {
  const depth = load<u32>(state, H_DEPTH) - 1;
  const lv = levels(state) + <usize>depth * LEVEL;
  const dir = load<u32>(lv, L_DIR);
  if (dir != NONE) {
    const k = load<u32>(state, H_EVENTS);
    const ev = events + <usize>k * 8;
    store<u32>(ev, dir);
    store<u32>(ev, minU(dir, load<u32>(lv, L_BELOW)), 4);
    store<u32>(state, k + 1, H_EVENTS);
  }
  store<u32>(state, depth, H_DEPTH);
  if (depth == 0) return;
  const parent = lv - LEVEL;
  if (load<u32>(parent, L_LEN) == 0) return; // the root: never written early
  const m = minU(load<u32>(lv, L_OWN), load<u32>(lv, L_BELOW));
  store<u32>(parent, minU(load<u32>(parent, L_BELOW), m), L_BELOW);
}

/** Whether the level of length `len` (a prefix of the current path) is `p`'s ancestor or `p`. */
@inline function covers(cur: usize, len: usize, p: usize, n: usize): bool {
  if (len == 0) return true;
  if (len > n) return false;
  if (len < n && load<u8>(p + len) != 0) return false;
  let i: usize = 0;
  while (i + 8 <= len) {
    if (load<u64>(cur + i) != load<u64>(p + i)) return false;
    i += 8;
  }
  while (i < len) {
    if (load<u8>(cur + i) != load<u8>(p + i)) return false;
    i++;
  }
  return true;
}

/**
 * Decide `count` sorted records (see above): out[i] gets each fate; events (u32 pairs, room for
 * count + pathCap / 2 + 2 of them) the directories left. Returns the number of events, or -1 if a
 * path is longer than the state's capacity, -2 if the records are out of order.
 */
export function stack_batch(state: usize, recs: usize, count: u32, paths: usize, out: usize, events: usize): i32 {
  store<u32>(state, 0, H_EVENTS);
  const cap = <usize>load<u32>(state, H_CAP);
  const cur = state + HEAD;
  const lvs = levels(state);
  for (let r: u32 = 0; r < count; r++) {
    const rec = recs + <usize>r * REC;
    const p = paths + <usize>load<u32>(rec, 0);
    const n = <usize>load<u32>(rec, 4);
    const layer = load<u32>(rec, 8);
    const kind = load<u32>(rec, 12);
    const seq = load<u32>(rec, 16);
    if (n > cap) return -1;
    // Leave the levels that are not this path or above it.
    let depth = load<u32>(state, H_DEPTH);
    while (depth > 0) {
      const top = lvs + <usize>(depth - 1) * LEVEL;
      if (covers(cur, <usize>load<u32>(top, L_LEN), p, n)) break;
      pop(state, events);
      depth--;
    }
    let lv: usize;
    const top = lvs + <usize>(depth - 1) * LEVEL;
    if (depth > 0 && <usize>load<u32>(top, L_LEN) == n) {
      lv = top;
      if (seq >= load<u32>(lv, L_LAST)) return -2;
    } else {
      if (depth > 0 && n == 0) return -2;
      memory.copy(cur, p, n);
      lv = lvs + <usize>depth * LEVEL;
      if (depth > 0) {
        store<u32>(lv, maxU(load<u32>(top, L_PFILE), load<u32>(top, L_FILE)), L_PFILE);
        store<u32>(lv, maxU(load<u32>(top, L_PWH), load<u32>(top, L_WH)), L_PWH);
        store<u32>(lv, maxU(load<u32>(top, L_POPQ), load<u32>(top, L_OPQ)), L_POPQ);
      } else {
        store<u32>(lv, 0, L_PFILE);
        store<u32>(lv, 0, L_PWH);
        store<u32>(lv, 0, L_POPQ);
      }
      store<u32>(lv, <u32>n, L_LEN);
      store<u32>(lv, 0, L_FLAGS);
      store<u32>(lv, 0, L_FILE);
      store<u32>(lv, 0, L_WH);
      store<u32>(lv, 0, L_OPQ);
      store<u32>(lv, NONE, L_DIR);
      store<u32>(lv, NONE, L_OWN);
      store<u32>(lv, NONE, L_BELOW);
      store<u32>(state, depth + 1, H_DEPTH);
    }
    store<u32>(lv, seq, L_LAST);
    const l1 = layer + 1;
    // A later non-directory at an ancestor, or a whiteout or opaque marker there from a later layer.
    let dead = load<u32>(lv, L_PFILE) > seq + 1 || load<u32>(lv, L_PWH) > l1 || load<u32>(lv, L_POPQ) > l1;
    const flags = load<u32>(lv, L_FLAGS);
    const wh = load<u32>(lv, L_WH);
    let asWhiteout = false;
    if (!dead && flags != 0) {
      if (kind == K_WHITEOUT) dead = (flags & F_WH) != 0;
      else if (kind == K_OPAQUE) dead = (flags & (F_SUBTREE | F_OPQ)) != 0 || wh > l1;
      else {
        dead = (flags & F_EXACT) != 0 || wh > l1;
        // A non-directory replaced only by later directories: what it removed from a lower tree
        // must stay removed, so it survives as a whiteout of its name.
        asWhiteout = kind == K_FILE && (flags & (F_SUBTREE | F_WH)) == 0 && wh <= l1;
      }
    }
    if (kind == K_FILE) {
      store<u32>(lv, flags | F_EXACT | F_SUBTREE | (asWhiteout ? F_WH : 0), L_FLAGS);
      store<u32>(lv, maxU(load<u32>(lv, L_FILE), seq + 1), L_FILE);
    } else if (kind == K_DIR) store<u32>(lv, flags | F_EXACT, L_FLAGS);
    else if (kind == K_WHITEOUT) {
      store<u32>(lv, flags | F_WH, L_FLAGS);
      store<u32>(lv, maxU(wh, l1), L_WH);
    } else {
      store<u32>(lv, flags | F_OPQ, L_FLAGS);
      store<u32>(lv, maxU(load<u32>(lv, L_OPQ), l1), L_OPQ);
    }
    const fate: u8 = asWhiteout ? 2 : dead ? 0 : 1;
    store<u8>(out + <usize>r, fate);
    if (fate != 0) {
      if (kind == K_OPAQUE) {
        if (n > 0) store<u32>(lv, minU(load<u32>(lv, L_BELOW), seq), L_BELOW);
      }
      else store<u32>(lv, minU(load<u32>(lv, L_OWN), seq), L_OWN);
      if (kind == K_DIR) store<u32>(lv, seq, L_DIR);
    }
  }
  return <i32>load<u32>(state, H_EVENTS);
}

/** End the pass: leave every level. Returns the number of events (room for pathCap / 2 + 2). */
export function stack_end(state: usize, events: usize): u32 {
  store<u32>(state, 0, H_EVENTS);
  while (load<u32>(state, H_DEPTH) > 0) pop(state, events);
  return load<u32>(state, H_EVENTS);
}
