/**
 * Node platform wiring: node:crypto's SHA-256 (SHA-NI where the CPU has it) as the engine, and
 * Node compression and decompression (node:zlib gzip levels; zstd through node:zlib or the zstd
 * binary).
 */
import { createHash } from 'node:crypto';
import { setSha256Engine, type Sha256Engine } from '../hash/engines.ts';
import { setCompressor } from '../oci/compression.ts';
import { nodeCompress } from './compression-node.ts';
import { setDecompressor } from '../oci/decompression.ts';
import { nodeDecompress } from './decompression-node.ts';

export const nodeSha256Engine: Sha256Engine = {
  name: 'node:crypto',
  create() {
    const h = createHash('sha256');
    return {
      update(bytes: Uint8Array): void {
        h.update(bytes);
      },
      digest(): Uint8Array {
        return new Uint8Array(h.digest());
      },
    };
  },
};

setSha256Engine(nodeSha256Engine);
setCompressor(nodeCompress);
setDecompressor(nodeDecompress);
