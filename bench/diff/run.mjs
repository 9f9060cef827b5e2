// Diff benchmark (issue 3 item 6): layerkit's change detection and diff-to-a-layer side by side
// with rsync, umoci repack and GNU tar, on the Debian corpus (base -> plus, base -> minus) and on
// synthetic trees (bench/diff/synth.mjs). Wall time, CPU use, peak RSS, output size, ratios; every
// timed result is checked (bench/diff/lib.mjs). Writes the "diff" section of bench/RESULTS.md.
// Not run in CI.
//
//   sudo bench/make-debian-corpus.sh          # once: bench/.cache/debian/{base,plus,minus}
//   npm run build && node bench/diff/run.mjs [--runs 5] [--synth N[:RUNS][,N[:RUNS]...]]
//                      [--bigfile [RUNS]] [--changed 0.01] [--no-debian] [--no-write]
//
// Default (5 runs, Debian pairs, synthetic 10 k files): about 6 minutes on 2 cores, ~0.5 GB of
// disk in bench/.cache/diff-out. --synth 100000 adds ~2-3 minutes and 1.2 GB (generated once);
// --synth 1000000:3 adds ~2 minutes of generation, 12 GB of disk (2 M files + 17 k dirs) and
// ~3.5 minutes per run. --bigfile (a 2 GiB file added; 1 run) adds ~4 minutes and 2 GB.
// Root is needed for umoci (a rootful unpack keeps owners and device nodes).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  argValue, cacheDir, formatCase, freezeLayerkit, hasFlag, log, machineLine, root, run, runCase,
} from './lib.mjs';
import { makeBigFile, makeSynth, synthTitle } from './synth.mjs';

const runs = Number(argValue('--runs', '5'));
// --synth N[:RUNS],...: synthetic trees of N files (RUNS overrides --runs for that size).
const synthSpec = argValue('--synth', '10000');
const synthSizes = synthSpec.split(',').filter(Boolean).map((x) => {
  const [n, r] = x.split(':').map(Number);
  return { files: n, runs: r || runs };
});
// --bigfile [RUNS]: the memory target's "diff holding a 2 GiB file" (default 1 run; ~4 min, 2 GB disk).
const bigRuns = hasFlag('--bigfile') ? Number(/^\d+$/.test(argValue('--bigfile', '')) ? argValue('--bigfile') : '1') : 0;
const changed = Number(argValue('--changed', '0.01'));
const debian = join(cacheDir, 'debian');
const started = Date.now();

const { bin, rev } = freezeLayerkit();
const cases = [];

if (!hasFlag('--no-debian')) {
  for (const d of ['base', 'plus', 'minus']) {
    if (!existsSync(join(debian, d, 'usr'))) {
      console.error(`bench: ${join(debian, d)} is missing: run \`sudo bench/make-debian-corpus.sh\` first (or pass --no-debian)`);
      process.exit(1);
    }
  }
  const describe = (d) => {
    const mb = Number(run('du', ['-sb', join(debian, d)]).split('\t')[0]) / 1e6;
    const n = run('find', [join(debian, d)]).split('\n').filter(Boolean).length - 1;
    return `${n} entries, ${mb.toFixed(0)} MB`;
  };
  const base = describe('base');
  for (const [to, what] of [['plus', '+ python3-minimal, curl'], ['minus', 'packages purged, docs and man pages removed']]) {
    const res = await runCase({
      label: `debian-base-${to}`, oldDir: join(debian, 'base'), newDir: join(debian, to), runs, umoci: true, lk: bin,
    });
    const title = `Debian bookworm minbase, base (${base}) -> ${to} (${what}; ${describe(to)})`;
    cases.push({ res, title, kind: 'debian', to });
    console.log(formatCase(res, title) + '\n');
  }
}

for (const { files, runs: n } of synthSizes) {
  const s = makeSynth({ files, changed });
  const res = await runCase({
    label: `synth-${files}`, oldDir: s.old, newDir: s.new, runs: n, umoci: false, lk: bin, expectChanges: s.expect,
  });
  const title = synthTitle(s);
  cases.push({ res, title, kind: 'synth', files });
  console.log(formatCase(res, title) + '\n');
}

if (bigRuns) {
  const s = makeBigFile({ gib: 2 });
  const res = await runCase({
    label: 'bigfile-2g', oldDir: s.old, newDir: s.new, runs: bigRuns, umoci: false, lk: bin, expectChanges: s.expect,
  });
  const title = 'one 2 GiB file of random bytes added to a tree of 16 small files';
  cases.push({ res, title, kind: 'bigfile' });
  console.log(formatCase(res, title) + '\n');
}

// ---------------------------------------------------------------- targets (issue 3)

const row = (res, k) => res.rows.find((r) => r.key === k);
const f2 = (x) => x.toFixed(2);
const targets = [];
const deb = cases.filter((c) => c.kind === 'debian');
const synth = cases.filter((c) => c.kind === 'synth');
const verdict = (vals, ok) => (vals.length === 0 ? 'not measured' : vals.every(ok) ? 'met' : vals.some(ok) ? 'partly met' : 'not met');
{
  const all = cases.filter((c) => c.kind !== 'bigfile').map((c) => ({ l: c.res.label, v: row(c.res, 'lk-snap').wall / row(c.res, 'rsync').wall }));
  targets.push(['Change detection with a saved snapshot of OLD <= 1.0x `rsync -an --itemize-changes`',
    verdict(all.map((x) => x.v), (v) => v <= 1.0), all.map((x) => `${x.l} ${f2(x.v)}x`).join(', ')]);
  const gz = deb.map((c) => ({ l: c.res.label, t: row(c.res, 'lk-gz').wall / row(c.res, 'umoci').wall, s: row(c.res, 'lk-gz').size / row(c.res, 'umoci').size }));
  targets.push(['Diff to a gzip layer <= 0.5x `umoci repack` wall time', verdict(gz.map((x) => x.t), (v) => v <= 0.5),
    gz.map((x) => `${x.l} ${f2(x.t)}x`).join(', ')]);
  targets.push(['gzip layer size <= 1.02x umoci\'s', verdict(gz.map((x) => x.s), (v) => v <= 1.02),
    gz.map((x) => `${x.l} ${x.s.toFixed(3)}x`).join(', ')]);
  const zs = deb.map((c) => ({ l: c.res.label, t: row(c.res, 'lk-zst').wall / row(c.res, 'umoci').wall }));
  targets.push(['Diff to a zstd layer <= 0.3x `umoci repack` wall time', verdict(zs.map((x) => x.t), (v) => v <= 0.3),
    zs.map((x) => `${x.l} ${f2(x.t)}x`).join(', ')]);
  const cores = deb.flatMap((c) => ['lk-gz', 'lk-zst'].map((k) => ({ l: `${c.res.label} ${k.slice(3)}`, v: row(c.res, k).cpu })));
  targets.push(['Both cores used where it helps (compression, hashing): (user+sys)/wall of `layerkit diff`, >= 1.5 counted as met',
    verdict(cores.map((x) => x.v), (v) => v >= 1.5), cores.map((x) => `${x.l} ${f2(x.v)}`).join(', ') +
    (deb.length ? `; umoci repack ${deb.map((c) => f2(row(c.res, 'umoci').cpu)).join(', ')}` : '')]);
  const mem = synth.map((c) => ({ files: c.files, v: Math.max(...c.res.rows.filter((r) => r.key.startsWith('lk-')).map((r) => r.rss)) }));
  const big = mem.filter((m) => m.files >= 1_000_000);
  targets.push(['Peak memory <= 200 MiB on the 1 M-file tree', big.length ? verdict(big.map((m) => m.v), (v) => v <= 200) : 'not measured',
    mem.map((m) => `${m.files} files: ${m.v.toFixed(0)} MiB (largest layerkit process, changes and diff)`).join(', ') || '-']);
  const bigc = cases.filter((c) => c.kind === 'bigfile').map((c) => ({ rows: c.res.rows.filter((r) => r.key.startsWith('lk-')) }));
  const bigv = bigc.flatMap((c) => c.rows.map((r) => r.rss));
  targets.push(['Peak memory <= 200 MiB on a diff holding a 2 GiB file', verdict(bigv, (v) => v <= 200),
    bigc.length ? bigc[0].rows.map((r) => `${r.name.replace('layerkit ', '')}: ${r.rss.toFixed(0)} MiB`).join(', ') : 'not run (--bigfile)']);
}
const targetTable = ['| Target (issue 3) | Status | Measured |', '|---|---|---|', ...targets.map((t) => `| ${t.map((x) => x || '-').join(' | ')} |`)].join('\n');
console.log(targetTable);

if (hasFlag('--no-write')) process.exit(0);

// ---------------------------------------------------------------- bench/RESULTS.md

const minutes = ((Date.now() - started) / 60000).toFixed(1);
const cmd = ['node bench/diff/run.mjs', `--runs ${runs}`, `--synth ${synthSpec}`, bigRuns ? `--bigfile ${bigRuns}` : '',
  changed !== 0.01 ? `--changed ${changed}` : '', hasFlag('--no-debian') ? '--no-debian' : ''].filter(Boolean).join(' ');
const block = `<!-- diff:start -->
## Diff: change detection and diff to a layer

Reproduce (as root, not in CI): \`sudo bench/make-debian-corpus.sh && npm run build && ${cmd}\`
(this run took ${minutes} minutes).
Run on ${new Date().toISOString().slice(0, 10)}: ${machineLine()}; layerkit ${rev}.

Method: each case runs every command once per run, in an order rotated from run to run, for
${runs} runs (fewer where a table says so); the tables show medians. Wall time is measured around the process (so it includes
Node's start-up for layerkit, ~0.1 s); peak RSS and CPU come from GNU time (\`%M\`: the largest
single process of the command, for pipelines the largest stage; for \`layerkit diff .tar.zst\` the
larger of node and its \`zstd -T0\` child). Page cache warm (the changed files of NEW are read once
before timing). cpu = (user+sys)/wall: 2.0 = both
cores busy. umoci: a layout whose \`base\` tag holds OLD is made once; before each timed run (not
timed) OLD's image is unpacked into a fresh bundle and \`rsync -a --delete NEW/ bundle/rootfs/\`
makes the rootfs equal to NEW; only \`umoci repack\` is timed. GNU tar rows archive the A/C paths
of \`layerkit changes\` (\`--no-recursion --null -T list\`; no whiteouts, and the time to find the
paths is not included): a floor for writing the same bytes, not a complete layer. layerkit's
snapshot of OLD is taken once before timing. Checks on every timed result: rsync's output is the
same in every run; both forms of \`layerkit changes\` print exactly the reference list; every layer
is listed by GNU tar (fed by \`gzip -dc\` / \`zstd -dc\`), its uncompressed stream hashed; layerkit's
digest = sha256 of the file, its diffID = sha256 of the tar, and its entries are exactly the A/C
paths of \`layerkit changes\`, one whiteout (or opaque marker) per D line, and parent directories
of those, nothing else; on the synthetic trees the change list also equals the generator's.
umoci's digest and diffID are checked against its manifest and config. The rsync comparison
drops rsync's lines for directories whose only change is the mtime (layerkit does not list them)
and collapses rsync's per-file deletions to the topmost deleted path (layerkit prints one D).

${cases.map((c) => '```\n' + formatCase(c.res, c.title) + '\n```').join('\n\n')}

${targetTable}
<!-- diff:end -->`;
const path = join(root, 'bench/RESULTS.md');
let doc = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n\nEach section says how to reproduce it.\n';
doc = doc.includes('<!-- diff:start -->')
  ? doc.replace(/<!-- diff:start -->[\s\S]*<!-- diff:end -->/, () => block)
  : `${doc.trimEnd()}\n\n${block}\n`;
writeFileSync(path, doc);
log(`wrote bench/RESULTS.md (${minutes} min)`);
