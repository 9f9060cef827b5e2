// bench/snapshots/containers.mjs: N containers from a Debian minbase image, a little written in
// each, one committed; beside full copies (`cp -a` of the materialised image) and `umoci unpack`
// per container. Disk is `du -s -B1` (each inode once) on the directories that hold the trees;
// times are wall clock, in-process API calls (no CLI start-up) except the image build and umoci.
// Needs `npm run build`, the Debian corpus (bench/make-debian-corpus.sh) and umoci.
// Union containers (--union 1, default): N more on the same image, in a second store: create
// (record + empty upper), the first open (fills the shared layer cache: decompress + index, and
// writes the image's lower table), a later open (cache hit: the lower table opened), the same
// writes, commit of one.
// Usage: node bench/snapshots/containers.mjs [--base DIR (default bench/.cache/debian/base, or $DEBIAN_BASE)] [--n 100] [--copies 5] [--umoci 3] [--union 1]
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  openStore, openWriter, nodeFs, nodeStoreFs, createContainer, commitContainer, getContainer,
  createUnionContainer, openUnionContainer, openUnionWriter, commitUnionContainer, unionCacheDir,
} from '../../dist/index.node.js';

const { values } = parseArgs({
  options: {
    base: { type: 'string', default: process.env.DEBIAN_BASE ?? new URL('../.cache/debian/base', import.meta.url).pathname },
    n: { type: 'string', default: '100' },
    copies: { type: 'string', default: '5' },
    umoci: { type: 'string', default: '3' },
    union: { type: 'string', default: '1' },
  },
});
const N = Number(values.n);
const COPIES = Number(values.copies);
const UMOCI = Number(values.umoci);
const BASE = values.base;
const bin = new URL('../../bin/layerkit.js', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'layerkit-bench-ctr-'));
const du = (p) => Number(execFileSync('du', ['-s', '-B1', p], { encoding: 'utf8' }).split('\t')[0]);
const files = (p) => Number(execFileSync('sh', ['-c', 'find "$1" | wc -l', 'sh', p], { encoding: 'utf8' }).trim());
const mib = (b) => (b / 1048576).toFixed(1);
const ms = (t) => `${t.toFixed(0)} ms`;
const now = () => performance.now();
const rows = [];
const row = (what, time, disk, note = '') => rows.push(`| ${what} | ${time} | ${disk} | ${note} |`);

try {
  const layout = join(work, 'layout');
  const empty = join(work, 'empty');
  mkdirSync(empty);
  execFileSync(process.execPath, [bin, 'image', 'init', layout]);
  let t = now();
  execFileSync(process.execPath, [bin, 'image', 'add-layer', '-q', `${layout}:base`, '--diff', empty, BASE]);
  const imageMs = now() - t;
  // A small image for the second commit: the base's /etc only.
  const small = join(work, 'small');
  mkdirSync(small);
  execFileSync('cp', ['-a', join(BASE, 'etc'), join(small, 'etc')]);
  execFileSync(process.execPath, [bin, 'image', 'add-layer', '-q', `${layout}:small`, '--diff', empty, small]);

  const store = await openStore(join(work, 'store'));
  const ports = { layoutFs: nodeStoreFs, treeFs: nodeFs };
  const baseFiles = files(BASE);
  const baseBytes = du(BASE);

  // The first container unpacks the image into its chain snapshot.
  t = now();
  await createContainer(store, ports, layout, 'base', { name: 'first' });
  const unpackMs = now() - t;
  const imageTree = (await store.stat((await getContainer(store, 'first')).image.chainID)).path;
  const blobs0 = du(store.blobsDir);
  const trees0 = du(store.snapshotsDir);

  // N more on the materialised image, then a little written in each (through the writer).
  const createTimes = [];
  t = now();
  for (let i = 0; i < N; i++) {
    const t1 = now();
    await createContainer(store, ports, layout, 'base', { name: `c${i}` });
    createTimes.push(now() - t1);
  }
  const createMs = now() - t;
  t = now();
  for (let i = 0; i < N; i++) {
    const w = await openWriter(store, `container/c${i}`);
    await w.writeFile('etc/hostname', `c${i}\n`);
    await w.writeFile(`root/note-${i}.txt`, 'x'.repeat(4096));
    await w.remove('etc/motd').catch(() => {});
  }
  const writeMs = now() - t;
  const trees1 = du(store.snapshotsDir);
  let own = 0;
  for (let i = 0; i < N; i++) own += (await store.usage(`container/c${i}`)).size;

  // Commit one (on the Debian image), and the same change on the small image.
  t = now();
  const big = await commitContainer(store, ports, 'c0', layout, 'c0');
  const commitMs = now() - t;
  await createContainer(store, ports, layout, 'small', { name: 's0' });
  const ws = await openWriter(store, 'container/s0');
  await ws.writeFile('etc/hostname', 'c0\n');
  await ws.writeFile('etc/note-0.txt', 'x'.repeat(4096));
  t = now();
  const sm = await commitContainer(store, ports, 's0', layout, 's0');
  const commitSmallMs = now() - t;
  const smallFiles = files(small);

  // Full copies of the materialised image.
  const copies = join(work, 'copies');
  mkdirSync(copies);
  const cpTimes = [];
  for (let i = 0; i < COPIES; i++) {
    const t1 = now();
    execFileSync('cp', ['-a', imageTree, join(copies, `c${i}`)]);
    cpTimes.push(now() - t1);
  }
  const cpBytes = du(copies) / COPIES;
  // umoci unpack per container (from the same layout).
  const um = join(work, 'umoci');
  mkdirSync(um);
  const umociTimes = [];
  for (let i = 0; i < UMOCI; i++) {
    const t1 = now();
    execFileSync('umoci', ['unpack', '--image', `${layout}:base`, join(um, `b${i}`)], { stdio: 'ignore' });
    umociTimes.push(now() - t1);
  }
  const umociBytes = UMOCI ? du(um) / UMOCI : 0;

  const avg = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  // Union containers, in their own store (no snapshots): the same image, the same writes.
  const urows = [];
  const urow = (what, time, disk, note = '') => urows.push(`| ${what} | ${time} | ${disk} | ${note} |`);
  let uCreateAvg = 0;
  if (values.union !== '0') {
    const ustore = await openStore(join(work, 'ustore'));
    const uports = { layoutFs: nodeStoreFs, treeFs: nodeFs };
    const littleWrites = async (w, i) => {
      await w.writeFile('etc/hostname', `u${i}\n`);
      await w.writeFile(`root/note-${i}.txt`, 'x'.repeat(4096));
      await w.remove('etc/motd').catch(() => {});
    };
    t = now();
    await createUnionContainer(ustore, uports, layout, 'base', { name: 'u-first' });
    const uFirstCreate = now() - t;
    t = now();
    const first = await openUnionContainer(ustore, uports, 'u-first');
    const uFirstOpen = now() - t;
    const filled = first.layers.join(',');
    const lowerNames = first.view.lower.size;
    await first.close();
    t = now();
    const again = await openUnionContainer(ustore, uports, 'u-first');
    const uOpen = now() - t;
    if (again.layers.join() !== 'hit') throw new Error(`second open: ${again.layers.join()}`);
    await again.close();
    const cacheBytes = du(unionCacheDir(ustore));
    const uTimes = [];
    t = now();
    for (let i = 0; i < N; i++) {
      const t1 = now();
      await createUnionContainer(ustore, uports, layout, 'base', { name: `u${i}` });
      uTimes.push(now() - t1);
    }
    const uCreateMs = now() - t;
    uCreateAvg = avg(uTimes);
    t = now();
    for (let i = 0; i < N; i++) {
      const w = await openUnionWriter(ustore, uports, `u${i}`);
      await littleWrites(w, i);
      await w.close();
    }
    const uWriteMs = now() - t;
    const uppers = du(join(ustore.root, 'union/containers'));
    t = now();
    const ubig = await commitUnionContainer(ustore, uports, 'u0', layout, 'u0');
    const uCommitMs = now() - t;
    if (ubig.changes.added + ubig.changes.changed + ubig.changes.deleted !== big.changes.added + big.changes.changed + big.changes.deleted) {
      throw new Error(`union commit: ${JSON.stringify(ubig.changes)}, farm: ${JSON.stringify(big.changes)}`);
    }
    await createUnionContainer(ustore, uports, layout, 'small', { name: 'us0' });
    const wsm = await openUnionWriter(ustore, uports, 'us0');
    await wsm.writeFile('etc/hostname', 'c0\n');
    await wsm.writeFile('etc/note-0.txt', 'x'.repeat(4096));
    await wsm.close();
    const os = await openUnionContainer(ustore, uports, 'us0');
    await os.close();
    t = now();
    const usm = await commitUnionContainer(ustore, uports, 'us0', layout, 'us0');
    const uCommitSmallMs = now() - t;
    urow('union: first container create (record + empty upper)', ms(uFirstCreate), '', 'no layer read');
    urow('union: first open of a view on the image (fills the shared cache)', ms(uFirstOpen), `${mib(cacheBytes)} MiB cache (tar + index + lower table)`, `layers: ${filled}; ${lowerNames} names`);
    urow('union: a later open (cache hit: the lower table opened)', ms(uOpen), '', 'paid by every diff/commit/write command');
    urow(`${N} x union container create`, `${ms(uCreateMs)} (${ms(uCreateAvg)} avg, ${ms(med(uTimes))} median each)`, `+${mib(uppers)} MiB for all ${N} uppers incl. writes (${(uppers / N / 1024).toFixed(0)} KiB each)`, '');
    urow(`${N} x open + write a little (same writes) + close`, `${ms(uWriteMs)} (${ms(uWriteMs / N)} each)`, '(in the row above)', 'each includes one view open');
    urow(`union commit of one container on the Debian image (${baseFiles} entries)`, ms(uCommitMs), `layer ${ubig.layer.size} B`, `${ubig.changes.added} A, ${ubig.changes.changed} C, ${ubig.changes.deleted} D; includes a view open`);
    urow(`union commit of the same change on the small image (${smallFiles} entries)`, ms(uCommitSmallMs), `layer ${usm.layer.size} B`, `${usm.changes.added} A, ${usm.changes.changed} C, ${usm.changes.deleted} D`);
    uCreateAvg = { first: uFirstCreate, avg: uCreateAvg, open: uOpen, firstOpen: uFirstOpen, commit: uCommitMs, commitSmall: uCommitSmallMs };
  }

  const cpAvg = avg(cpTimes);
  console.log(`image: ${BASE}: ${baseFiles} entries, ${mib(baseBytes)} MiB (du); store method ${store.config.materialize.active}; ${new Date().toISOString()}`);
  console.log('');
  console.log('| step | time | disk | note |');
  console.log('|---|---|---|---|');
  row('image add-layer --diff EMPTY base (CLI)', ms(imageMs), '', 'the image layout (gzip layer)');
  row('first container: unpack the layer into its chain snapshot + container', ms(unpackMs), `${mib(trees0)} MiB trees + ${mib(blobs0)} MiB blob`, 'once per image (per layer)');
  row(`${N} x container create on the materialised image`, `${ms(createMs)} (${ms(avg(createTimes))} avg, ${ms(med(createTimes))} median each)`, `+${mib(trees1 - trees0)} MiB for all ${N} incl. writes (${((trees1 - trees0) / N / 1024).toFixed(0)} KiB each)`, `own usage (store.usage) ${mib(own)} MiB in all`);
  row(`${N} x write a little (2 files written, 1 deleted, via the writer)`, `${ms(writeMs)} (${ms(writeMs / N)} each)`, '(in the row above)', '');
  row(`commit one container on the Debian image (${baseFiles} entries)`, ms(commitMs), `layer ${big.layer.size} B`, `${big.changes.added} A, ${big.changes.changed} C, ${big.changes.deleted} D`);
  row(`commit the same change on a small image (/etc only, ${smallFiles} entries)`, ms(commitSmallMs), `layer ${sm.layer.size} B`, `${sm.changes.added} A, ${sm.changes.changed} C, ${sm.changes.deleted} D`);
  row(`cp -a of the materialised image (x${COPIES})`, `${ms(cpAvg)} avg each (${cpTimes.map((x) => x.toFixed(0)).join(', ')})`, `${mib(cpBytes)} MiB each`, '');
  row(`umoci unpack per container (x${UMOCI})`, UMOCI ? `${ms(avg(umociTimes))} avg each` : '-', UMOCI ? `${mib(umociBytes)} MiB each` : '-', 'rootfs + bundle files');
  for (const r of rows) console.log(r);
  for (const r of urows) console.log(r);
  console.log('');
  console.log(`create / cp -a time: ${(avg(createTimes) / cpAvg).toFixed(3)}x (target <= 0.05x); create disk / cp -a disk: ${((trees1 - trees0) / N / cpBytes).toFixed(4)}x`);
  console.log(`commit time, Debian / small image: ${(commitMs / commitSmallMs).toFixed(1)}x for ${(baseFiles / smallFiles).toFixed(1)}x the entries`);
  if (typeof uCreateAvg === 'object') {
    const u = uCreateAvg;
    console.log(`union create / cp -a time: first ${(u.first / cpAvg).toFixed(4)}x, later ${(u.avg / cpAvg).toFixed(4)}x (target <= 0.05x); first open (cache fill) ${(u.firstOpen / cpAvg).toFixed(2)}x, later open ${(u.open / cpAvg).toFixed(3)}x`);
    console.log(`union commit time, Debian / small image: ${(u.commit / u.commitSmall).toFixed(1)}x for ${(baseFiles / smallFiles).toFixed(1)}x the entries; Debian commit minus one view open: ${ms(u.commit - u.open)}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
