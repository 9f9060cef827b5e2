// gzip benchmark: layerkit's deflate kernel (gzipStream, inline and on a 2-worker pool) against
// gzip -6, pigz -p 2 -6 and node:zlib level 6, on a realistic input (default: the first 128 MiB
// of a GNU tar of /usr/share, made once and cached). Prints medians of N runs (implementations take
// turns within each run), MB/s, output size and ratios against gzip -6. Every layerkit output is
// checked: it inflates back to the input, and all its runs (inline and pool) are byte-identical.
// Usage: npm run build && node bench/gzip/run.mjs [--runs N] [--input FILE] [--mib N]
import { spawn, execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const runs = Number(arg('--runs', '3'));
const mib = Number(arg('--mib', '128'));

if (!existsSync(join(root, 'dist/oci/gzip.js'))) {
  console.error('bench: dist/ is missing: run `npm run build` first');
  process.exit(1);
}
const { gzipStream } = await import(join(root, 'dist/oci/gzip.js'));
const { createNodeDeflatePool } = await import(join(root, 'dist/platform/deflate-pool-node.js'));

let input = arg('--input', undefined);
if (!input) {
  const dir = join(tmpdir(), 'layerkit-bench-gzip');
  mkdirSync(dir, { recursive: true });
  input = join(dir, `usr-share-${mib}M.tar`);
  if (!existsSync(input) || statSync(input).size !== mib << 20) {
    console.error(`bench: making ${input} (GNU tar of /usr/share, first ${mib} MiB) ...`);
    execSync(`tar --sort=name --owner=0 --group=0 --numeric-owner -cf - -C /usr share 2>/dev/null | head -c ${mib << 20} > '${input}.tmp' && mv '${input}.tmp' '${input}'`, { shell: '/bin/bash' });
  }
}
const data = readFileSync(input);
const MB = data.length / 1e6;

/** Run a command with the input on stdin; resolves to the output size in bytes. */
function tool(cmd, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    let n = 0;
    p.stdout.on('data', (b) => { n += b.length; });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(n) : reject(new Error(`${cmd} exited ${code}`))));
    p.stdin.end(data);
  });
}

async function layerkit(pool) {
  async function* source() {
    for (let off = 0; off < data.length; off += 1 << 20) yield data.subarray(off, off + (1 << 20));
  }
  const parts = [];
  for await (const c of gzipStream(source(), 6, pool)) parts.push(c);
  return Buffer.concat(parts);
}

const pool2 = createNodeDeflatePool(2);
const layerkitDigests = new Set();
const checkLayerkit = (gz) => {
  layerkitDigests.add(createHash('sha256').update(gz).digest('hex'));
  return gz.length;
};
const IMPLS = [
  ['gzip -6', () => tool('gzip', ['-6', '-c'])],
  ['pigz -p 2 -6', () => tool('pigz', ['-p', '2', '-6', '-c'])],
  ['node:zlib level 6 (1 thread)', async () => zlib.gzipSync(data, { level: 6 }).length],
  ['layerkit gzip -6 (1 thread)', async () => checkLayerkit(await layerkit(undefined))],
  ['layerkit gzip -6 (2 workers)', async () => checkLayerkit(await layerkit(pool2))],
];

// correctness first (untimed): layerkit's output inflates back to the input
const gz = await layerkit(undefined);
if (Buffer.compare(zlib.gunzipSync(gz), data) !== 0) throw new Error('layerkit gzip does not round-trip');
checkLayerkit(gz);

const times = new Map(IMPLS.map(([n]) => [n, []]));
const sizes = new Map();
for (let r = 0; r < runs; r++) {
  for (const [name, f] of IMPLS) {
    const t0 = process.hrtime.bigint();
    const size = await f();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    times.get(name).push(s);
    sizes.set(name, size);
    console.error(`bench: run ${r + 1}/${runs} ${name}: ${s.toFixed(2)} s`);
  }
}
pool2.close();
if (layerkitDigests.size !== 1) throw new Error(`layerkit outputs differ between runs or pools: ${[...layerkitDigests].join(', ')}`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(times.get('gzip -6'));
const baseSize = sizes.get('gzip -6');
const rows = [['implementation', 'median s', 'MB/s', 'output bytes', 'size / gzip -6', 'speed / gzip -6']];
for (const [name] of IMPLS) {
  const t = median(times.get(name));
  rows.push([name, t.toFixed(2), (MB / t).toFixed(1), String(sizes.get(name)), (sizes.get(name) / baseSize).toFixed(4), (base / t).toFixed(2) + 'x']);
}
const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
console.log(`input: ${input} (${data.length} bytes); ${runs} runs; ${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}`);
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
console.log(`layerkit output sha256 (all runs, inline and pool): ${[...layerkitDigests][0]}`);
