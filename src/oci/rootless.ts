/**
 * Ownership that an unprivileged apply cannot set, recorded the way umoci and runc/rootlesskit
 * tooling read it: the `user.rootlesscontainers` xattr holding a protobuf
 * `message Resource { uint32 uid = 1; uint32 gid = 2; }` (github.com/rootless-containers/proto).
 * As umoci does, 0:0 (root in the layer = the unpacking user) is not recorded; proto3 omits
 * zero-valued fields.
 */
export const ROOTLESS_XATTR = 'user.rootlesscontainers';

function varint(v: number, out: number[]): void {
  let x = v >>> 0;
  while (x >= 0x80) {
    out.push((x & 0x7f) | 0x80);
    x >>>= 7;
  }
  out.push(x);
}

/** Encode a Resource record. */
export function encodeRootlessOwner(uid: number, gid: number): Uint8Array {
  const out: number[] = [];
  if (uid !== 0) {
    out.push(0x08);
    varint(uid, out);
  }
  if (gid !== 0) {
    out.push(0x10);
    varint(gid, out);
  }
  return new Uint8Array(out);
}

/** Decode a Resource record (unknown fields skipped); throws on malformed bytes. */
export function decodeRootlessOwner(bytes: Uint8Array): { uid: number; gid: number } {
  let uid = 0;
  let gid = 0;
  let i = 0;
  const read = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (i >= bytes.length || shift > 35) throw new Error('malformed user.rootlesscontainers value');
      const b = bytes[i++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return v;
      shift += 7;
    }
  };
  while (i < bytes.length) {
    const key = read();
    if ((key & 7) !== 0) throw new Error('malformed user.rootlesscontainers value');
    const value = read();
    if (key >>> 3 === 1) uid = value;
    else if (key >>> 3 === 2) gid = value;
  }
  return { uid, gid };
}
