/** layerkit for Node and Deno: the core, plus node:crypto SHA-256 and the node:fs adapter. */
import './platform/node.ts';
export * from './index.ts';
export { nodeFs } from './fs/node.ts';
export { nodeStoreFs } from './fs/node-store.ts';
export { nodeSha256Engine } from './platform/node.ts';
