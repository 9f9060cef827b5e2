/** CRC-32 (IEEE, reflected, 0xEDB88320), bit by bit: the reference for assembly/crc32.ts. */
export function crc32Ref(crc: number, data: Uint8Array): number {
  let c = ~crc >>> 0;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (0xedb88320 ^ (c >>> 1)) >>> 0 : c >>> 1;
  }
  return ~c >>> 0;
}
