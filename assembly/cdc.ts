// cdc kernel: placeholder until implemented
export function cdc_version(): i32 { return 0; }
