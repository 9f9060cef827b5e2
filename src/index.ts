/**
 * layerkit: the platform-neutral core. Runtimes get it through package.json `exports`:
 * Node and Deno load index.node.ts (node:crypto SHA-256, node:fs adapter), browsers this file.
 */
export { init, checkWasmSupport, type InitOptions } from './wasm/loader.ts';
export { blake3, createBlake3 } from './wasm/blake3.ts';
export { sha256, createSha256 } from './wasm/sha256.ts';
export { createChunker, chunkBoundaries, DEFAULT_CDC } from './wasm/cdc.ts';
export {
  ContentHasher, hashBytes, hashStream,
  type HashOptions, type ContentHash, type Chunk, type ChunkOptions,
} from './hash/content.ts';
export { hashFile } from './hash/file.ts';
export { setSha256Engine, sha256Engine, wasmSha256Engine, type Sha256Engine, type Sha256Like } from './hash/engines.ts';
export type { FsLike, WritableFsLike, FileHandleLike, StatLike, FileStat, FileType } from './fs/types.ts';
export { MemoryFs, type MemoryFsOptions } from './fs/memory.ts';
export { comparePaths, type Entry, type EntryType, type Change, type ChangeKind } from './tree/entry.ts';
export { walk, type WalkOptions, type WalkStats } from './tree/walk.ts';
export { snapshot, canReuseHash, type SnapshotOptions, type SnapshotResult, type SnapshotStats } from './tree/snapshot.ts';
export {
  ManifestEncoder, encodeManifest, decodeManifest, verifyManifest, readManifestEntries,
  MANIFEST_MAGIC, MANIFEST_VERSION, type ManifestOptions,
} from './tree/manifest.ts';
export { saveManifest, loadManifest } from './tree/manifest-file.ts';
export { diffEntries, sameEntry, type TreeChange } from './tree/changes.ts';
export { openTree, type Tree, type TreeOptions } from './api/tree-source.ts';
export { changes, type ChangesOptions, type ChangesResult } from './api/changes.ts';
export { diff, type DiffOptions, type DiffResult } from './api/diff.ts';
export { writeLayer, layerTar, defaultXattrFilter, type LayerOptions, type LayerResult, type LayerSink } from './oci/layer-writer.ts';
export type { FileHasher, Sha256Factory, Sha256Stream } from './tree/defaults.ts';
export { LayerkitError, isLayerkitError, exitCodeOf, CODES, EXIT, type ErrorCode } from './errors.ts';
export type { MutableFsLike, WriteHandleLike } from './fs/types.ts';
export {
  applyLayers, INCOMPLETE_MARKER,
  type LayerSource, type ApplyOptions, type ApplyResult, type AppliedLayer, type ApplyWarning, type ApplyWarningKind,
} from './oci/apply.ts';
export { flattenLayers, type FlattenSource, type FlattenOptions, type FlattenResult } from './oci/flatten.ts';
export { memoryScratch, storeScratch, type Scratch, type ScratchFile } from './oci/scratch.ts';
export { DEFAULT_LIMITS, type TarLimits } from './tar/limits.ts';
export { readTar, type TarEntry } from './tar/reader.ts';
export { gzip, gzipStream, GZIP_CHUNK, inlineDeflatePool, type DeflatePool } from './oci/gzip.ts';
export { detectCompression, setDecompressor, decompressor, decompress, type DecompressFn } from './oci/decompress.ts';
export type { StoreFsLike, WritableFileLike } from './fs/store-types.ts';
export { memoryStoreFs } from './fs/memory-store.ts';
export {
  OciLayout, type ImageLayer, type ResolvedImage, type ImageListing, type AddLayerInput, type AddLayerOptions,
} from './oci/layout/layout.ts';
export { BlobStore } from './oci/layout/blobs.ts';
export type { Descriptor, Platform } from './oci/layout/descriptor.ts';
export { REF_NAME } from './oci/layout/index-file.ts';
export { chainIDs } from './oci/chain-id.ts';
export { dockerArchive, type DockerArchiveOptions } from './oci/docker-archive.ts';
export {
  initImageLayout, addLayerBlob, addLayerFromDiff, listImages, inspectImage, exportDockerArchive, unpackImage, flattenImage,
  type ImageSummary, type ImageDetails, type AddedLayer,
} from './api/image.ts';
export { openUnion, type OpenUnionOptions, type UnionLayerSource } from './union/open.ts';
export { UnionView, type UnionViewOptions } from './union/view.ts';
export { LowerTree, type LowerLayer, type LowerNode, type LowerStack, type IndexedLayer } from './union/lower.ts';
export { LowerTable, encodeLowerTable, type TableLayer } from './union/lower-table.ts';
export { commitView, viewChanges, type CommitOptions } from './union/commit.ts';
export {
  indexTar, bytesReader, uncompressedReader, memoryTarCache, fileTarCache,
  type TarIndex, type IndexedEntry, type RangedReader, type TarCache,
} from './union/tar-index.ts';
