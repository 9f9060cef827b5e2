// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320: the gzip trailer's checksum), slice-by-8.
// Tables are built on first use (8 x 256 u32). src/ref/crc32.ts is the bitwise reference.

let table: usize = 0;

function buildTable(): void {
  table = heap.alloc(8 * 256 * 4);
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
    store<u32>(table + (<usize>n << 2), c);
  }
  for (let n: usize = 0; n < 256; n++) {
    let c = load<u32>(table + (n << 2));
    for (let t: usize = 1; t < 8; t++) {
      c = load<u32>(table + (<usize>(c & 0xff) << 2)) ^ (c >> 8);
      store<u32>(table + (t << 10) + (n << 2), c);
    }
  }
}

/** Continue a CRC-32 (start with 0) over len bytes at ptr. */
export function crc32_update(crc: u32, ptr: usize, len: usize): u32 {
  if (table == 0) buildTable();
  let c = ~crc;
  const t = table;
  let p = ptr;
  const end = ptr + len;
  while (p + 8 <= end) {
    const a = load<u32>(p) ^ c;
    const b = load<u32>(p + 4);
    c = load<u32>(t + (7 << 10) + (<usize>(a & 0xff) << 2)) ^
      load<u32>(t + (6 << 10) + (<usize>((a >> 8) & 0xff) << 2)) ^
      load<u32>(t + (5 << 10) + (<usize>((a >> 16) & 0xff) << 2)) ^
      load<u32>(t + (4 << 10) + (<usize>(a >> 24) << 2)) ^
      load<u32>(t + (3 << 10) + (<usize>(b & 0xff) << 2)) ^
      load<u32>(t + (2 << 10) + (<usize>((b >> 8) & 0xff) << 2)) ^
      load<u32>(t + (1 << 10) + (<usize>((b >> 16) & 0xff) << 2)) ^
      load<u32>(t + (<usize>(b >> 24) << 2));
    p += 8;
  }
  while (p < end) {
    c = load<u32>(t + (<usize>((c ^ load<u8>(p)) & 0xff) << 2)) ^ (c >> 8);
    p++;
  }
  return ~c;
}
