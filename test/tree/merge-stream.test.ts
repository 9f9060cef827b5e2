// Streaming change detection (mergeEntryStreams): round by round, with the WASM merge per round,
// it gives exactly diffEntries' answer for the whole lists, whatever the round size; and the
// streaming manifest reader/writer agree with the in-memory codec on large manifests.
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mutate, prng, randomTree, sorted } from '../fixtures/random-trees.ts';
import { diffEntries, mergeChanges } from '../../src/tree/changes.ts';
import { mergeChangesKernel } from '../../src/tree/merge-kernel.ts';
import { diffEntryStreams, mergeEntryStreams } from '../../src/tree/merge-stream.ts';
import type { Entry } from '../../src/tree/entry.ts';
import { MemoryFs } from '../../src/fs/memory.ts';
import { nodeFs } from '../../src/fs/node.ts';
import { encodeManifest } from '../../src/tree/manifest.ts';
import { loadManifest, readManifestFile, saveManifest } from '../../src/tree/manifest-file.ts';
import { dir as dirE, file as fileE, tree } from '../fixtures/entries.ts';
import { nodeSha256, tempDir } from './fixtures.ts';

async function* slowly(entries: Entry[]): AsyncGenerator<Entry> {
  for (const e of entries) {
    if (Math.random() < 0.05) await new Promise((r) => setTimeout(r, 0));
    yield e;
  }
}

describe('mergeEntryStreams == diffEntries', () => {
  it('agrees on random tree pairs for any round size, with the kernel and the reference', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 0, max: 80 }), fc.integer({ min: 1, max: 9 }),
      async (seed, n, batch) => {
        const rnd = prng(seed);
        const a = sorted(randomTree(rnd, n));
        const b = sorted(mutate(randomTree(prng(seed), n), rnd));
        const want = diffEntries(a, b);
        expect(await diffEntryStreams(a, b, { batch, merge: mergeChangesKernel })).toEqual(want);
        expect(await diffEntryStreams(slowly(a), slowly(b), { batch, merge: mergeChanges })).toEqual(want);
      },
    ), { numRuns: 300 });
  });

  it('drops a deleted directory\'s subtree that spans many rounds', async () => {
    const kids = Array.from({ length: 50 }, (_, i) => fileE(`d/f${String(i).padStart(2, '0')}`));
    const old = tree(dirE('d'), ...kids, fileE('e'), fileE('z'));
    const cur = tree(fileE('e'), fileE('z', { mode: 0o600 }));
    const rounds: string[][] = [];
    for await (const r of mergeEntryStreams(old, cur, { batch: 3, merge: mergeChangesKernel })) rounds.push(r.map((c) => `${c.kind} ${c.path}`));
    expect(rounds.flat()).toEqual(['delete d', 'modify z']);
    // A directory replaced by a file, its subtree spanning rounds.
    const cur2 = tree(fileE('d'), fileE('e'), fileE('z'));
    expect((await diffEntryStreams(old, cur2, { batch: 4, merge: mergeChangesKernel })).map((c) => `${c.kind} ${c.path}`))
      .toEqual(['modify d']);
    expect(await diffEntryStreams(old, cur2, { batch: 4 })).toEqual(diffEntries(old, cur2));
  });

  it('refuses unsorted input, like diffEntries', async () => {
    const bad = [dirE(''), fileE('b'), fileE('a')];
    await expect(diffEntryStreams(bad, tree())).rejects.toThrow(/old entries are not sorted: "b" before "a"/);
    await expect(diffEntryStreams(tree(), bad)).rejects.toThrow(/new entries are not sorted/);
  });

  it('hands each round to refine and reports every entry to the taps', async () => {
    const rnd = prng(3);
    const a = sorted(randomTree(rnd, 200));
    const b = sorted(mutate(randomTree(prng(3), 200), rnd));
    const seen = { old: 0, new: 0 };
    const got = await diffEntryStreams(a, b, {
      batch: 16,
      merge: mergeChangesKernel,
      onOld: () => seen.old++,
      onNew: () => seen.new++,
      refine: (r) => r.filter((c) => c.kind !== 'add'),
    });
    expect(got).toEqual(diffEntries(a, b).filter((c) => c.kind !== 'add'));
    expect(seen).toEqual({ old: a.length, new: b.length });
  });
});

describe('streaming manifests', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    while (cleanups.length) cleanups.pop()!();
  });
  const opts = { sha256: nodeSha256 };

  /** Enough entries (with long paths, links and hashes) for a manifest of several MiB. */
  function bigTree(n: number): Entry[] {
    const out: Entry[] = [dirE('')];
    const pad = 'p'.repeat(120);
    for (let d = 0; d < n / 100; d++) {
      const dp = `dir-${String(d).padStart(5, '0')}-${pad}`;
      out.push(dirE(dp));
      for (let i = 0; i < 100; i++) {
        const e = fileE(`${dp}/file-${String(i).padStart(3, '0')}`, { size: i, blake3: new Uint8Array(32).fill(i) });
        if (i % 7 === 0) (e as Entry).xattrs = { 'user.k': new Uint8Array([i, d & 255]) };
        out.push(e);
      }
    }
    return out;
  }

  it('saves through writeFileStream and reads back window by window (records straddling windows)', async () => {
    const entries = bigTree(30000);
    const t = tempDir();
    cleanups.push(t.cleanup);
    const path = `${t.path}/big.lksnap`;
    await saveManifest(nodeFs, path, slowly(entries), opts);
    const { readFileSync } = await import('node:fs');
    const bytes = readFileSync(path);
    expect(bytes.length).toBeGreaterThan(2 << 20);
    expect(new Uint8Array(bytes)).toEqual(await encodeManifest(entries, opts));
    expect(await loadManifest(nodeFs, path, opts)).toStrictEqual(entries);
  });

  it('without writeFileStream, saves the same bytes through writeFile', async () => {
    const entries = bigTree(3000);
    const fs = new MemoryFs();
    await saveManifest(fs, '/m', entries, opts);
    const fh = await fs.open('/m');
    const st = await fs.lstat('/m');
    const got = new Uint8Array(st.size);
    await fh.read(got, 0, st.size, 0);
    expect(got).toEqual(await encodeManifest(entries, opts));
  });

  it('yields nothing from a file whose checksum does not match, and names the file', async () => {
    const entries = bigTree(20000);
    const bytes = await encodeManifest(entries, opts);
    bytes[bytes.length >> 1] ^= 1;
    const fs = new MemoryFs();
    await fs.writeFile('/bad', bytes);
    let n = 0;
    const err = await (async () => {
      try {
        for await (const _ of readManifestFile(fs, '/bad', opts)) n++;
      } catch (e) {
        return e as { code: string; message: string };
      }
      throw new Error('no error');
    })();
    expect(n).toBe(0);
    expect(err.code).toBe('ERR_MANIFEST_CORRUPT');
    expect(err.message).toMatch(/^load manifest \/bad: snapshot manifest is corrupt: checksum mismatch/);
  });
});
