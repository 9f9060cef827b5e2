/**
 * The package entry as a build tool imports it (dist/index.node.js, what `import ... from
 * 'layerkit'` resolves to in Node): the main job's functions are there, a diff through the library
 * gives the layer the CLI gives for the same trees (same digest), and the image functions take it
 * from there.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { tempDir } from '../fixtures/tools.ts';

const tmp = tempDir('layerkit-library-');
afterAll(() => tmp.dispose());
const ROOT = join(import.meta.dirname, '../..');

describe('the package entry (dist/index.node.js)', () => {
  it('exports the main job: snapshot, changes, diff, writeLayer, apply, flatten, image layouts, containers', async () => {
    const lk = await import(join(ROOT, 'dist/index.node.js'));
    const fns = ['snapshot', 'saveManifest', 'changes', 'diff', 'writeLayer', 'layerTar', 'applyLayers', 'flattenLayers',
      'initImageLayout', 'addLayerFromDiff', 'unpackImage', 'flattenImage', 'openStore', 'createContainer', 'commitContainer'];
    expect(fns.filter((n) => typeof lk[n] !== 'function')).toEqual([]);
    expect(typeof lk.nodeFs.lstat).toBe('function');
  });

  it('diff through the library = `layerkit diff` (same digest); add-layer and unpack take it from there', async () => {
    const lk = await import(join(ROOT, 'dist/index.node.js'));
    const [empty, old, cur] = ['empty', 'old', 'new'].map((d) => join(tmp.path, d));
    mkdirSync(empty);
    for (const d of [old, cur]) mkdirSync(join(d, 'etc'), { recursive: true });
    writeFileSync(join(old, 'etc/conf'), 'a=1\n');
    writeFileSync(join(cur, 'etc/conf'), 'a=2\n');
    writeFileSync(join(cur, 'etc/new'), 'new\n');
    // fixed times (reproducible digests); the changed file gets another mtime, as a write would give it
    for (const p of [join(old, 'etc/conf'), join(cur, 'etc/new')]) utimesSync(p, 1_700_000_000, 1_700_000_000.25);
    utimesSync(join(cur, 'etc/conf'), 1_700_000_100, 1_700_000_100.5);

    const parts: Uint8Array[] = [];
    const r = await lk.diff(lk.nodeFs, old, cur, (c: Uint8Array) => void parts.push(c.slice()), { compression: 'gzip' });
    expect(r.digest).toBe(`sha256:${createHash('sha256').update(Buffer.concat(parts)).digest('hex')}`);
    expect(r.changes).toEqual({ added: 1, changed: 1, deleted: 0 });
    const cli = execFileSync(process.execPath, [join(ROOT, 'bin/layerkit.js'), 'diff', '-q', old, cur, '-o', join(tmp.path, 'cli.tar.gz')], { encoding: 'utf8' }).trim();
    expect(cli).toBe(r.digest);

    const layout = join(tmp.path, 'layout');
    await lk.initImageLayout(lk.nodeStoreFs, layout);
    await lk.addLayerFromDiff(lk.nodeStoreFs, layout, 'base', lk.nodeFs, empty, old);
    await lk.addLayerFromDiff(lk.nodeStoreFs, layout, 'v2', lk.nodeFs, old, cur, { base: 'base' });
    const target = join(tmp.path, 'rootfs');
    mkdirSync(target);
    await lk.unpackImage(lk.nodeStoreFs, layout, 'v2', target, { fs: lk.nodeFs });
    expect(readFileSync(join(target, 'etc/conf'), 'utf8')).toBe('a=2\n');
    expect(readFileSync(join(target, 'etc/new'), 'utf8')).toBe('new\n');
  });
});
