// Canonical-ABI entry points for the component build (wit/kernels.wit), compiled as a separate core
// module from the same kernels by scripts/build-component.mjs. Lists arrive in memory the host got
// from cabi_realloc; results are returned through a return area holding (ptr, len), and freed by
// the host calling cabi_post_<name>. Export names with '-' are renamed after asc (AS cannot spell them).
import { blake3_ctx_size, blake3_init, blake3_update, blake3_finalize } from './blake3';
import { sha256_ctx_size, sha256_init, sha256_update, sha256_final } from './sha256';
import { cdc_ctx_size, cdc_init, cdc_scan } from './cdc';

const RET: usize = memory.data(8, 8);

export function cabi_realloc(oldPtr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  if (newSize == 0) {
    if (oldPtr != 0) heap.free(oldPtr);
    return align; // a non-null, aligned address that is never read or freed
  }
  if (oldPtr == 0 || oldSize == 0) return heap.alloc(newSize);
  return heap.realloc(oldPtr, newSize);
}

@inline function release(ptr: usize, len: usize): void {
  if (len != 0) heap.free(ptr);
}

@inline function ret(ptr: usize, len: usize): usize {
  store<u32>(RET, <u32>ptr);
  store<u32>(RET, <u32>len, 4);
  return RET;
}

export function blake3(ptr: usize, len: usize, outLen: u32): usize {
  const ctx = heap.alloc(blake3_ctx_size());
  blake3_init(ctx);
  blake3_update(ctx, ptr, len);
  const out = outLen ? heap.alloc(outLen) : 1;
  blake3_finalize(ctx, out, outLen);
  heap.free(ctx);
  release(ptr, len);
  return ret(out, outLen);
}

export function cabi_post_blake3(r: usize): void {
  if (load<u32>(r, 4) != 0) heap.free(load<u32>(r));
}

export function sha256(ptr: usize, len: usize): usize {
  const ctx = heap.alloc(sha256_ctx_size());
  sha256_init(ctx);
  sha256_update(ctx, ptr, len);
  const out = heap.alloc(32);
  sha256_final(ctx, out);
  heap.free(ctx);
  release(ptr, len);
  return ret(out, 32);
}

export function cabi_post_sha256(r: usize): void {
  heap.free(load<u32>(r));
}

/** Exported as "chunk-boundaries". Parameters are checked by the kernel's caller contract: bad ones trap. */
export function chunk_boundaries(ptr: usize, len: usize, minSize: u32, avgSize: u32, maxSize: u32): usize {
  if (minSize < 64 || minSize > avgSize || avgSize > maxSize) unreachable();
  const ctx = heap.alloc(cdc_ctx_size());
  cdc_init(ctx, minSize, avgSize, maxSize);
  // At most one cut per minSize bytes, plus the final one.
  const cap = <u32>(len / minSize) + 2;
  const cuts = heap.alloc(<usize>cap << 2);
  let n: u32 = 0;
  let done: usize = 0;
  while (done < len) {
    const got = cdc_scan(ctx, ptr + done, len - done, cuts + (<usize>n << 2), cap - n);
    if (got == 0) break;
    // Offsets are relative to the scanned slice: make them absolute.
    for (let i: u32 = 0; i < got; i++) {
      const p = cuts + (<usize>(n + i) << 2);
      store<u32>(p, load<u32>(p) + <u32>done);
    }
    done = load<u32>(cuts + (<usize>(n + got - 1) << 2));
    n += got;
  }
  if (done < len) {
    store<u32>(cuts + (<usize>n << 2), <u32>len);
    n++;
  }
  heap.free(ctx);
  release(ptr, len);
  return ret(cuts, n);
}

export function cabi_post_chunk_boundaries(r: usize): void {
  heap.free(load<u32>(r));
}
