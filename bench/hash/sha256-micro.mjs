// SHA-256 micro benchmark: MB/s medians for 1 KiB, 64 KiB and 256 MiB inputs, ours beside peers,
// every timed digest checked against node:crypto's. Imports the built package (dist/).
//   npm run build:wasm && npx tsc -p tsconfig.build.json && node bench/hash/sha256-micro.mjs
// Options: --runs N (default 7, at least 5), --big MiB (default 256), --no-native
import { createHash, randomFillSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSHA256 } from 'hash-wasm';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { sha256, createSha256 } from '../../dist/wasm/sha256.js';
import { sha256Ref } from '../../dist/ref/sha256.js';
import { kernels } from '../../dist/wasm/loader.js';

const opt = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const RUNS = Math.max(5, opt('--runs', 7));
const BIG = opt('--big', 256) * 1024 * 1024;
const NATIVE = !process.argv.includes('--no-native');

const hw = await createSHA256();
const hex = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Implementations: name -> (data) => digest bytes. `small` marks the ones only run on small sizes. */
const impls = [
  { name: 'layerkit (wasm)', fn: (d) => sha256(d) },
  { name: 'layerkit TS ref', fn: (d) => sha256Ref(d), small: true },
  { name: 'hash-wasm', fn: (d) => hw.init().update(d).digest('binary') },
  { name: '@noble/hashes', fn: (d) => nobleSha256(d) },
  { name: 'node:crypto', fn: (d) => createHash('sha256').update(d).digest() },
];

function same(a, b) {
  if (a.length !== 32) return false;
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One timed run: `iters` digests of `data`, each checked. Returns MB/s. */
function timeRun(fn, data, want, iters) {
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) {
    const got = fn(data);
    if (!same(got, want)) throw new Error(`wrong digest: ${hex(got)} != ${hex(want)}`);
  }
  const ms = performance.now() - t0;
  return (data.length * iters) / 1e6 / (ms / 1e3);
}

const results = {}; // size label -> impl name -> median MB/s

function benchSize(label, size, targetBytes) {
  const data = randomFillSync(new Uint8Array(size));
  const want = createHash('sha256').update(data).digest();
  const iters = Math.max(1, Math.round(targetBytes / size));
  const list = impls.filter((m) => !(m.small && size > 1 << 20));
  for (const m of list) timeRun(m.fn, data, want, Math.max(1, Math.min(iters, 200))); // warm up
  const runs = Object.fromEntries(list.map((m) => [m.name, []]));
  // interleave the implementations run by run, so machine noise hits them alike
  for (let r = 0; r < RUNS; r++) {
    for (const m of list) {
      const n = m.small ? Math.max(1, Math.round(iters / 10)) : iters;
      runs[m.name].push(timeRun(m.fn, data, want, n));
    }
  }
  results[label] = Object.fromEntries(list.map((m) => [m.name, median(runs[m.name])]));
  return { data, want };
}

/** Ours on bytes already in kernel memory (updateAt): the file hasher's path, no copy. */
function benchInKernel(data, want) {
  const k = kernels();
  const ptr = k.alloc(data.length);
  k.view(ptr, data.length).set(data);
  const xs = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    const got = createSha256().updateAt(ptr, data.length).digest();
    const ms = performance.now() - t0;
    if (!same(got, want)) throw new Error('wrong digest (updateAt)');
    xs.push(data.length / 1e6 / (ms / 1e3));
  }
  k.free(ptr);
  return median(xs);
}

function benchNative(data, want) {
  const dir = mkdtempSync(join(tmpdir(), 'layerkit-sha256-bench-'));
  const file = join(dir, 'big.bin');
  writeFileSync(file, data);
  const out = {};
  const tools = [
    ['sha256sum', ['sha256sum', [file]], (s) => s.split(' ')[0]],
    ['openssl dgst -sha256', ['openssl', ['dgst', '-sha256', '-r', file]], (s) => s.split(' ')[0]],
  ];
  try {
    for (const [name, [cmd, args], parse] of tools) {
      const xs = [];
      for (let r = 0; r < RUNS + 1; r++) {
        const t0 = performance.now();
        const p = spawnSync(cmd, args, { encoding: 'utf8' });
        const ms = performance.now() - t0;
        if (p.error || p.status !== 0) {
          xs.length = 0;
          break;
        }
        if (parse(p.stdout) !== hex(want)) throw new Error(`${name}: wrong digest`);
        if (r > 0) xs.push(data.length / 1e6 / (ms / 1e3)); // run 0 warms the page cache
      }
      if (xs.length) out[`${name} (file)`] = median(xs);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/** Microseconds per one-shot call on `size` bytes (median of runs), per implementation. */
function perCall(size) {
  const data = randomFillSync(new Uint8Array(size));
  const want = createHash('sha256').update(data).digest();
  const iters = 20000;
  const list = impls.filter((x) => !x.small);
  for (const m of list) timeRun(m.fn, data, want, 2000);
  const runs = Object.fromEntries(list.map((m) => [m.name, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const m of list) {
      const t0 = performance.now();
      for (let i = 0; i < iters; i++) if (!same(m.fn(data), want)) throw new Error(`${m.name}: wrong digest`);
      runs[m.name].push(((performance.now() - t0) * 1e3) / iters);
    }
  }
  return Object.fromEntries(list.map((m) => [m.name, median(runs[m.name])]));
}

const fmt = (x) => x.toFixed(x < 10 ? 2 : 0).padStart(7);

console.log(`sha256 micro benchmark: node ${process.version}, ${RUNS} runs per cell, MB/s medians (1 MB = 1e6 B)`);
benchSize('1 KiB', 1024, 32 << 20);
benchSize('64 KiB', 64 << 10, 64 << 20);
const { data: big, want: bigWant } = benchSize(`${BIG >> 20} MiB`, BIG, BIG);
const bigLabel = `${BIG >> 20} MiB`;
results[bigLabel]['layerkit (updateAt, in kernel memory)'] = benchInKernel(big, bigWant);
if (NATIVE) Object.assign(results[bigLabel], benchNative(big, bigWant));

const OURS = 'layerkit (wasm)';
for (const [label, row] of Object.entries(results)) {
  console.log(`\n${label}`);
  for (const [name, v] of Object.entries(row)) {
    const ratio = name === OURS ? '' : `   ours/this ${(row[OURS] / v).toFixed(2)}x`;
    console.log(`  ${name.padEnd(40)} ${fmt(v)} MB/s${ratio}`);
  }
}

const pc = perCall(4096);
const p0 = perCall(0);
console.log('\nOne-shot calls, microseconds per call (median): 4 KiB, and an empty input (fixed cost: call,');
console.log('checks, one padding block, 32-byte result)');
for (const [name, us] of Object.entries(pc)) {
  const ratio = name === OURS ? '' : `   this/ours ${(us / pc[OURS]).toFixed(2)}x`;
  console.log(`  ${name.padEnd(40)} 4 KiB ${us.toFixed(2).padStart(6)} us   empty ${p0[name].toFixed(2).padStart(5)} us${ratio}`);
}
