/**
 * Racy files (Entry.racy; git's "racily clean" entries): a file whose mtime was under a second old
 * when a walk looked at it can be rewritten in the same timestamp tick (Linux stamps files with a
 * coarse clock: writes ~4 ms apart get the same nanoseconds) without its mtime or size changing.
 * Such an mtime cannot vouch for the content, so comparisons read it. Each hazard is built by
 * giving both versions the same mtime with utimes, which is what a write in one tick does.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import '../../src/platform/node.ts';
import { nodeFs } from '../../src/fs/node.ts';
import { changes } from '../../src/api/changes.ts';
import { snapshot } from '../../src/tree/snapshot.ts';
import { saveManifest, loadManifest } from '../../src/tree/manifest-file.ts';
import { decodeManifest, encodeManifest } from '../../src/tree/manifest.ts';
import { isRacyMtime, RACY_WINDOW_NS, type Entry } from '../../src/tree/entry.ts';
import { tempDir } from '../fixtures/tools.ts';

const tmp = tempDir('layerkit-racy-');
afterAll(() => tmp.dispose());
let n = 0;
const fresh = (): string => {
  const d = join(tmp.path, `t${n++}`);
  mkdirSync(d);
  return d;
};

/** An mtime (seconds, microsecond precision, not a whole second) `ago` seconds in the past. */
function secondsAgo(ago: number): number {
  const t = Math.floor((Date.now() / 1000 - ago) * 1e6) / 1e6;
  return t % 1 === 0 ? t + 0.000123 : t;
}

function put(path: string, content: string, mtime: number): void {
  writeFileSync(path, content);
  utimesSync(path, mtime, mtime);
}

const lines = (list: { kind: string; path: string }[]) => list.map((c) => `${c.kind[0]!.toUpperCase()} ${c.path}`);

describe('racy files', () => {
  it('isRacyMtime: under RACY_WINDOW_NS before now, or in the future', () => {
    const now = 1_700_000_000_000_000_000n;
    expect(isRacyMtime(now, now)).toBe(true);
    expect(isRacyMtime(now - RACY_WINDOW_NS + 1n, now)).toBe(true);
    expect(isRacyMtime(now - RACY_WINDOW_NS, now)).toBe(false);
    expect(isRacyMtime(now + 5n, now)).toBe(true);
  });

  it('the walk marks a file written just now racy, an older one not; directories and links never', async () => {
    const d = fresh();
    put(join(d, 'new'), 'x', secondsAgo(0.2));
    put(join(d, 'old'), 'x', secondsAgo(3600));
    mkdirSync(join(d, 'dir'));
    const { entries } = await snapshot(nodeFs, d);
    const racy = Object.fromEntries(entries.map((e) => [e.path, e.racy === true]));
    expect(racy).toEqual({ '': false, dir: false, new: true, old: false });
  });

  it('a manifest keeps the racy mark of a file (and refuses it on anything else)', async () => {
    const f: Entry = { path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1, mtimeNs: 5n, racy: true, blake3: new Uint8Array(32) };
    const g: Entry = { ...f, path: 'g', racy: undefined };
    delete g.racy;
    const bytes = await encodeManifest([f, g]);
    const back = await decodeManifest(bytes);
    expect(back.map((e) => [e.path, e.racy === true])).toEqual([['f', true], ['g', false]]);
    // a symlink with the racy bit (set by hand in its record) is corrupt, not silently accepted
    const l: Entry = { path: 'l', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtimeNs: 5n, linkname: 'f' };
    const lb = (await encodeManifest([l])).slice();
    lb[16 + 1] |= 8;
    // the checksum trailer made right again, so the record itself is what gets refused
    lb.set(createHash('sha256').update(lb.subarray(0, lb.length - 32)).digest(), lb.length - 32);
    await expect(decodeManifest(lb)).rejects.toMatchObject({ code: 'ERR_MANIFEST_CORRUPT', message: expect.stringContaining('racy but not a regular file') });
  });

  it('snapshot, then a rewrite in the same tick (same size, same mtime): found, because the snapshot saw the file racy', async () => {
    const d = fresh();
    const t = secondsAgo(0.2);
    put(join(d, 'f'), 'aaaa', t);
    put(join(d, 'keep'), 'same', t);
    const snap = join(tmp.path, `s${n++}.snap`);
    await saveManifest(nodeFs, snap, (await snapshot(nodeFs, d)).entries);
    expect((await loadManifest(nodeFs, snap)).find((e) => e.path === 'f')!.racy).toBe(true);
    put(join(d, 'f'), 'bbbb', t);
    const r = await changes(nodeFs, snap, d);
    expect(lines(r.changes)).toEqual(['M f']);
    expect(r.hashed).toBe(2); // f and keep were read; keep is unchanged and not listed
  });

  it('the same rewrite of a file last written an hour before the snapshot is not seen: its mtime vouches (as containerd and rsync)', async () => {
    const d = fresh();
    const t = secondsAgo(3600);
    put(join(d, 'f'), 'aaaa', t);
    const snap = join(tmp.path, `s${n++}.snap`);
    await saveManifest(nodeFs, snap, (await snapshot(nodeFs, d)).entries);
    // a rewrite that keeps an hour-old mtime is not a write in the same tick: it takes a utimes
    put(join(d, 'f'), 'bbbb', t);
    const r = await changes(nodeFs, snap, d);
    expect(lines(r.changes)).toEqual([]);
    expect(r.hashed).toBe(0);
  });

  it('two trees whose files were written in the same tick just now: contents compared', async () => {
    const a = fresh();
    const b = fresh();
    const t = secondsAgo(0.1);
    put(join(a, 'f'), '1', t);
    put(join(b, 'f'), '2', t);
    put(join(a, 'g'), 'same', t);
    put(join(b, 'g'), 'same', t);
    const r = await changes(nodeFs, a, b);
    expect(lines(r.changes)).toEqual(['M f']);
  });

  it('re-snapshotting with a previous snapshot re-hashes a file that was racy then, and reuses the rest', async () => {
    const d = fresh();
    put(join(d, 'recent'), 'r', secondsAgo(0.2));
    put(join(d, 'old'), 'o', secondsAgo(3600));
    const first = await snapshot(nodeFs, d);
    const again = await snapshot(nodeFs, d, { previous: first.entries });
    expect(again.stats.reused).toBe(1);
    expect(again.stats.hashed).toBe(1);
  });
});
