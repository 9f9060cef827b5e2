// Hash benchmark suite: runs the BLAKE3, SHA-256 and CDC micro benchmarks (each checks every timed
// result and prints medians and ratios beside its peers) and writes their output into
// bench/RESULTS.md under "Hashing and chunking".
// Usage: npm run build && node bench/hash/run.mjs [--runs N] [--no-write]
import { spawnSync, execSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const ri = process.argv.indexOf('--runs');
const runs = ri > 0 ? process.argv[ri + 1] : '7';
const SUITES = [
  ['BLAKE3', 'blake3-micro.mjs'],
  ['SHA-256', 'sha256-micro.mjs'],
  ['Content-defined chunking', 'cdc-micro.mjs'],
];

if (!existsSync(join(root, 'dist/index.js'))) {
  console.error('bench: dist/ is missing: run `npm run build` first');
  process.exit(1);
}

const sections = [];
for (const [title, file] of SUITES) {
  console.error(`bench: ${title} (${file}) ...`);
  const r = spawnSync(process.execPath, [join(here, file), '--runs', runs], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  process.stdout.write(r.stdout);
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    console.error(`bench: ${file} failed (exit ${r.status}): results not written`);
    process.exit(1);
  }
  sections.push(`### ${title}\n\n\`\`\`\n${r.stdout.trim()}\n\`\`\``);
}

if (process.argv.includes('--no-write')) process.exit(0);
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const tools = ['b3sum --version', 'sha256sum --version | head -1', 'openssl version']
  .map((c) => { try { return execSync(c, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return null; } })
  .filter(Boolean).join('; ');
const block = `<!-- hash:start -->
## Hashing and chunking

Reproduce: \`npm run build && node bench/hash/run.mjs --runs ${runs}\` (about 5 minutes).
Run on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} x ${cpu}, Node ${process.version}; ${tools}.
Medians of ${runs} runs per size; implementations take turns within each run so machine noise hits
all alike; every timed digest is checked. This machine is shared: read ratios, not absolute MB/s.

${sections.join('\n\n')}
<!-- hash:end -->`;
const path = join(root, 'bench/RESULTS.md');
let doc = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n\nEach section says how to reproduce it.\n';
doc = doc.includes('<!-- hash:start -->')
  ? doc.replace(/<!-- hash:start -->[\s\S]*<!-- hash:end -->/, block)
  : `${doc.trimEnd()}\n\n${block}\n`;
writeFileSync(path, doc);
console.error('bench: wrote bench/RESULTS.md');
