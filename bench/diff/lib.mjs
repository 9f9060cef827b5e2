// Shared code of the diff benchmark (bench/diff/run.mjs, bench/diff/synth.mjs): timing through
// /usr/bin/time, the implementations compared, the checks made on every timed result, and tables.
// Not run in CI. Linux only (GNU time, GNU tar, rsync, umoci, gzip, pigz, zstd on PATH).
import { spawn, spawnSync, execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync, cpSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync,
  symlinkSync, writeFileSync,
} from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
export const cacheDir = join(root, 'bench', '.cache');
export const outRoot = join(cacheDir, 'diff-out');
const TIME = '/usr/bin/time';

// ---------------------------------------------------------------- arguments, small helpers

export function argValue(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
export const hasFlag = (name) => process.argv.includes(name);
export const log = (...a) => console.error('bench:', ...a);

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Run a command to completion (not timed); throws with its stderr when it fails. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || '').slice(-2000)}`);
  return r.stdout;
}

export function toolVersion(cmd) {
  try {
    return execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0].trim();
  } catch {
    return null;
  }
}

/** One line describing the machine and the peer tools (RESULTS.md). */
export function machineLine() {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const fs = toolVersion(`stat -f -c %T ${JSON.stringify(cacheDir)}`);
  const tools = [
    'umoci --version', 'rsync --version', 'tar --version', 'gzip --version', 'pigz --version 2>&1',
    'zstd --version',
  ].map(toolVersion).filter(Boolean).map((s) => s.replace(/\s+/g, ' ').replace(/\s+protocol version.*$/, '').replace(/^\*+\s*|\s*\*+$/g, '').replace(/, by Yann Collet/, ''));
  return `${cpus().length} x ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${fs ?? '?'} file system, Node ${process.version}; ${tools.join('; ')}`;
}

/**
 * A private copy of the built CLI (bin/, dist/, package.json; node_modules linked) so that a
 * rebuild in the working tree during a run cannot change what is measured half-way.
 */
export function freezeLayerkit() {
  if (!existsSync(join(root, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const dst = join(outRoot, 'layerkit');
  rmSync(dst, { recursive: true, force: true });
  mkdirSync(dst, { recursive: true });
  for (const p of ['bin', 'dist', 'package.json']) cpSync(join(root, p), join(dst, p), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dst, 'node_modules'));
  let rev = 'unknown';
  try {
    rev = execSync('git rev-parse --short HEAD', { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execSync('git status --porcelain --untracked-files=no -- src assembly', { cwd: root, encoding: 'utf8' }).trim();
    if (dirty) rev += ' (with uncommitted changes in src/)';
  } catch { /* not a git checkout */ }
  return { bin: join(dst, 'bin', 'layerkit.js'), rev };
}

// ---------------------------------------------------------------- timing

/**
 * Time one command: wall clock from this process (hrtime around the spawn of /usr/bin/time, so it
 * includes the fork/exec of the command), user+sys CPU and peak RSS from GNU time. GNU time's %M
 * is ru_maxrss of the waited-for tree: the largest single process (for a pipeline: the largest
 * stage; for layerkit with the zstd child: the larger of node and zstd), not a sum.
 */
export function timeCmd(argv, { stdoutFile, env } = {}) {
  const tf = join(outRoot, '.time.txt');
  rmSync(tf, { force: true });
  const fd = stdoutFile ? openSync(stdoutFile, 'w') : 'ignore';
  const t0 = process.hrtime.bigint();
  const r = spawnSync(TIME, ['-f', '%e %U %S %M', '-o', tf, ...argv], {
    stdio: ['ignore', fd, 'pipe'], env: env ? { ...process.env, ...env } : process.env, maxBuffer: 1 << 28,
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (typeof fd === 'number') closeSync(fd);
  if (r.error) throw new Error(`${argv[0]}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.toString().slice(-2000)}`);
  const [, user, sys, rss] = readFileSync(tf, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { wall, cpu: user + sys, rssKiB: rss, stderr: r.stderr.toString() };
}

// ---------------------------------------------------------------- hashing, listing layers

export function sha256File(path) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 }).on('data', (d) => h.update(d)).on('error', reject)
      .on('end', () => resolve('sha256:' + h.digest('hex')));
  });
}

/** GNU tar -tv line -> {type, name} (type: GNU tar's first mode letter: - d l h c b p). */
function parseTarLine(line) {
  const m = /^(\S)\S*\s+\S+\s+(?:\d+,\s*\d+|\d+)\s+\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?\s(.*)$/.exec(line);
  if (!m) throw new Error(`cannot parse tar -tv line: ${JSON.stringify(line)}`);
  let [, type, name] = m;
  if (type === 'l') name = name.slice(0, name.indexOf(' -> ') >= 0 ? name.indexOf(' -> ') : undefined);
  if (type === 'h') name = name.slice(0, name.indexOf(' link to ') >= 0 ? name.indexOf(' link to ') : undefined);
  name = name.replace(/^\.\//, '').replace(/\/$/, '');
  return { type, name };
}

/**
 * List a layer with GNU tar (`tar -tv`, fed by `gzip -dc` / `zstd -dc` for compressed ones) and
 * hash the uncompressed stream on the way (the diffID). Fails if a decompressor or tar fails.
 */
export function listLayer(file, compression) {
  return new Promise((resolve, reject) => {
    const tar = spawn('tar', ['--quoting-style=literal', '-tvf', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const dec = compression === 'gzip' ? spawn('gzip', ['-dc', file], { stdio: ['ignore', 'pipe', 'pipe'] })
      : compression === 'zstd' ? spawn('zstd', ['-dcq', file], { stdio: ['ignore', 'pipe', 'pipe'] }) : null;
    const src = dec ? dec.stdout : createReadStream(file, { highWaterMark: 1 << 20 });
    const h = createHash('sha256');
    let out = '';
    let tarErr = '';
    let decErr = '';
    let bytes = 0;
    tar.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    tar.stderr.setEncoding('utf8').on('data', (d) => { tarErr += d; });
    if (dec) dec.stderr.setEncoding('utf8').on('data', (d) => { decErr += d; });
    tar.stdin.on('error', () => {}); // EPIPE if tar stops early: reported through its exit status
    src.on('data', (d) => {
      h.update(d);
      bytes += d.length;
      if (!tar.stdin.write(d)) { src.pause(); tar.stdin.once('drain', () => src.resume()); }
    });
    src.on('end', () => tar.stdin.end());
    src.on('error', reject);
    const decDone = dec ? new Promise((r) => dec.on('close', r)) : Promise.resolve(0);
    tar.on('close', async (code) => {
      const dcode = await decDone;
      if (dcode !== 0) return reject(new Error(`${compression} -d of ${file} exited ${dcode}: ${decErr}`));
      if (code !== 0) return reject(new Error(`tar -t of ${file} exited ${code}: ${tarErr.slice(-2000)}`));
      try {
        const entries = out.split('\n').filter(Boolean).map(parseTarLine);
        resolve({ entries, diffID: 'sha256:' + h.digest('hex'), tarBytes: bytes, warnings: tarErr.trim() });
      } catch (e) {
        reject(e);
      }
    });
  });
}

// ---------------------------------------------------------------- change lists

/** `layerkit changes` text -> [{kind: 'A'|'C'|'D', path (no leading /)}]. */
export function parseChanges(text) {
  return text.split('\n').filter(Boolean).map((l) => {
    if (!/^[ACD] \//.test(l)) throw new Error(`unexpected layerkit changes line: ${JSON.stringify(l)}`);
    return { kind: l[0], path: l.slice(3) };
  });
}

/**
 * `rsync -ani --delete NEW/ OLD/` itemized output, normalized to layerkit's model: lines for
 * directories whose only difference is the mtime (`.d..t......`) and the root `./` are dropped
 * (layerkit does not list them), deletions are collapsed to the topmost deleted path (layerkit
 * prints one D per deleted tree), `+++++++++` items are A, the rest C. A type change shows in
 * rsync as a deletion plus a creation of the same path: it becomes one C, as layerkit prints it.
 */
export function normalizeRsync(text) {
  const lines = text.split('\n').filter(Boolean);
  const deleted = [];
  const items = new Map();
  let dirTimeOnly = 0;
  for (const l of lines) {
    if (l.startsWith('*deleting ')) {
      deleted.push(l.slice(10).trimStart().replace(/\/$/, ''));
      continue;
    }
    const flags = l.slice(0, 11);
    let name = l.slice(12);
    if (flags[1] === 'L') name = name.replace(/ -> .*$/, '');
    name = name.replace(/\/$/, '');
    if (name === '.' || name === '') continue;
    if (flags[1] === 'd' && /^\.d\.\.t\.+$/.test(flags)) { dirTimeOnly++; continue; }
    items.set(name, flags.includes('+++++++++') ? 'A' : 'C');
  }
  const delSet = new Set(deleted);
  for (const d of deleted) {
    let p = posix.dirname(d);
    let covered = false;
    while (p !== '.' && p !== '/') {
      if (delSet.has(p)) { covered = true; break; }
      p = posix.dirname(p);
    }
    if (covered) continue;
    items.set(d, items.has(d) ? 'C' : 'D');
  }
  return { lines: lines.length, dirTimeOnly, deletedLines: deleted.length, items };
}

/** Compare rsync's normalized set with layerkit's change list: same paths, same kinds? */
export function compareWithRsync(rsyncText, changes) {
  const rs = normalizeRsync(rsyncText);
  const lk = new Map(changes.map((c) => [c.path, c.kind]));
  const onlyRsync = [...rs.items.keys()].filter((p) => !lk.has(p));
  const onlyLk = [...lk.keys()].filter((p) => !rs.items.has(p));
  const kindDiff = [...lk.keys()].filter((p) => rs.items.has(p) && rs.items.get(p) !== lk.get(p));
  return { ...rs, normalized: rs.items.size, onlyRsync, onlyLk, kindDiff, same: !onlyRsync.length && !onlyLk.length && !kindDiff.length };
}

// ---------------------------------------------------------------- layer checks

const ancestorsOf = (p) => {
  const out = [];
  for (let d = posix.dirname(p); d !== '.' && d !== '/'; d = posix.dirname(d)) out.push(d);
  return out;
};

/**
 * The exact check of a layerkit layer against `layerkit changes` on the same pair:
 * - every A/C path is an entry; every D path has its whiteout `dir/.wh.name` or an opaque marker
 *   `dir/.wh..wh..opq` in its parent;
 * - every other entry is a directory that is an ancestor of one of those (the parents G-rules
 *   require); no name appears twice.
 */
export function checkLayerkitLayer(entries, changes) {
  const problems = [];
  const names = new Map();
  for (const e of entries) {
    if (names.has(e.name)) problems.push(`duplicate entry ${e.name}`);
    names.set(e.name, e.type);
  }
  const expected = new Set();
  let whiteouts = 0;
  let opaque = 0;
  for (const c of changes) {
    if (c.kind !== 'D') {
      if (!names.has(c.path)) problems.push(`missing ${c.kind} ${c.path}`);
      expected.add(c.path);
      continue;
    }
    const dir = posix.dirname(c.path);
    const wh = posix.join(dir, '.wh.' + posix.basename(c.path));
    const opq = posix.join(dir, '.wh..wh..opq');
    if (names.has(wh)) { if (!expected.has(wh)) whiteouts++; expected.add(wh); }
    else if (names.has(opq)) { if (!expected.has(opq)) opaque++; expected.add(opq); }
    else problems.push(`no whiteout for D ${c.path}`);
  }
  const ancestors = new Set();
  for (const p of expected) for (const a of ancestorsOf(p)) ancestors.add(a);
  let parents = 0;
  for (const [n, t] of names) {
    if (expected.has(n)) continue;
    if (ancestors.has(n) && t === 'd') parents++;
    else problems.push(`unexpected entry ${n} (${t})`);
  }
  const ac = changes.filter((c) => c.kind !== 'D').length;
  return { entries: entries.length, detail: `${ac} A/C + ${whiteouts} whiteouts + ${opaque} opaque + ${parents} parent dirs`, problems };
}

/** GNU tar of the changed paths: exactly the A/C paths of `layerkit changes`, nothing else. */
export function checkTarBaseline(entries, changes) {
  const want = new Set(changes.filter((c) => c.kind !== 'D').map((c) => c.path));
  const got = new Set(entries.map((e) => e.name));
  const problems = [];
  if (got.size !== entries.length) problems.push('duplicate entries');
  for (const p of want) if (!got.has(p)) problems.push(`missing ${p}`);
  for (const p of got) if (!want.has(p)) problems.push(`unexpected ${p}`);
  return { entries: entries.length, detail: `= the ${want.size} A/C paths`, problems };
}

/**
 * umoci's layer against layerkit's change set: umoci's choices are its own, so this only fails if
 * the listing fails; it reports what umoci leaves out and what it adds (directories whose only
 * change is the mtime, and other entries layerkit and rsync consider unchanged).
 */
export function describeUmociLayer(entries, changes) {
  const names = new Map(entries.map((e) => [e.name, e.type]));
  const missing = [];
  const covered = new Set();
  for (const c of changes) {
    if (c.kind !== 'D') {
      if (names.has(c.path)) covered.add(c.path); else missing.push(c.path);
      continue;
    }
    const cands = [c.path, ...ancestorsOf(c.path)].flatMap((p) => [
      posix.join(posix.dirname(p), '.wh.' + posix.basename(p)), posix.join(posix.dirname(p), '.wh..wh..opq')]);
    const hit = cands.find((w) => names.has(w));
    if (hit) covered.add(hit); else missing.push(c.path);
  }
  let extraDirs = 0;
  let extraWh = 0;
  const extraOther = [];
  for (const [n, t] of names) {
    if (covered.has(n)) continue;
    if (posix.basename(n).startsWith('.wh.')) extraWh++;
    else if (t === 'd') extraDirs++;
    else extraOther.push(n);
  }
  return {
    entries: entries.length,
    detail: `${entries.length - extraDirs - extraWh - extraOther.length} of layerkit's set + ${extraDirs} dirs + ${extraWh} more whiteouts + ${extraOther.length} unchanged non-dirs; misses ${missing.length}`,
    missing, extraOther, problems: [],
  };
}

// ---------------------------------------------------------------- umoci

/** An OCI layout L whose tag `base` holds OLD as one layer (made once, outside timing). */
export function umociPrepare(oldDir, work) {
  const L = join(work, 'umoci-layout');
  const B = join(work, 'umoci-bundle');
  rmSync(L, { recursive: true, force: true });
  rmSync(B, { recursive: true, force: true });
  run('umoci', ['init', '--layout', L]);
  run('umoci', ['new', '--image', `${L}:empty`]);
  run('umoci', ['unpack', '--image', `${L}:empty`, B]);
  run('rsync', ['-a', '--delete', oldDir + '/', join(B, 'rootfs') + '/']);
  run('umoci', ['repack', '--image', `${L}:base`, B]);
  rmSync(B, { recursive: true, force: true });
  return { L, B };
}

/** Before each timed repack (not timed): a fresh bundle of L:base whose rootfs is made equal to NEW. */
export function umociBundle({ L, B }, newDir) {
  rmSync(B, { recursive: true, force: true });
  run('umoci', ['gc', '--layout', L]);
  run('umoci', ['unpack', '--image', `${L}:base`, B]);
  run('rsync', ['-a', '--delete', newDir + '/', join(B, 'rootfs') + '/']);
}

/** The last layer of tag `tag` in layout L: {path, digest, size, diffID} from index, manifest, config. */
export function umociTopLayer(L, tag) {
  const blob = (d) => join(L, 'blobs', ...d.split(':'));
  const index = JSON.parse(readFileSync(join(L, 'index.json'), 'utf8'));
  const m = index.manifests.find((x) => x.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!m) throw new Error(`umoci: no tag ${tag} in ${L}`);
  const manifest = JSON.parse(readFileSync(blob(m.digest), 'utf8'));
  const config = JSON.parse(readFileSync(blob(manifest.config.digest), 'utf8'));
  const layer = manifest.layers.at(-1);
  return { path: blob(layer.digest), digest: layer.digest, size: layer.size, mediaType: layer.mediaType, diffID: config.rootfs.diff_ids.at(-1) };
}

// ---------------------------------------------------------------- one case: a pair of trees

/**
 * Benchmark one pair OLD -> NEW. Every implementation runs once per run, in an order rotated from
 * run to run; every timed result is checked (see each `check`). Returns the rows for the tables.
 */
export async function runCase({ label, oldDir, newDir, runs, umoci, lk, expectChanges }) {
  const work = join(outRoot, label);
  mkdirSync(work, { recursive: true });
  const node = process.execPath;
  log(`${label}: preparing (snapshot of OLD, reference change list${umoci ? ', umoci layout' : ''}) ...`);

  // Once, outside timing: the snapshot of OLD (its own cost is reported on a side line), the
  // reference change list (also warms the page cache), the path list for GNU tar.
  const snap = join(work, 'old.snap');
  const snapT = timeCmd([node, lk, 'snapshot', '-q', oldDir, '-o', snap]);
  const snapshot = { wall: snapT.wall, rssKiB: snapT.rssKiB, bytes: statSync(snap).size };
  const refText = run(node, [lk, 'changes', oldDir, newDir]);
  const changes = parseChanges(refText);
  if (expectChanges) {
    const got = changes.map((c) => `${c.kind} ${c.path}`).sort();
    const want = [...expectChanges].sort();
    if (got.length !== want.length || got.some((x, i) => x !== want[i])) {
      const missing = want.filter((x) => !got.includes(x)).slice(0, 5);
      const extra = got.filter((x) => !want.includes(x)).slice(0, 5);
      throw new Error(`${label}: layerkit changes differs from the generator's change set (missing ${missing}, extra ${extra})`);
    }
  }
  const listFile = join(work, 'changed-paths.nul');
  writeFileSync(listFile, changes.filter((c) => c.kind !== 'D').map((c) => c.path + '\0').join(''));
  const counts = { A: 0, C: 0, D: 0 };
  for (const c of changes) counts[c.kind]++;
  run('rsync', ['-ani', '--delete', newDir + '/', oldDir + '/']); // warm-up
  const um = umoci ? umociPrepare(oldDir, work) : null;

  const env = { NEW: newDir, LIST: listFile };
  const tarCmd = 'tar -C "$NEW" --no-recursion --null -T "$LIST" -cf -';
  // Warm-up (not timed): read the changed files of NEW once, so that the first timed command of
  // run 1 does not pay for cold reads (this machine's page cache is reclaimed proactively).
  run('bash', ['-c', `set -o pipefail; ${tarCmd} | cat > /dev/null`], { env: { ...process.env, ...env } });
  const pipeline = (tail) => ['bash', '-c', `set -o pipefail; ${tarCmd} ${tail}`];
  const lkDiff = (file) => [node, lk, 'diff', '-q', '--json', oldDir, newDir, '-o', file];
  const checkLk = (compression, file) => async (r) => {
    const j = JSON.parse(readFileSync(r.stdoutFile, 'utf8'));
    const size = statSync(file).size;
    if (size !== j.size) throw new Error(`layerkit diff: --json size ${j.size} != file size ${size}`);
    const dg = await sha256File(file);
    if (dg !== j.digest) throw new Error(`layerkit diff: digest ${j.digest} != sha256 of ${file} ${dg}`);
    const l = await listLayer(file, compression);
    if (l.diffID !== j.diffID) throw new Error(`layerkit diff: diffID ${j.diffID} != sha256 of the tar ${l.diffID}`);
    return { size, digest: j.digest, warnings: l.warnings, ...checkLayerkitLayer(l.entries, changes) };
  };
  const checkTar = (compression, file) => async () => {
    const l = await listLayer(file, compression);
    return { size: statSync(file).size, digest: l.diffID, warnings: l.warnings, ...checkTarBaseline(l.entries, changes) };
  };
  const out = (n) => join(work, n);
  const impls = [
    { group: 'detect', name: 'rsync -ani --delete NEW/ OLD/ (dry run)', key: 'rsync',
      argv: ['rsync', '-ani', '--delete', newDir + '/', oldDir + '/'], stdout: out('rsync.txt'),
      check: async (r) => ({ text: readFileSync(r.stdoutFile, 'utf8') }) },
    { group: 'detect', name: 'layerkit changes OLD NEW', key: 'lk-dir',
      argv: [node, lk, 'changes', oldDir, newDir], stdout: out('lk-changes-dir.txt'),
      check: async (r) => sameText(r.stdoutFile, refText, 'layerkit changes OLD NEW') },
    { group: 'detect', name: 'layerkit changes OLD.snap NEW', key: 'lk-snap',
      argv: [node, lk, 'changes', snap, newDir], stdout: out('lk-changes-snap.txt'),
      check: async (r) => sameText(r.stdoutFile, refText, 'layerkit changes OLD.snap NEW') },
    ...(um ? [{ group: 'diff', name: 'umoci repack (gzip)', key: 'umoci', fmt: 'gzip',
      prep: () => umociBundle(um, newDir),
      argv: ['umoci', 'repack', '--image', `${um.L}:new`, um.B],
      check: async () => {
        const t = umociTopLayer(um.L, 'new');
        const dg = await sha256File(t.path);
        if (dg !== t.digest) throw new Error(`umoci: blob ${t.path} hashes to ${dg}`);
        const l = await listLayer(t.path, 'gzip');
        if (l.diffID !== t.diffID) throw new Error(`umoci: diffID ${t.diffID} != sha256 of the tar ${l.diffID}`);
        return { size: t.size, digest: t.digest, warnings: l.warnings, ...describeUmociLayer(l.entries, changes) };
      } }] : []),
    { group: 'diff', name: 'layerkit diff -o x.tar.gz', key: 'lk-gz', fmt: 'gzip',
      argv: lkDiff(out('lk.tar.gz')), stdout: out('lk-gz.json'), check: checkLk('gzip', out('lk.tar.gz')) },
    { group: 'diff', name: 'layerkit diff -o x.tar.zst', key: 'lk-zst', fmt: 'zstd',
      argv: lkDiff(out('lk.tar.zst')), stdout: out('lk-zst.json'), check: checkLk('zstd', out('lk.tar.zst')) },
    { group: 'diff', name: 'layerkit diff -o x.tar', key: 'lk-tar', fmt: 'none',
      argv: lkDiff(out('lk.tar')), stdout: out('lk-tar.json'), check: checkLk('none', out('lk.tar')) },
    { group: 'diff', name: 'GNU tar changed paths | gzip', key: 'tar-gz', fmt: 'gzip',
      argv: pipeline(`| gzip > ${JSON.stringify(out('tar.tar.gz'))}`), env, check: checkTar('gzip', out('tar.tar.gz')) },
    { group: 'diff', name: `GNU tar changed paths | pigz -p ${cpus().length}`, key: 'tar-pigz', fmt: 'gzip',
      argv: pipeline(`| pigz -p ${cpus().length} > ${JSON.stringify(out('tar-pigz.tar.gz'))}`), env, check: checkTar('gzip', out('tar-pigz.tar.gz')) },
    { group: 'diff', name: 'GNU tar changed paths | zstd -3 -T0', key: 'tar-zst', fmt: 'zstd',
      argv: pipeline(`| zstd -q -3 -T0 > ${JSON.stringify(out('tar.tar.zst'))}`), env, check: checkTar('zstd', out('tar.tar.zst')) },
    { group: 'diff', name: 'GNU tar changed paths (no compression)', key: 'tar-none', fmt: 'none',
      argv: pipeline(`> ${JSON.stringify(out('tar.tar'))}`), env, check: checkTar('none', out('tar.tar')) },
  ];

  const results = new Map(impls.map((i) => [i.key, []]));
  let rsyncText = null;
  for (let r = 0; r < runs; r++) {
    const order = impls.map((_, i) => impls[(i + r) % impls.length]);
    for (const impl of order) {
      if (impl.prep) impl.prep();
      const t = timeCmd(impl.argv, { stdoutFile: impl.stdout, env: impl.env });
      const c = await impl.check({ ...t, stdoutFile: impl.stdout });
      if (c.problems?.length) throw new Error(`${label}: ${impl.name}, run ${r + 1}: ${c.problems.slice(0, 10).join('; ')}`);
      if (impl.key === 'rsync') {
        if (rsyncText !== null && c.text !== rsyncText) throw new Error(`${label}: rsync output differs between runs`);
        rsyncText = c.text;
        c.entries = c.text.split('\n').filter(Boolean).length;
      }
      results.get(impl.key).push({ ...t, ...c });
    }
    log(`${label}: run ${r + 1}/${runs} done`);
  }
  // The layers and umoci's layout are large (GBs for the 2 GiB file): not kept.
  for (const n of ['lk.tar.gz', 'lk.tar.zst', 'lk.tar', 'tar.tar.gz', 'tar-pigz.tar.gz', 'tar.tar.zst', 'tar.tar']) rmSync(out(n), { force: true });
  if (um) { rmSync(um.L, { recursive: true, force: true }); rmSync(um.B, { recursive: true, force: true }); }
  // Reproducibility of layerkit's layers across runs (the same digest every run).
  const repro = {};
  for (const k of ['lk-gz', 'lk-zst', 'lk-tar']) repro[k] = new Set(results.get(k).map((x) => x.digest)).size === 1;

  const rows = impls.map((impl) => {
    const rs = results.get(impl.key);
    const last = rs.at(-1);
    return {
      key: impl.key, group: impl.group, name: impl.name, fmt: impl.fmt,
      wall: median(rs.map((x) => x.wall)), rss: median(rs.map((x) => x.rssKiB)) / 1024,
      cpu: median(rs.map((x) => x.cpu / x.wall)),
      size: impl.group === 'diff' ? median(rs.map((x) => x.size)) : null,
      entries: impl.group === 'diff' ? last.entries : (impl.key === 'rsync' ? last.entries : changes.length),
      detail: last.detail, warnings: last.warnings, missing: last.missing, extraOther: last.extraOther,
    };
  });
  return { label, runs, rows, counts, changes, compare: compareWithRsync(rsyncText, changes), snapshot, repro };
}

function sameText(file, ref, what) {
  if (readFileSync(file, 'utf8') !== ref) throw new Error(`${what}: output differs from the reference change list`);
  return {};
}

// ---------------------------------------------------------------- tables

const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
const f = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));

/** The text tables of one case (change detection; diff to a layer), with ratios. */
export function formatCase(res, title) {
  const L = [];
  const row = (k) => res.rows.find((r) => r.key === k);
  const { A, C, D } = res.counts;
  L.push(`${title}`);
  L.push(`layerkit changes: ${res.changes.length} lines (${A} A, ${C} C, ${D} D). Medians of ${res.runs} runs; cpu = (user+sys)/wall.`);
  L.push('');
  const rs = row('rsync');
  L.push(`${pad('change detection', 44)}${lpad('wall s', 8)}${lpad('cpu', 6)}${lpad('RSS MiB', 9)}${lpad('lines', 8)}${lpad('x rsync', 9)}`);
  for (const r of res.rows.filter((x) => x.group === 'detect')) {
    L.push(`${pad(r.name, 44)}${lpad(f(r.wall, 3), 8)}${lpad(f(r.cpu), 6)}${lpad(f(r.rss, 1), 9)}${lpad(r.entries, 8)}${lpad(f(r.wall / rs.wall), 9)}`);
  }
  L.push(`(snapshot of OLD, once, before timing: ${f(res.snapshot.wall)} s, ${f(res.snapshot.rssKiB / 1024, 1)} MiB RSS, ${(res.snapshot.bytes / 1e6).toFixed(2)} MB file)`);
  const cmp = res.compare;
  L.push(`rsync vs layerkit: ${cmp.lines} rsync lines - ${cmp.dirTimeOnly} dirs with only an mtime change - ` +
    `${cmp.deletedLines} deletions collapsed to the topmost deleted path = ${cmp.normalized} paths; ` +
    (cmp.same ? `same paths and kinds (A/C/D) as layerkit's ${res.changes.length}.`
      : `DIFFERS: ${cmp.onlyRsync.length} only in rsync (${cmp.onlyRsync.slice(0, 5).join(', ')}), ` +
        `${cmp.onlyLk.length} only in layerkit (${cmp.onlyLk.slice(0, 5).join(', ')}), ${cmp.kindDiff.length} with another kind (${cmp.kindDiff.slice(0, 5).join(', ')}).`));
  L.push('');
  const um = row('umoci');
  const tarOf = { gzip: row('tar-gz'), zstd: row('tar-zst'), none: row('tar-none') };
  L.push(`${pad('diff to a layer', 44)}${lpad('wall s', 8)}${lpad('cpu', 6)}${lpad('RSS MiB', 9)}${lpad('size MB', 10)}${lpad('entries', 9)}` +
    (um ? `${lpad('t/umoci', 9)}${lpad('sz/umoci', 10)}` : '') + `${lpad('t/tar', 7)}`);
  for (const r of res.rows.filter((x) => x.group === 'diff')) {
    const base = tarOf[r.fmt];
    L.push(`${pad(r.name, 44)}${lpad(f(r.wall, 3), 8)}${lpad(f(r.cpu), 6)}${lpad(f(r.rss, 1), 9)}${lpad(f(r.size / 1e6, 3), 10)}${lpad(r.entries, 9)}` +
      (um ? `${lpad(f(r.wall / um.wall), 9)}${lpad(f(r.size / um.size, 3), 10)}` : '') + `${lpad(f(r.wall / base.wall), 7)}`);
  }
  L.push(`t/tar: time over GNU tar of the changed paths with the same compression (gzip -6 for gzip rows).`);
  L.push(`Checked every run: layerkit's digest = sha256 of the file, its diffID = sha256 of the tar, and the tar holds exactly`);
  L.push(`layerkit's changes + whiteouts + parent dirs (${row('lk-tar').detail}); each layer's digest was the same`);
  L.push(`in all runs: gz ${res.repro['lk-gz'] ? 'yes' : 'NO'}, zst ${res.repro['lk-zst'] ? 'yes' : 'NO'}, tar ${res.repro['lk-tar'] ? 'yes' : 'NO'}. GNU tar layers hold exactly the A/C paths.`);
  if (um) {
    L.push(`umoci's layer (digest and diffID checked against its manifest and config): ${um.detail}` +
      (um.extraOther.length ? ` (e.g. ${um.extraOther.slice(0, 3).join(', ')})` : '') +
      (um.missing.length ? `; misses ${um.missing.slice(0, 5).join(', ')}` : '') + '.');
  }
  const warn = res.rows.filter((r) => r.warnings);
  for (const r of warn) L.push(`tar -t warned on ${r.name}: ${r.warnings.split('\n').slice(0, 3).join(' | ')}`);
  return L.join('\n');
}
