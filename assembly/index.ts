// The kernels module: every export here is part of the WASM boundary (see src/wasm/).
export { alloc, dealloc } from './memory';
export * from './blake3';
export * from './sha256';
export * from './cdc';
export * from './diff';
export * from './deflate';
export * from './crc32';
export * from './stack';
