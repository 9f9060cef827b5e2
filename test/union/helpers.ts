/** Union views for tests: lower layers from tar items or the fs-suite fixture, uppers on memory or a temp dir. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { packTar, type TarItem } from '../../src/tar/writer.ts';
import { nodeFs } from '../../src/fs/node.ts';
import { MemoryFs } from '../../src/fs/memory.ts';
import type { MutableFsLike } from '../../src/fs/types.ts';
import { bytesReader, memoryTarCache } from '../../src/union/tar-index.ts';
import { openUnion } from '../../src/union/open.ts';
import type { UnionView } from '../../src/union/view.ts';
import { collect, tempDir } from '../fixtures/tools.ts';
import { D, F, S, W } from '../apply/helpers.ts';
import { FIXTURE, T } from '../fs/fs-suite.ts';

export async function tarOf(items: TarItem[]): Promise<Uint8Array> {
  return collect(packTar(items));
}

export interface UpperSite {
  fs: MutableFsLike;
  root: string;
  dispose(): void;
}

export function memoryUpper(): UpperSite {
  return { fs: new MemoryFs(), root: '/', dispose() {} };
}

export function nodeUpper(): UpperSite {
  const t = tempDir('layerkit-union-');
  const root = join(t.path, 'upper');
  mkdirSync(root);
  return { fs: nodeFs, root, dispose: t.dispose };
}

/** Small pages, so that lookups and directory listings cross page boundaries. */
export const TEST_PAGE_BYTES = 160;

/** A view over `layers`; `lower: 'table'` resolves the stack into a lower table (lower-table.ts) in memory and reads names from it. */
export async function viewOf(layers: Uint8Array[], upper: UpperSite = memoryUpper(), lower: 'tree' | 'table' = 'tree'): Promise<UnionView> {
  return openUnion({
    layers: layers.map((b, i) => ({ blob: bytesReader(b), name: `L${i}` })), upper: upper.fs, upperRoot: upper.root,
    ...(lower === 'table' ? { lowerCache: memoryTarCache, lowerPageBytes: TEST_PAGE_BYTES } : {}),
  });
}

const S_T = Number(T / 1_000_000_000n);

/**
 * The fs-suite fixture spread over three layers, with stack work to resolve: `top` written twice,
 * a name whited out, a directory made opaque (its old child hidden), a/sub's files split.
 */
export async function fixtureLayers(): Promise<Uint8Array[]> {
  const h = { mtime: S_T };
  const byPath = new Map(FIXTURE.map((i) => [i.path, i]));
  const item = (p: string): TarItem => {
    const it = byPath.get(p)!;
    if (it.type === 'dir') return D(p, { ...h, mode: it.mode });
    if (it.type === 'file') return F(p, it.content, { ...h, mode: it.mode });
    return S(p, it.target, h);
  };
  return [
    await tarOf([D('a', h), F('a/old', 'hidden later', h), item('a/f1'), F('gone', 'x', h), F('top', 'old top', h), D('c', h), F('c/x', 'x', h)]),
    await tarOf([item('a'), W('a/.wh..wh..opq'), item('a/f1'), item('a/sub'), item('a/sub/f2'), item('b'), W('.wh.gone'), W('c/.wh.x')]),
    await tarOf([item('top'), item('c')]),
  ];
}
