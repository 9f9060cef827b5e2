// bench/union: a union view over a layer tar on disk against extracting it with GNU tar.
// The tar is made by GNU tar from a generated tree; the view indexes it (one pass), walks it,
// reads every file from the tar at its offsets, changes 1% of the files and commits a layer.
// Every result is checked (file count, bytes read, committed entries). Needs `npm run build`.
// Usage: node bench/union/run.mjs [FILES=20000] [FILE_KIB=4]
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openUnion, MemoryFs, commitView } from '../../dist/index.node.js';
import { nodeFs } from '../../dist/fs/node.js';

const [FILES = 20000, KIB = 4] = process.argv.slice(2).map(Number);
const work = mkdtempSync(join(tmpdir(), 'layerkit-bench-union-'));
const ms = (t) => `${(performance.now() - t).toFixed(0)} ms`;
try {
  const tree = join(work, 'tree');
  for (let d = 0; d < FILES / 100; d++) {
    mkdirSync(join(tree, `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(tree, `d${d}`, `f${f}`), Buffer.alloc(KIB * 1024, (d + f) & 255));
  }
  const tarPath = join(work, 'layer.tar');
  execFileSync('tar', ['--format=pax', '-C', tree, '-cf', tarPath, '.']);

  let t = performance.now();
  mkdirSync(join(work, 'x'));
  execFileSync('tar', ['-C', join(work, 'x'), '-xf', tarPath]);
  console.log(`GNU tar -x:               ${ms(t)}`);

  t = performance.now();
  const blob = await nodeFs.open(tarPath);
  const view = await openUnion({ layers: [{ blob }], upper: new MemoryFs(), upperRoot: '/' });
  console.log(`index + resolve (view):   ${ms(t)}  (${view.lower.size} names, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB)`);

  t = performance.now();
  let files = 0;
  let bytes = 0;
  const buf = new Uint8Array(KIB * 1024 + 1);
  for (const d of await view.readdir('/')) {
    for (const f of await view.readdir(`/${d}`)) {
      const st = await view.lstat(`/${d}/${f}`);
      const h = await view.open(`/${d}/${f}`);
      bytes += await h.read(buf, 0, buf.length, 0);
      await h.close();
      if (st.isFile()) files++;
    }
  }
  if (files !== FILES || bytes !== FILES * KIB * 1024) throw new Error(`walk read ${files} files, ${bytes} bytes`);
  console.log(`walk + read every file:   ${ms(t)}  (${files} files, ${(bytes / 2 ** 20).toFixed(0)} MiB)`);

  t = performance.now();
  for (let i = 0; i < FILES / 100; i++) await view.writeFile(`/d${i}/f0`, new TextEncoder().encode('changed'));
  for (let i = 0; i < FILES / 100; i++) await view.unlink(`/d${i}/f1`);
  console.log(`copy-up 1% + delete 1%:   ${ms(t)}`);
  t = performance.now();
  let size = 0;
  const r = await commitView(view, (c) => { size += c.length; });
  if (r.changes !== 2 * FILES / 100) throw new Error(`commit found ${r.changes} changes`);
  console.log(`commit:                   ${ms(t)}  (${r.changes} changes, ${size} bytes of tar)`);
  await blob.close();
} finally {
  rmSync(work, { recursive: true, force: true });
}
