// sha256 kernel: placeholder until implemented
export function sha256_version(): i32 { return 0; }
