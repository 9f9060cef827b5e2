/** layerkit for Node and Deno: the core, plus node:crypto SHA-256 and the node:fs adapter. */
import './platform/node.ts';
export * from './index.ts';
export { nodeFs } from './fs/node.ts';
export { nodeStoreFs } from './fs/node-store.ts';
export { nodeSha256Engine } from './platform/node.ts';
export { openStore, nodeStorePort, sha256File } from './platform/store-node.ts';
export { openWriter, type SnapshotWriter } from './platform/snapshot-writer.ts';
export { SnapshotStore, type OpenStoreOptions, type StoreUsage } from './snapshot/store.ts';
export { checkStore, type CheckReport, type Issue } from './snapshot/check.ts';
export type { Kind, Materialize, Mount, SnapshotInfo, Usage, BlobRef } from './snapshot/types.ts';
export {
  createContainer, commitContainer, containerChanges, containerPath, removeContainer, listContainers, getContainer,
  unpackImageSnapshots, pruneImageSnapshots,
  containerChangeList,
  type ContainerPorts, type ContainerRecord, type CreateContainerOptions, type CommitContainerOptions,
} from './api/container.ts';
export {
  createUnionContainer, openUnionContainer, openUnionWriter, unionContainerChanges, commitUnionContainer, getUnionContainer,
  pruneUnionCache, unionCacheDir, type OpenedUnionContainer, type UnionWriter,
} from './api/union-container.ts';
export type { FarmContainerRecord, UnionContainerRecord } from './snapshot/container-record.ts';
export { withContainerLock } from './snapshot/containers.ts';
export { openCachedLayer, encodeTarIndex, decodeTarIndex, type CachedLayer } from './union/layer-cache.ts';
export { openCachedLower, cacheLowerPath, type CachedLower } from './union/lower-cache.ts';
