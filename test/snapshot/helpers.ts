/** Shared helpers for the snapshot store suites: a store in a temp dir, layer blobs read back. */
import { readFileSync, readdirSync, lstatSync, readlinkSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import '../../src/platform/node.ts';
import { openStore } from '../../src/platform/store-node.ts';
import type { OpenStoreOptions } from '../../src/snapshot/store.ts';
import { tempDir, readTar } from '../fixtures/tools.ts';

export async function newStore(options: OpenStoreOptions = {}) {
  const dir = tempDir('layerkit-store-');
  const store = await openStore(`${dir.path}/store`, options);
  return { store, dir: dir.path, dispose: dir.dispose };
}

/** The entries of a committed snapshot's layer blob: name -> body text ('' for non-files). */
export async function layerEntries(store: Awaited<ReturnType<typeof openStore>>, key: string) {
  const info = await store.stat(key);
  const bytes = readFileSync(store.blobPath(info.blob!.digest));
  const tar = info.blob!.mediaType.endsWith('gzip') ? gunzipSync(bytes) : bytes;
  return readTar(tar);
}

/** A tree as a sorted map: path -> "type mode uid:gid content-or-target". */
export function treeOf(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(rel ? `${root}/${rel}` : root).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const st = lstatSync(`${root}/${p}`);
      const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isDirectory()) {
        out[p] = `dir ${meta}`;
        walk(p);
      } else if (st.isSymbolicLink()) out[p] = `link ${meta} ${readlinkSync(`${root}/${p}`)}`;
      else out[p] = `file ${meta} ${readFileSync(`${root}/${p}`, 'utf8')}`;
    }
  };
  walk('');
  return out;
}
