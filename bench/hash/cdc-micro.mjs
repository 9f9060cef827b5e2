// CDC micro benchmark: MB/s medians (>= 5 runs) of layerkit's WASM chunker vs the TS reference.
// Every timed result is checked against the reference's boundaries.
// Usage: npx tsc -p tsconfig.build.json && node scripts/build-wasm.mjs (first) then
//   node bench/hash/cdc-micro.mjs [--runs N] [--mib N]
import { createChunker, chunkBoundaries, DEFAULT_CDC } from '../../dist/wasm/cdc.js';
import { chunkBoundariesRef } from '../../dist/ref/cdc.js';
import { kernels } from '../../dist/wasm/loader.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = Math.max(5, arg('--runs', 7));
const BIG = arg('--mib', 256) << 20;
const REF_LEN = 16 << 20;

/** xorshift32 words, little-endian (same generator as test/vectors/cdc.json). */
function xorshiftBytes(seed, n) {
  const out = new Uint8Array(n);
  const w = new Uint32Array(out.buffer, 0, n >>> 2);
  let x = seed >>> 0;
  for (let i = 0; i < w.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    w[i] = x;
  }
  return out;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function same(a, b, what) {
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
    throw new Error(`${what}: boundaries differ from the reference (${a.length} vs ${b.length} cuts)`);
  }
}

/** Time fn() RUNS times over `bytes` bytes each; check each result; return median MB/s. */
function bench(bytes, fn, expected, what) {
  same(fn(), expected, what); // warm-up (tier-up to optimized code), checked too
  const rates = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    const got = fn();
    const dt = performance.now() - t0;
    same(got, expected, what);
    rates.push(bytes / dt / 1e3);
  }
  spreads.push(`${what}: ${rates.map((r) => r.toFixed(0)).join(' ')}`);
  return median(rates);
}
const spreads = [];

const fmt = (x) => x.toFixed(0).padStart(7);
const data = xorshiftBytes(0x243F6A88, BIG);
const k = kernels();
const ptr = k.alloc(BIG);
k.view(ptr, BIG).set(data);

console.log(`cdc micro: ${RUNS} runs, medians in MB/s (10^6 bytes/s); node ${process.version}`);
const paramSets = [
  ['default (16K/64K/256K)', DEFAULT_CDC],
  ['avg 8K (2K/8K/32K)', { minSize: 2048, avgSize: 8192, maxSize: 32768 }],
];
for (const [label, opts] of paramSets) {
  // Reference answers: the TS reference over the whole input (untimed beyond one run).
  const t0 = performance.now();
  const expectedBig = chunkBoundariesRef(data, opts);
  const refOnce = BIG / (performance.now() - t0) / 1e3;
  const expectedRef = chunkBoundariesRef(data.subarray(0, REF_LEN), opts);

  const pushAt = bench(BIG, () => {
    const c = createChunker(opts);
    const out = c.pushAt(ptr, BIG);
    out.push(...c.finish());
    return out;
  }, expectedBig, `${label} pushAt`);
  const push = bench(BIG, () => chunkBoundaries(data, opts), expectedBig, `${label} push`);
  const ref = bench(REF_LEN, () => chunkBoundariesRef(data.subarray(0, REF_LEN), opts), expectedRef, `${label} ref`);

  // Small inputs: many one-shot calls per timed run.
  const small = [];
  for (const [name, len, reps] of [['1 KiB', 1024, 20000], ['64 KiB', 65536, 2000]]) {
    const piece = data.subarray(0, len);
    const exp = chunkBoundariesRef(piece, opts);
    const rate = bench(len * reps, () => {
      let last;
      for (let i = 0; i < reps; i++) last = chunkBoundaries(piece, opts);
      return last;
    }, exp, `${label} ${name}`);
    small.push(`${name} ${fmt(rate)}`);
  }
  console.log(`\n${label}: ${expectedBig.length} chunks in ${BIG >> 20} MiB (mean ${(BIG / expectedBig.length / 1024).toFixed(1)} KiB)`);
  console.log(`  wasm pushAt (bytes in kernel memory) ${fmt(pushAt)}`);
  console.log(`  wasm push (copied from a JS buffer)  ${fmt(push)}`);
  console.log(`  TS reference (${REF_LEN >> 20} MiB)             ${fmt(ref)}   (one 256 MiB run: ${refOnce.toFixed(0)})`);
  console.log(`  ratio pushAt / reference             ${(pushAt / ref).toFixed(1).padStart(7)}x`);
  console.log(`  one-shot chunkBoundaries: ${small.join(', ')}`);
}
k.free(ptr);
if (process.argv.includes('--all')) console.log('\nall runs (MB/s):\n  ' + spreads.join('\n  '));
