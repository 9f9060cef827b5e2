// bench/snapshots: N active snapshots ("containers") prepared from one committed tree, against
// N `cp -a` copies of the same tree. Disk measured with `du -s` (each inode once) on the
// directories that hold them; times are wall clock. Needs `npm run build`.
// Usage: node bench/snapshots/run.mjs [N=100] [FILES=1000] [FILE_KIB=10]
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../dist/index.node.js';

const [N = 100, FILES = 1000, KIB = 10] = process.argv.slice(2).map(Number);
const work = mkdtempSync(join(tmpdir(), 'layerkit-bench-snap-'));
const du = (p) => Number(execFileSync('du', ['-s', '-B1', p], { encoding: 'utf8' }).split('\t')[0]);
try {
  const store = await openStore(join(work, 'store'));
  const img = await store.prepare('img');
  for (let d = 0; d < FILES / 100; d++) {
    mkdirSync(join(img.path, `d${d}`));
    for (let f = 0; f < 100; f++) writeFileSync(join(img.path, `d${d}`, `f${f}`), Buffer.alloc(KIB * 1024, (d * 100 + f) & 255));
  }
  let t = performance.now();
  const c = await store.commit('image', 'img');
  const commitMs = performance.now() - t;
  const treeBytes = du(c.path);

  t = performance.now();
  for (let i = 0; i < N; i++) await store.prepare(`ctr${i}`, 'image');
  const prepareMs = performance.now() - t;
  const storeTrees = du(store.snapshotsDir);
  let own = 0;
  for (let i = 0; i < N; i++) own += (await store.usage(`ctr${i}`)).size;

  const copies = join(work, 'copies');
  mkdirSync(copies);
  t = performance.now();
  for (let i = 0; i < N; i++) execFileSync('cp', ['-a', c.path, join(copies, `ctr${i}`)]);
  const cpMs = performance.now() - t;
  const cpBytes = du(copies);

  const mib = (b) => (b / 1048576).toFixed(1);
  console.log(`tree: ${FILES} files of ${KIB} KiB in ${FILES / 100} dirs, ${mib(treeBytes)} MiB on disk; store method ${store.config.materialize.active}`);
  console.log(`commit of the image: ${commitMs.toFixed(0)} ms (layer ${(c.blob.size / 1024).toFixed(1)} KiB gzip)`);
  console.log(`${N} x prepare: ${prepareMs.toFixed(0)} ms (${(prepareMs / N).toFixed(1)} ms each); all trees (image + ${N}) ${mib(storeTrees)} MiB; the actives' own usage ${mib(own)} MiB`);
  console.log(`${N} x cp -a:    ${cpMs.toFixed(0)} ms (${(cpMs / N).toFixed(1)} ms each); ${mib(cpBytes)} MiB`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
