// Unpack benchmark (issue 4, item 7): `layerkit image unpack` against `umoci unpack` and a plain
// `tar -x` of the same layers (in order, gzip included, no whiteout handling: a floor), plus
// `layerkit image flatten`, on
//   - the Debian minbase two-layer image: base (diff of an empty tree and bench/.cache/debian/base)
//     + the layer `layerkit diff base plus` makes (both gzip), built once by this script;
//   - synthetic whiteout-heavy images: N files in deep trees, then a layer of N whiteouts
//     (whiteout time = unpack of both layers - unpack of the first; should grow linearly in N).
// Wall time from this process, CPU and peak RSS (largest process, ru_maxrss) from GNU time; medians
// of --runs runs, the implementations taking turns within a run. Every run's output is checked:
// ours and umoci's rootfs must list the same names, types, modes, owners, mtimes (s), sizes and links.
// Needs root (umoci unpack without --rootless; owners), umoci, GNU tar, GNU time. Not run in CI.
//
//   npm run build && [DEBIAN_CORPUS=DIR] node bench/apply/run.mjs [--runs 5] [--synth 5000,20000,80000] [--no-debian] [--out DIR]
import { spawnSync, execSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const debian = process.env.DEBIAN_CORPUS ?? join(root, 'bench', '.cache', 'debian');
const argOut = (() => { const i = process.argv.indexOf('--out'); return i > 0 ? process.argv[i + 1] : undefined; })();
// --out DIR: where layouts and unpacked trees go (e.g. a tmpfs, to take the disk out of the measure)
const out = argOut ?? join(root, 'bench', '.cache', 'apply-out');
const argValue = (n, d) => { const i = process.argv.indexOf(n); return i > 0 ? process.argv[i + 1] : d; };
const runs = Number(argValue('--runs', '5'));
const synth = argValue('--synth', '5000,20000,80000').split(',').filter(Boolean).map(Number);
const noDebian = process.argv.includes('--no-debian');
const log = (...a) => console.error('bench:', ...a);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || '').slice(-2000)}`);
  return r.stdout;
}

function timeCmd(argv) {
  const tf = join(out, '.time.txt');
  rmSync(tf, { force: true });
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', tf, ...argv], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 28 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.toString().slice(-2000)}`);
  const [, user, sys, rss] = readFileSync(tf, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { wall, cpu: user + sys, rssKiB: rss };
}

/** A private copy of the built CLI, so a rebuild during the run changes nothing measured. */
function freeze() {
  const dst = join(out, 'layerkit');
  rmSync(dst, { recursive: true, force: true });
  mkdirSync(dst, { recursive: true });
  for (const p of ['bin', 'dist', 'package.json']) cpSync(join(root, p), join(dst, p), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dst, 'node_modules'));
  let rev = 'unknown';
  try {
    rev = execSync('git rev-parse --short HEAD', { cwd: root, encoding: 'utf8' }).trim();
    if (execSync('git status --porcelain --untracked-files=no -- src', { cwd: root, encoding: 'utf8' }).trim()) rev += ' (uncommitted changes in src/)';
  } catch { /* not a checkout */ }
  return { bin: join(dst, 'bin', 'layerkit.js'), rev };
}

/** Names with type, mode, owner, mtime (s), size (files), link target: the check of every run. */
function listing(dir) {
  return run('find', [dir, '-mindepth', '1', '-printf', '%P %y %m %U %G %Ts %s %l\n'])
    .split('\n').filter(Boolean).map((l) => { const f = l.split(' '); if (f[1] !== 'f') f[6] = '-'; f[5] = f[5].split('.')[0]; return f.join(' '); }).sort();
}
function sameTree(a, b, what) {
  const x = listing(a);
  const y = listing(b);
  const sx = new Set(x);
  const sy = new Set(y);
  const diff = [...x.filter((l) => !sy.has(l)), ...y.filter((l) => !sx.has(l))];
  if (diff.length) throw new Error(`${what}: trees differ (${diff.length} lines), e.g. ${diff.slice(0, 4).join(' | ')}`);
  // contents: GNU diff over regular files and symlinks (devices and fifos compared by listing)
  const r = spawnSync('diff', ['-r', '--no-dereference', '-q', a, b], { encoding: 'utf8' });
  const bad = r.stdout.split('\n').filter((l) => l && !/special file/.test(l) && !/fifo/.test(l));
  if (bad.length) throw new Error(`${what}: contents differ: ${bad.slice(0, 4).join(' | ')}`);
  return x.length;
}

const fmt = (x, d = 2) => (x === undefined ? '-' : x.toFixed(d));
const mib = (kib) => kib / 1024;

function image(lk, L, tag) {
  return JSON.parse(run(process.execPath, [lk, 'image', 'inspect', `${L}:${tag}`]));
}

/** One image, all implementations in turn per run; returns medians. */
function compare(lk, L, tag, label, { flatten = true } = {}) {
  const img = image(lk, L, tag);
  const blobs = img.layers.map((l) => join(L, 'blobs', 'sha256', l.digest.slice(7)));
  const gz = img.layers[0].mediaType.endsWith('gzip');
  const impls = {
    'layerkit image unpack': (d) => [process.execPath, lk, 'image', 'unpack', '-q', `${L}:${tag}`, d],
    'umoci unpack': (d) => ['umoci', 'unpack', '--image', `${L}:${tag}`, d],
    [`tar -x${gz ? 'z' : ''}f per layer (floor)`]: (d) => ['sh', '-c', `mkdir -p "$0" && for b in "$@"; do tar --numeric-owner -x${gz ? 'z' : ''}f "$b" -C "$0" || exit 1; done`, d, ...blobs],
  };
  if (flatten) impls['layerkit image flatten'] = () => [process.execPath, lk, 'image', 'flatten', '-q', `${L}:${tag}`, '--tag', `${tag}-flat`];
  const res = Object.fromEntries(Object.keys(impls).map((k) => [k, []]));
  for (let r = 0; r < runs; r++) {
    for (const [name, argv] of Object.entries(impls)) {
      const d = join(out, 'x', name.split(' ')[0] + name.split(' ')[1]);
      rmSync(join(out, 'x'), { recursive: true, force: true });
      mkdirSync(join(out, 'x'), { recursive: true });
      run('sync', []);
      const m = timeCmd(argv(d));
      res[name].push(m);
      if (name === 'layerkit image unpack' && r === 0) {
        // check against umoci once per image (outside the timing)
        const u = join(out, 'check-umoci');
        rmSync(u, { recursive: true, force: true });
        run('umoci', ['unpack', '--image', `${L}:${tag}`, u]);
        const n = sameTree(u + '/rootfs', d, `${label}: ours vs umoci`);
        rmSync(u, { recursive: true, force: true });
        log(`${label}: ours == umoci (${n} names)`);
      }
      log(`${label} run ${r + 1}/${runs}: ${name} ${fmt(m.wall)} s, ${fmt(mib(m.rssKiB), 1)} MiB`);
    }
  }
  rmSync(join(out, 'x'), { recursive: true, force: true });
  const med = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, { wall: median(v.map((x) => x.wall)), cpu: median(v.map((x) => x.cpu)), rss: Math.max(...v.map((x) => x.rssKiB)), all: v.map((x) => x.wall) }]));
  const entries = img.layers.length;
  return { med, img, entries };
}

function table(title, med) {
  const u = med['umoci unpack'].wall;
  const lines = [title, `${'command'.padEnd(32)} ${'wall s'.padStart(7)} ${'cpu s'.padStart(6)} ${'peak MiB'.padStart(9)} ${'t/umoci'.padStart(8)}   walls`];
  for (const [k, v] of Object.entries(med)) {
    lines.push(`${k.padEnd(32)} ${fmt(v.wall, 3).padStart(7)} ${fmt(v.cpu).padStart(6)} ${fmt(mib(v.rss), 1).padStart(9)} ${fmt(v.wall / u).padStart(8)}   ${v.all.map((x) => x.toFixed(2)).join(' ')}`);
  }
  return lines.join('\n');
}

// ------------------------------------------------------------------------------------------ main

if (process.getuid?.() !== 0) throw new Error('run as root (umoci unpack keeps owners; devices)');
mkdirSync(out, { recursive: true });
const { bin: lk, rev } = freeze();
const sections = [];
const machine = `${cpus().length} x ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${run('df', ['--output=fstype', out]).split('\n')[1].trim()} file system, Node ${process.version}; ${run('umoci', ['--version']).trim()}; ${run('tar', ['--version']).split('\n')[0]}; layerkit ${rev}`;
log(machine);

if (!noDebian) {
  if (!existsSync(join(debian, 'plus', 'usr'))) throw new Error(`${debian}/plus is missing: run bench/make-debian-corpus.sh (as root) first`);
  const L = join(out, 'debian-layout');
  const empty = join(out, 'empty');
  mkdirSync(empty, { recursive: true });
  if (!existsSync(join(L, 'index.json'))) {
    log('building the Debian image (base, base+plus) ...');
    run(process.execPath, [lk, 'image', 'init', L]);
    run(process.execPath, [lk, 'image', 'add-layer', '-q', `${L}:base`, '--diff', empty, join(debian, 'base'), '--source-date-epoch', '1700000000']);
    run(process.execPath, [lk, 'image', 'add-layer', '-q', `${L}:plus`, '--base', 'base', '--diff', join(debian, 'base'), join(debian, 'plus'), '--source-date-epoch', '1700000000']);
  }
  const { med, img } = compare(lk, L, 'plus', 'debian');
  const sizes = img.layers.map((l) => `${(l.size / 1e6).toFixed(1)} MB`).join(' + ');
  sections.push(table(`Debian minbase bookworm, 2 gzip layers (${sizes}): base, then \`layerkit diff base plus\`; ${runs} runs`, med));
}

for (const n of synth) {
  const L = join(out, `wh-${n}`);
  if (!existsSync(join(L, 'index.json'))) {
    log(`building the whiteout image with ${n} files ...`);
    const src = join(out, `wh-src-${n}`);
    rmSync(src, { recursive: true, force: true });
    // N files in deep trees: 16 top dirs, 6 levels, 25 files per leaf directory
    const py = `
import os, sys
root, n, wh = sys.argv[1], int(sys.argv[2]), sys.argv[3] == 'wh'
for i in range(n):
    leaf = i // 25
    d = os.path.join(root, 't%d' % (leaf % 16), *['d%d' % ((leaf >> (2 * k)) % 4) for k in range(6)], 'leaf%d' % leaf)
    os.makedirs(d, exist_ok=True)
    name = ('.wh.f%d' % i) if wh else ('f%d' % i)
    open(os.path.join(d, name), 'w').write('' if wh else 'x' * (i % 200))
`;
    run('python3', ['-c', py, join(src, 'base'), String(n), 'base']);
    run('python3', ['-c', py, join(src, 'wh'), String(n), 'wh']);
    run('tar', ['--numeric-owner', '--sort=name', '--mtime=@1700000000', '-C', join(src, 'base'), '-cf', join(src, 'base.tar'), '.']);
    run('tar', ['--numeric-owner', '--sort=name', '--mtime=@1700000000', '-C', join(src, 'wh'), '-cf', join(src, 'wh.tar'), '.']);
    run(process.execPath, [lk, 'image', 'init', L]);
    run(process.execPath, [lk, 'image', 'add-layer', '-q', `${L}:files`, join(src, 'base.tar')]);
    run(process.execPath, [lk, 'image', 'add-layer', '-q', `${L}:wh`, '--base', 'files', join(src, 'wh.tar')]);
    rmSync(src, { recursive: true, force: true });
  }
  const a = compare(lk, L, 'files', `wh-${n} files`, { flatten: false });
  const b = compare(lk, L, 'wh', `wh-${n} +whiteouts`);
  const lines = [table(`Whiteouts: ${n} files in deep trees (7 levels), then a layer of ${n} whiteouts (uncompressed layers); ${runs} runs`, b.med)];
  const per = (k) => (b.med[k].wall - a.med[k].wall) / n * 1e6;
  lines.push(`whiteout layer alone (both layers - first layer): layerkit ${fmt(b.med['layerkit image unpack'].wall - a.med['layerkit image unpack'].wall, 3)} s = ${fmt(per('layerkit image unpack'), 1)} us/whiteout; umoci ${fmt(b.med['umoci unpack'].wall - a.med['umoci unpack'].wall, 3)} s = ${fmt(per('umoci unpack'), 1)} us/whiteout`);
  sections.push(lines.join('\n'));
}

const report = `Run on ${new Date().toISOString().slice(0, 10)}: ${machine}.\n\n\`\`\`\n${sections.join('\n\n')}\n\`\`\`\n`;
console.log(report);
writeFileSync(join(out, 'report.md'), report);
