/** The shared fs suite (fs-suite.ts) on the node adapter, MemoryFs and the union view. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { nodeFs } from '../../src/fs/node.ts';
import { MemoryFs } from '../../src/fs/memory.ts';
import { tempDir } from '../fixtures/tools.ts';
import { buildFixture, fsSuite } from './fs-suite.ts';
import { fixtureLayers, memoryUpper, nodeUpper, viewOf } from '../union/helpers.ts';

fsSuite('node adapter (temp dir)', async () => {
  const t = tempDir('layerkit-fs-suite-');
  const root = join(t.path, 'root');
  mkdirSync(root);
  await buildFixture(nodeFs, root);
  return { fs: nodeFs, root, dispose: t.dispose };
});

fsSuite('MemoryFs', async () => {
  const fs = new MemoryFs();
  await fs.mkdir('/root');
  await buildFixture(fs, '/root');
  return { fs, root: '/root', dispose() {} };
});

fsSuite('union view: no lowers, fixture in a MemoryFs upper', async () => {
  const view = await viewOf([]);
  await buildFixture(view, '');
  return { fs: view, root: '', dispose() {} };
});

fsSuite('union view: fixture in three lower tars, MemoryFs upper', async () => {
  const view = await viewOf(await fixtureLayers(), memoryUpper());
  return { fs: view, root: '', dispose() {} };
});

fsSuite('union view: fixture in three lower tars, node directory upper', async () => {
  const upper = nodeUpper();
  const view = await viewOf(await fixtureLayers(), upper);
  return { fs: view, root: '', dispose: upper.dispose };
});

fsSuite('union view: fixture in three lower tars read through a lower table, MemoryFs upper', async () => {
  const view = await viewOf(await fixtureLayers(), memoryUpper(), 'table');
  return { fs: view, root: '', dispose() {} };
});
