// bench/union/commit-scale.mjs: does committing a union container cost its change or its image?
// For images of growing entry counts (synthetic trees: directories of 100 small files, one gzip
// layer made by `layerkit image add-layer --diff EMPTY TREE`), the same small change (one file
// overwritten: a copy-up, one added, one deleted) is written into a fresh union container and
// committed, R times per size. Reported: the first open (fills the store's cache: decompress,
// index, resolve, write the lower table; once per image), a later view open, the commit through
// the API (in process) and through the CLI (`layerkit container commit`, one process, as users run
// it; its peak RSS by GNU time), medians of R, and each size's ratio to the smallest.
// Every commit is checked: 1 added, 1 changed, 1 deleted.
// Needs `npm run build` (or --dist DIR: another build's dist/, to measure an older version) and GNU time.
// Usage: node bench/union/commit-scale.mjs [--sizes 1000,10000,100000] [--runs 7] [--dist DIR]
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000,100000' },
    runs: { type: 'string', default: '7' },
    dist: { type: 'string', default: new URL('../../dist', import.meta.url).pathname },
  },
});
const SIZES = values.sizes.split(',').map(Number);
const RUNS = Number(values.runs);
const dist = resolve(values.dist);
const bin = join(dist, '../bin/layerkit.js');
const { openStore, nodeFs, nodeStoreFs, createUnionContainer, openUnionContainer, openUnionWriter, commitUnionContainer } = await import(pathToFileURL(join(dist, 'index.node.js')).href);

const work = mkdtempSync(join(tmpdir(), 'layerkit-bench-union-scale-'));
const now = () => performance.now();
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const ms = (t) => `${t.toFixed(0)} ms`;
const ports = { layoutFs: nodeStoreFs, treeFs: nodeFs };

/** A tree of `n` entries: directories d0.. of 99 files each (plus the directory). */
function makeTree(dir, n) {
  mkdirSync(dir);
  const dirs = Math.ceil(n / 100);
  for (let d = 0; d < dirs; d++) {
    mkdirSync(join(dir, `d${d}`));
    for (let f = 0; f < 99 && d * 100 + f + 1 < n; f++) writeFileSync(join(dir, `d${d}`, `f${f}`), `file ${d}/${f}\n`);
  }
}

async function change(store, name) {
  const w = await openUnionWriter(store, ports, name);
  await w.writeFile('d0/f1', 'changed\n'); // copy-up of a lower file
  await w.writeFile('d1/new.txt', 'new\n');
  await w.remove('d2/f2');
  await w.close();
}

/** `layerkit container commit` as a process: its wall time, its peak RSS (GNU time, KiB) and the change counts. */
function cliCommit(storeDir, layout, name) {
  const t = now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, bin, 'container', 'commit', name, `${layout}:${name}`, '--json'], {
    env: { ...process.env, LAYERKIT_STORE: storeDir }, encoding: 'utf8',
  });
  const wall = now() - t;
  if (r.status !== 0) throw new Error(`container commit ${name}: ${r.stderr}`);
  return { wall, rssKiB: Number(r.stderr.trim().split('\n').at(-1)), counts: JSON.parse(r.stdout).changes };
}

const results = [];
try {
  const empty = join(work, 'empty');
  mkdirSync(empty);
  for (const n of SIZES) {
    const tree = join(work, `tree-${n}`);
    makeTree(tree, n);
    const layout = join(work, `layout-${n}`);
    execFileSync(process.execPath, [bin, 'image', 'init', layout]);
    execFileSync(process.execPath, [bin, 'image', 'add-layer', '-q', `${layout}:img`, '--diff', empty, tree]);
    rmSync(tree, { recursive: true });
    const storeDir = join(work, `store-${n}`);
    const store = await openStore(storeDir);
    await createUnionContainer(store, ports, layout, 'img', { name: 'first' });
    let t = now();
    const first = await openUnionContainer(store, ports, 'first');
    const firstOpen = now() - t;
    const names = first.view.lower.size;
    await first.close();
    const opens = [];
    const apiCommits = [];
    const cliCommits = [];
    const rss = [];
    for (let r = 0; r < RUNS; r++) {
      t = now();
      const o = await openUnionContainer(store, ports, 'first');
      opens.push(now() - t);
      await o.close();
      for (const via of ['api', 'cli']) {
        const name = `${via}${r}`;
        await createUnionContainer(store, ports, layout, 'img', { name });
        await change(store, name);
        let counts;
        if (via === 'api') {
          t = now();
          counts = (await commitUnionContainer(store, ports, name, layout, name)).changes;
          apiCommits.push(now() - t);
        } else {
          const c = cliCommit(storeDir, layout, name);
          cliCommits.push(c.wall);
          rss.push(c.rssKiB);
          counts = c.counts;
        }
        if (counts.added !== 1 || counts.changed !== 1 || counts.deleted !== 1) throw new Error(`${name}: ${JSON.stringify(counts)}`);
      }
    }
    results.push({ n, names, firstOpen, open: med(opens), api: med(apiCommits), cli: med(cliCommits), rssMiB: med(rss) / 1024 });
    console.error(`${n}: done`);
  }
  const base = results[0];
  console.log(`union commit scale: ${RUNS} runs per size, medians; dist ${dist}; ${new Date().toISOString()}`);
  console.log('');
  console.log('| image entries | first open (fill cache + table) | later view open | commit (API) | commit (CLI process) | CLI peak RSS | API commit / smallest | CLI commit / smallest |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.names} | ${ms(r.firstOpen)} | ${r.open.toFixed(1)} ms | ${r.api.toFixed(1)} ms | ${ms(r.cli)} | ${r.rssMiB.toFixed(0)} MiB | ${(r.api / base.api).toFixed(2)}x | ${(r.cli / base.cli).toFixed(2)}x |`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
