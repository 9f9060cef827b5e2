/**
 * index.json is read, changed and replaced under index.json.lock (src/oci/layout/layout.ts,
 * src/fs/lock-file.ts): concurrent taggers, in one process and in several `layerkit` processes,
 * all keep their tags; a lock left by a dead process is broken; a live holder is waited for, then
 * ERR_LAYOUT_LOCKED (exit 4) names it. No lock file is left behind. (Without the lock the
 * in-process test loses tags every time; the processes' windows rarely overlap, so theirs is a
 * proof that the lock works across processes, not that it is needed.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '../../src/platform/node.ts';
import { nodeStoreFs } from '../../src/fs/node-store.ts';
import { nodeLockPort } from '../../src/fs/node-lock.ts';
import { acquireLock } from '../../src/fs/lock-file.ts';
import { INDEX_LOCK, OciLayout } from '../../src/oci/layout/layout.ts';
import { encodeJson } from '../../src/oci/layout/index-file.ts';
import { tempDir } from '../fixtures/tools.ts';

const tmp = tempDir('layerkit-index-lock-');
afterAll(() => tmp.dispose());
const CLI = join(import.meta.dirname, '../../bin/layerkit.js');
let n = 0;

async function layoutWithBlob(): Promise<{ root: string; layout: OciLayout; desc: { mediaType: string; digest: string; size: number } }> {
  const root = join(tmp.path, `l${n++}`);
  const layout = await OciLayout.init(nodeStoreFs, root);
  const desc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...(await layout.blobs.put(encodeJson({ schemaVersion: 2 }))) };
  return { root, layout, desc };
}

const tags = async (layout: OciLayout) => (await layout.list()).map((x) => x.tag).sort();

describe('image layout index lock', () => {
  it('40 concurrent tag() calls in one process: every tag is in index.json, no lock file left', async () => {
    const { root, layout, desc } = await layoutWithBlob();
    const want = Array.from({ length: 40 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    await Promise.all(want.map((t) => layout.tag(t, desc)));
    expect(await tags(layout)).toEqual(want);
    expect(readdirSync(root).filter((f) => f.includes('lock'))).toEqual([]);
  });

  it('6 layerkit processes adding layers to one layout at once: all 6 tags land', async () => {
    const root = join(tmp.path, `l${n++}`);
    expect(spawnSync(process.execPath, [CLI, 'image', 'init', root]).status).toBe(0);
    const src = join(tmp.path, `src${n++}`);
    mkdirSync(src);
    writeFileSync(join(src, 'f'), 'x');
    const empty = join(tmp.path, `empty${n++}`);
    mkdirSync(empty);
    const runs = Array.from({ length: 6 }, (_, i) => new Promise<number>((resolve) => {
      const c = spawn(process.execPath, [CLI, 'image', 'add-layer', '-q', `${root}:p${i}`, '--diff', empty, src], { stdio: 'ignore' });
      c.on('close', (code) => resolve(code ?? -1));
    }));
    expect(await Promise.all(runs)).toEqual([0, 0, 0, 0, 0, 0]);
    const layout = await OciLayout.open(nodeStoreFs, root);
    expect(await tags(layout)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
    expect(existsSync(join(root, INDEX_LOCK))).toBe(false);
  });

  it('a lock left by a dead process is broken; a live holder is waited for, then ERR_LAYOUT_LOCKED', async () => {
    const { root, layout, desc } = await layoutWithBlob();
    // a process that has exited: its pid is free (or reused with another start time)
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(root, INDEX_LOCK), JSON.stringify({ pid: Number(dead.stdout), host: nodeLockPort.self().host, op: 'tag x', acquired: new Date().toISOString() }));
    await layout.tag('after-stale', desc);
    expect(await tags(layout)).toEqual(['after-stale']);
    expect(existsSync(join(root, INDEX_LOCK))).toBe(false);

    const held = await acquireLock(nodeLockPort, join(root, INDEX_LOCK), 'test holds it', 1000);
    try {
      const quick = await OciLayout.open(nodeStoreFs, root, { lockTimeoutMs: 200 });
      await expect(quick.tag('blocked', desc)).rejects.toMatchObject({ code: 'ERR_LAYOUT_LOCKED', message: expect.stringContaining('test holds it') });
      // the CLI waits too (30 s by default); released meanwhile, it goes on
      const later = layout.tag('waited', desc);
      await new Promise((r) => setTimeout(r, 100));
      await held.release();
      await later;
    } finally {
      await held.release();
    }
    expect(await tags(layout)).toEqual(['after-stale', 'waited']);
  });
});
