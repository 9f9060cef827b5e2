/**
 * An image layer's temporary `unpack/...` snapshot carries its unpacking process (label
 * layerkit.unpack/owner): store check lists one whose process is gone as an orphan-unpack
 * leftover and --repair removes it; one whose process runs (this one) is left alone.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { checkStore } from '../../src/snapshot/check.ts';
import { sha256File } from '../../src/platform/store-node.ts';
import { UNPACK_OWNER_LABEL } from '../../src/snapshot/container-record.ts';
import { newStore } from './helpers.ts';

describe('store check: unpack snapshots of a killed unpack', () => {
  it('owner gone: orphan-unpack, removed by --repair; owner alive (or unknown): left alone', async () => {
    const { store, dispose } = await newStore();
    try {
      const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
      const self = store.port.self();
      await store.prepare('unpack/sha256:aa/1', undefined, { labels: { [UNPACK_OWNER_LABEL]: JSON.stringify({ ...self, pid: dead, start: undefined }) } });
      await store.prepare('unpack/sha256:bb/2', undefined, { labels: { [UNPACK_OWNER_LABEL]: JSON.stringify(self) } });
      await store.prepare('unpack/sha256:cc/3'); // made before owners were recorded: unknown, kept
      const r = await checkStore(store, { sha256File });
      expect(r.errors).toEqual([]);
      expect(r.leftovers.map((l) => [l.kind, l.message.includes(`process ${dead}`)])).toEqual([['orphan-unpack', true]]);
      const fixed = await checkStore(store, { sha256File, repair: true });
      expect(fixed.repaired).toBe(1);
      const after = await checkStore(store, { sha256File });
      expect(after.leftovers).toEqual([]);
      expect([...(await store.records()).live.keys()].sort()).toEqual(['unpack/sha256:bb/2', 'unpack/sha256:cc/3']);
    } finally {
      dispose();
    }
  });
});
