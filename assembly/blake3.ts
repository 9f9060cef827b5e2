// blake3 kernel: placeholder until implemented
export function blake3_version(): i32 { return 0; }
