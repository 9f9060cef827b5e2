/**
 * diff(OLD, NEW) packs NEW's files after comparing the trees; a file that changes in between, or
 * while its bytes are read, fails the diff with ERR_FILE_CHANGED (nothing reaches the sink's
 * close), instead of a layer whose tar header (mtime, mode, owner) and body come from two versions.
 * Writing a layer from entries of one's own (writeLayer without checkUnchanged) keeps them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '../../src/platform/node.ts';
import { nodeFs } from '../../src/fs/node.ts';
import type { FileHandleLike, FsLike } from '../../src/fs/types.ts';
import { diff } from '../../src/api/diff.ts';
import { writeLayer } from '../../src/oci/layer-writer.ts';
import { diffEntries } from '../../src/tree/changes.ts';
import type { Entry } from '../../src/tree/entry.ts';
import { collect, readTar, tempDir } from '../fixtures/tools.ts';

const tmp = tempDir('layerkit-diff-changed-');
afterAll(() => tmp.dispose());
let n = 0;

function trees(): { old: string; cur: string } {
  const old = join(tmp.path, `o${n}`);
  const cur = join(tmp.path, `n${n++}`);
  for (const d of [old, cur]) mkdirSync(d);
  writeFileSync(join(old, 'f'), 'old contents');
  utimesSync(join(old, 'f'), 1_600_000_000, 1_600_000_000);
  writeFileSync(join(cur, 'f'), 'new contents');
  utimesSync(join(cur, 'f'), 1_650_000_000.5, 1_650_000_000.5);
  return { old, cur };
}

async function run(fs: FsLike, old: string, cur: string, between?: () => void): Promise<{ closed: boolean; error?: unknown }> {
  const chunks: Uint8Array[] = [];
  let closed = false;
  const sink = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c), close: () => { closed = true; } });
  try {
    await diff(fs, old, cur, sink, { compression: 'none', onChanges: between });
    return { closed };
  } catch (error) {
    return { closed, error };
  }
}

describe('diff: a file that changes after the trees were compared', () => {
  it('rewritten (same size, new mtime) before it is packed: ERR_FILE_CHANGED naming it', async () => {
    const { old, cur } = trees();
    const r = await run(nodeFs, old, cur, () => writeFileSync(join(cur, 'f'), 'NEW contents'));
    expect(r.error).toMatchObject({ code: 'ERR_FILE_CHANGED', data: { path: 'f' }, message: expect.stringContaining('modified (before reading it') });
    expect(r.closed).toBe(false);
  });

  it('chmod before it is packed: ERR_FILE_CHANGED (the header would carry the old mode)', async () => {
    const { old, cur } = trees();
    const r = await run(nodeFs, old, cur, () => {
      chmodSync(join(cur, 'f'), 0o600);
    });
    expect(r.error).toMatchObject({ code: 'ERR_FILE_CHANGED', message: expect.stringContaining('mode or owner') });
  });

  it('rewritten while its bytes are read: ERR_FILE_CHANGED after the read', async () => {
    const { old, cur } = trees();
    let touched = false;
    const fs: FsLike = {
      ...nodeFs,
      async open(path: string): Promise<FileHandleLike> {
        const h = await nodeFs.open(path);
        return {
          async read(buf, off, len, pos) {
            const got = await h.read(buf, off, len, pos);
            if (path.endsWith('/f') && !touched) {
              touched = true;
              writeFileSync(path, 'NEW contents'); // same size; the mtime moves
            }
            return got;
          },
          close: () => h.close(),
        };
      },
    };
    const r = await run(fs, old, cur);
    expect(touched).toBe(true);
    expect(r.error).toMatchObject({ code: 'ERR_FILE_CHANGED', message: expect.stringContaining('after reading it') });
  });

  it('unchanged files: the diff goes through', async () => {
    const { old, cur } = trees();
    expect(await run(nodeFs, old, cur)).toEqual({ closed: true });
  });

  it('writeLayer with entries of its own (no checkUnchanged): their metadata goes into the header', async () => {
    const { cur } = trees();
    const e: Entry = { path: 'f', type: 'file', mode: 0o4755, uid: 7, gid: 8, size: 12, mtimeNs: 5_000_000_000n };
    const parts: Uint8Array[] = [];
    await writeLayer({ changes: diffEntries([], [e]), newEntries: [e], fs: nodeFs, root: cur, compression: 'none' }, (c) => void parts.push(c.slice()));
    const [entry] = await readTar(await collect((async function* () { yield* parts; })()));
    expect([entry!.header.name, entry!.header.mode, entry!.header.uid, entry!.header.mtime.getTime()]).toEqual(['f', 0o4755, 7, 5000]);
  });
});
