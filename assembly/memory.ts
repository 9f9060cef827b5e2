// Raw memory for callers: hasher contexts, input windows, output buffers.
// The TLSF allocator of the "minimal" runtime backs these; no GC object ever crosses the boundary.

/** Allocate `size` bytes (16-byte aligned). May grow memory: callers re-create their views. */
export function alloc(size: usize): usize {
  return heap.alloc(size);
}

/** Release a block returned by alloc. */
export function dealloc(ptr: usize): void {
  heap.free(ptr);
}
