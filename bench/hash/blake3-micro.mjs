// BLAKE3 micro benchmark: MB/s medians for 1 KiB, 64 KiB and 256 MiB inputs, ours beside peers,
// plus the per-call overhead of 4 KiB one-shots. Every timed digest is checked.
// Usage: npm run build:wasm && npx tsc -p tsconfig.build.json && node bench/hash/blake3-micro.mjs [--runs N]
// The machine may be shared and noisy: medians of >= 5 runs, and ratios, are what to read.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as blake3wasm from 'blake3-wasm';
import { createBLAKE3 } from 'hash-wasm';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { blake3, createBlake3, toHex } from '../../dist/wasm/blake3.js';
import { blake3Ref } from '../../dist/ref/blake3.js';
import { kernels } from '../../dist/wasm/loader.js';

const ri = process.argv.indexOf('--runs');
const RUNS = Math.max(5, ri > 0 ? Number(process.argv[ri + 1]) : 5);
const BIG = 256 << 20;
const SIZES = [1024, 64 << 10, BIG];

function fill(len) {
  const out = new Uint8Array(len);
  let x = 0x9e3779b9;
  for (let i = 0; i < len; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x; out[i + 1] = x >>> 8; out[i + 2] = x >>> 16; out[i + 3] = x >>> 24;
  }
  return out;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };

/**
 * A timed case: `fn` returns the 32-byte digest. Small inputs are repeated within a run until it
 * lasts ~40 ms. runOnce() returns MB/s and throws if any digest is wrong.
 */
function timedCase(name, len, expectedHex, fn) {
  const expected = Uint8Array.from(Buffer.from(expectedHex, 'hex'));
  const same = (d) => d.length === 32 && d.every((x, i) => x === expected[i]);
  if (!same(fn())) throw new Error(`${name}: wrong digest for ${len} bytes`);
  let reps = 1;
  if (len < (1 << 20)) {
    const t = performance.now();
    let n = 0;
    while (performance.now() - t < 20) { fn(); n++; }
    reps = Math.max(1, Math.ceil(n * 2));
  }
  return {
    name,
    runOnce() {
      const digests = new Array(reps);
      const t = performance.now();
      for (let i = 0; i < reps; i++) digests[i] = fn();
      const ms = performance.now() - t;
      const bad = digests.filter((d) => !same(d)).length;
      if (bad) throw new Error(`${name}: ${bad} wrong digests for ${len} bytes`);
      return (len * reps) / 1e3 / ms;
    },
  };
}

/** Run the cases round-robin (so load from other processes hits them alike); median MB/s each. */
function runAll(cases, runs) {
  const mbs = cases.map(() => []);
  for (let r = 0; r < runs; r++) cases.forEach((c, j) => mbs[j].push(c.runOnce()));
  return Object.fromEntries(cases.map((c, j) => [c.name, median(mbs[j])]));
}

function label(len) {
  return len >= 1 << 20 ? `${len >> 20} MiB` : `${len >> 10} KiB`;
}

await blake3wasm.load();
const hashWasm = await createBLAKE3();
const k = kernels();

const PEER_PIECE = 1 << 20; // blake3-wasm returns wrong digests for bigger updates
const impls = {
  ours: (d) => blake3(d),
  'ours-ref (TS)': (d) => blake3Ref(d),
  'blake3-wasm': (d) => {
    if (d.length <= PEER_PIECE) return blake3wasm.hash(d);
    const h = blake3wasm.createHash();
    for (let o = 0; o < d.length; o += PEER_PIECE) h.update(d.subarray(o, o + PEER_PIECE));
    return h.digest();
  },
  'hash-wasm': (d) => { hashWasm.init(); hashWasm.update(d); return hashWasm.digest('binary'); },
  '@noble/hashes': (d) => nobleBlake3(d),
};

// Warm-up: let every implementation's code reach its optimising tier (V8 tiers WASM up lazily,
// in the background) before anything is timed.
for (const fn of Object.values(impls)) {
  for (const len of [1024, 64 << 10]) {
    const d = fill(len);
    const t = performance.now();
    while (performance.now() - t < 150) fn(d);
  }
}

const results = {}; // results[size][impl] = MB/s
for (const len of SIZES) {
  const data = fill(len);
  // Expected digests: the TS reference for small inputs, b3sum for 256 MiB (the reference would take ~8 s).
  const file = join(tmpdir(), `layerkit-b3bench-${process.pid}-${len}`);
  if (len === BIG) writeFileSync(file, data);
  const want = len === BIG ? execFileSync('b3sum', ['--no-names', file]).toString().trim() : toHex(blake3Ref(data));
  const cases = [];
  for (const [name, fn] of Object.entries(impls)) {
    if (name === 'ours-ref (TS)' && len > (1 << 20)) continue;
    cases.push(timedCase(name, len, want, () => fn(data)));
  }
  let ptr = 0;
  if (len === BIG) {
    // Ours on bytes already in kernel memory (the file hasher's path: no copy into the window).
    ptr = k.alloc(len);
    k.u8().set(data, ptr);
    cases.push(timedCase('ours (updateAt)', len, want, () => createBlake3().updateAt(ptr, len).digest()));
    // Native b3sum, one thread, file in page cache (read once before timing).
    execFileSync('b3sum', ['--num-threads', '1', '--no-names', file]);
    cases.push({
      name: 'b3sum --num-threads 1',
      runOnce() {
        const t = performance.now();
        const p = spawnSync('b3sum', ['--num-threads', '1', '--no-names', file]);
        const ms = performance.now() - t;
        if (p.status !== 0 || p.stdout.toString().trim() !== want) throw new Error('b3sum: wrong digest');
        return len / 1e3 / ms;
      },
    });
  }
  results[len] = runAll(cases, RUNS);
  for (const [name, v] of Object.entries(results[len])) console.error(`  ${label(len)} ${name}: ${v.toFixed(0)} MB/s`);
  if (ptr) k.free(ptr);
  if (len === BIG) {
    rmSync(file, { force: true });
  }
}

// Per-call overhead of 4 KiB one-shots: the public call minus the bare kernel calls on bytes
// already in kernel memory (init + update + finalize, same work).
const small = fill(4096);
const smallHex = toHex(blake3Ref(small));
const ex = k.exports;
const ctx = k.alloc(ex.blake3_ctx_size());
const sp = k.alloc(4096 + 32);
k.u8().set(small, sp);
/** Median us per call of each fn; the fns take turns within every run, so noise hits them alike. */
const perCall = (fns, n) => {
  const us = fns.map(() => []);
  for (let r = 0; r < Math.max(RUNS, 9); r++) {
    fns.forEach((fn, j) => {
      const t = performance.now();
      for (let i = 0; i < n; i++) fn();
      us[j].push(((performance.now() - t) * 1e3) / n);
    });
  }
  return us.map(median);
};
const N = 20000;
if (toHex(blake3(small)) !== smallHex) throw new Error('4 KiB one-shot: wrong digest');
const bare = () => { ex.blake3_init(ctx); ex.blake3_update(ctx, sp, 4096); ex.blake3_finalize(ctx, sp + 4096, 32); };
bare();
if (toHex(k.view(sp + 4096, 32)) !== smallHex) throw new Error('4 KiB bare kernel: wrong digest');
const [oneShotUs, bareUs, peerUs, hwUs] = perCall([
  () => blake3(small),
  bare,
  () => blake3wasm.hash(small),
  () => { hashWasm.init(); hashWasm.update(small); hashWasm.digest('binary'); },
], N);
if (blake3wasm.hash(small).toString('hex') !== smallHex) throw new Error('blake3-wasm 4 KiB: wrong digest');

// Report.
const names = ['ours', 'ours (updateAt)', 'ours-ref (TS)', 'blake3-wasm', 'hash-wasm', '@noble/hashes', 'b3sum --num-threads 1'];
console.log(`BLAKE3 throughput, MB/s (median of ${RUNS} runs; node ${process.version})`);
console.log(['impl'.padEnd(24), ...SIZES.map((s) => label(s).padStart(10))].join(''));
for (const n of names) {
  const row = SIZES.map((s) => (results[s][n] === undefined ? '-' : results[s][n].toFixed(0)).padStart(10));
  console.log([n.padEnd(24), ...row].join(''));
}
console.log('\nratios ours / peer (>1 = ours faster)');
for (const n of names.slice(2)) {
  const row = SIZES.map((s) => (results[s][n] === undefined ? '-' : (results[s].ours / results[s][n]).toFixed(2)).padStart(10));
  console.log([n.padEnd(24), ...row].join(''));
}
const b3 = results[BIG]['b3sum --num-threads 1'];
console.log(`256 MiB: ours(updateAt)/b3sum = ${(results[BIG]['ours (updateAt)'] / b3).toFixed(2)}, ours(updateAt)/blake3-wasm = ${(results[BIG]['ours (updateAt)'] / results[BIG]['blake3-wasm']).toFixed(2)}`);
console.log(`\n4 KiB one-shot: ${oneShotUs.toFixed(2)} us/call; bare kernel calls ${bareUs.toFixed(2)} us; ` +
  `overhead ${(oneShotUs - bareUs).toFixed(2)} us (blake3-wasm hash() ${peerUs.toFixed(2)} us, hash-wasm ${hwUs.toFixed(2)} us)`);
