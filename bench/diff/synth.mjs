// Synthetic tree pairs for the diff benchmark, and (run directly) the benchmark on one of them.
//
//   node bench/diff/synth.mjs [--files N] [--changed SHARE] [--seed S] [--whole-seconds]
//                             [--runs N] [--umoci] [--generate-only]
//
// Makes bench/.cache/synth-N/{old,new}: N files (default 10000) of 512..8192 random bytes in
// nested directories (16-way fan-out, ~64 files per leaf directory), and a copy in which a share
// of them (default 0.01) changed: of those changes 50% rewrite a file with the same size, 20% with
// another size, 10% delete a file, 10% only chmod it (0644 -> 0755), 10% add a new file.
// Deterministic: a seeded PRNG decides, AES-128-CTR keyed by the seed makes the bytes; every file
// gets a fixed mtime (with a sub-second part unless --whole-seconds), identical in both trees when
// unchanged; directories get a fixed mtime, a later one in NEW where a file was added or deleted.
// A tree is regenerated only if bench/.cache/synth-N/params.json does not match the parameters.
//
// Size: ~5 KiB of file data per file per tree, so about 2 x 60 MB at 10 k, 2 x 600 MB at 100 k
// and 2 x 6 GB (plus 2 M inodes) at 1 M files; generation takes ~4 s, ~40 s and ~7 min here.
// The 1 M case is not part of the default run (see run.mjs --synth).
import { createCipheriv, createHash } from 'node:crypto';
import {
  chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statfsSync, utimesSync,
  writeFileSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argValue, cacheDir, hasFlag, log, freezeLayerkit, runCase, formatCase } from './lib.mjs';

const FAN = 16;
const PER_LEAF = 64;
const T0 = 1_600_000_000;

/** sfc32: a small seeded PRNG (decisions only; content comes from AES-CTR). */
function sfc32(seed) {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}

/** A deterministic byte stream (AES-128-CTR keystream keyed by the seed), handed out in slices. */
function byteStream(seed) {
  const key = createHash('sha256').update(`layerkit-synth:${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(8 << 20);
  let buf = Buffer.alloc(0);
  let off = 0;
  return (n) => {
    if (off + n > buf.length) {
      buf = Buffer.concat([buf.subarray(off), cipher.update(zeros)]);
      off = 0;
    }
    const out = buf.subarray(off, off + n);
    off += n;
    return out;
  };
}

export function synthDir(files) {
  return join(cacheDir, `synth-${files}`);
}

/**
 * Make (or reuse) the pair. Returns {dir, old, new, params, expect} where expect is the change
 * list layerkit must print (`A path` / `C path` / `D path`, paths relative to the root).
 */
export function makeSynth({ files = 10000, changed = 0.01, seed = 1, wholeSeconds = false } = {}) {
  const dir = synthDir(files);
  const oldDir = join(dir, 'old');
  const newDir = join(dir, 'new');
  const params = { version: 1, files, changed, seed, wholeSeconds };
  const pfile = join(dir, 'params.json');
  if (existsSync(pfile)) {
    const saved = JSON.parse(readFileSync(pfile, 'utf8'));
    if (JSON.stringify(saved.params) === JSON.stringify(params)) {
      log(`synth: reusing ${dir}`);
      return { dir, old: oldDir, new: newDir, params, expect: saved.expect, stats: saved.stats };
    }
  }
  const needGB = (2 * files * 6.5 * 1024) / 1e9;
  const st = statfsSync(cacheDir);
  const freeGB = (st.bavail * st.bsize) / 1e9;
  log(`synth: generating ${files} files (${changed} changed) into ${dir}: needs ~${needGB.toFixed(1)} GB, ${freeGB.toFixed(0)} GB free`);
  if (needGB > freeGB * 0.9) throw new Error(`synth: not enough disk space for ${files} files`);
  rmSync(dir, { recursive: true, force: true });
  process.umask(0o022);
  const t0 = Date.now();

  const rng = sfc32(seed);
  const bytes = byteStream(seed);
  const leaves = Math.ceil(files / PER_LEAF);
  const levels = Math.max(1, Math.ceil(Math.log(leaves) / Math.log(FAN)));
  const leafPath = (l) => {
    const parts = [];
    for (let i = 0; i < levels; i++) { parts.unshift('d' + (l % FAN).toString(16)); l = Math.floor(l / FAN); }
    return parts.join('/');
  };
  const dirs = new Set();
  for (let l = 0; l < leaves; l++) {
    const p = leafPath(l);
    for (let q = p; q; q = q.includes('/') ? q.slice(0, q.lastIndexOf('/')) : '') dirs.add(q);
  }
  for (const d of dirs) { mkdirSync(join(oldDir, d), { recursive: true }); mkdirSync(join(newDir, d), { recursive: true }); }

  // Which files change, and how.
  const k = Math.round(files * changed);
  const idx = new Uint32Array(files);
  for (let i = 0; i < files; i++) idx[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng() * (files - i));
    const t = idx[i]; idx[i] = idx[j]; idx[j] = t;
  }
  const nSame = Math.round(k * 0.5), nResize = Math.round(k * 0.2), nDel = Math.round(k * 0.1), nMode = Math.round(k * 0.1);
  const nAdd = Math.max(0, k - nSame - nResize - nDel - nMode);
  const kind = new Uint8Array(files); // 0 unchanged, 1 same size, 2 resize, 3 delete, 4 chmod
  for (let i = 0; i < k - nAdd; i++) kind[idx[i]] = i < nSame ? 1 : i < nSame + nResize ? 2 : i < nSame + nResize + nDel ? 3 : 4;

  const frac = () => (wholeSeconds ? 0 : Math.floor(rng() * 1e6) / 1e6);
  const sizeOf = () => 512 + Math.floor(rng() * 7681);
  const touched = new Set(); // leaf dirs whose entries change (add/delete): a later mtime in NEW
  const expect = [];
  let dataBytes = 0;
  const name = (i) => `${leafPath(i % leaves)}/f${String(i).padStart(7, '0')}.bin`;
  for (let i = 0; i < files; i++) {
    const p = name(i);
    const size = sizeOf();
    const mt = T0 + (i % 100000) + frac();
    const data = bytes(size);
    dataBytes += size;
    writeFileSync(join(oldDir, p), data);
    utimesSync(join(oldDir, p), mt, mt);
    const q = join(newDir, p);
    switch (kind[i]) {
      case 0:
        writeFileSync(q, data);
        utimesSync(q, mt, mt);
        break;
      case 1: case 2: {
        const mt2 = T0 + 50_000_000 + (i % 100000) + frac();
        writeFileSync(q, bytes(kind[i] === 1 ? size : sizeOf()));
        utimesSync(q, mt2, mt2);
        expect.push(`C ${p}`);
        break;
      }
      case 3:
        touched.add(leafPath(i % leaves));
        expect.push(`D ${p}`);
        break;
      case 4:
        writeFileSync(q, data);
        chmodSync(q, 0o755);
        utimesSync(q, mt, mt);
        expect.push(`C ${p}`);
        break;
    }
    if (i % 100000 === 99999) log(`synth: ${i + 1}/${files} files`);
  }
  for (let j = 0; j < nAdd; j++) {
    const l = Math.floor(rng() * leaves);
    const p = `${leafPath(l)}/new${String(j).padStart(7, '0')}.bin`;
    const mt = T0 + 60_000_000 + j + frac();
    writeFileSync(join(newDir, p), bytes(sizeOf()));
    utimesSync(join(newDir, p), mt, mt);
    touched.add(leafPath(l));
    expect.push(`A ${p}`);
  }
  for (const d of ['', ...dirs]) {
    utimesSync(join(oldDir, d), T0, T0);
    const t = touched.has(d) ? T0 + 70_000_000 : T0;
    utimesSync(join(newDir, d), t, t);
  }
  const stats = { dirs: dirs.size, dataBytes, changedFiles: k, same: nSame, resized: nResize, deleted: nDel, chmod: nMode, added: nAdd, seconds: (Date.now() - t0) / 1000 };
  writeFileSync(pfile, JSON.stringify({ params, stats, expect }));
  log(`synth: done in ${stats.seconds.toFixed(0)} s (${(dataBytes / 1e6).toFixed(0)} MB of file data per tree, ${dirs.size} dirs)`);
  return { dir, old: oldDir, new: newDir, params, expect, stats };
}

/**
 * A pair for the memory target "a diff holding a 2 GiB file": OLD holds 16 small files, NEW the
 * same plus big.bin (GiB of random bytes, default 2). bench/.cache/bigfile-<G>g/{old,new}.
 */
export function makeBigFile({ gib = 2, seed = 1 } = {}) {
  const dir = join(cacheDir, `bigfile-${gib}g`);
  const oldDir = join(dir, 'old');
  const newDir = join(dir, 'new');
  const params = { version: 1, gib, seed };
  const pfile = join(dir, 'params.json');
  const expect = ['A big.bin'];
  if (existsSync(pfile) && JSON.stringify(JSON.parse(readFileSync(pfile, 'utf8')).params) === JSON.stringify(params)) {
    log(`bigfile: reusing ${dir}`);
    return { dir, old: oldDir, new: newDir, params, expect };
  }
  log(`bigfile: writing a ${gib} GiB file into ${newDir}`);
  rmSync(dir, { recursive: true, force: true });
  process.umask(0o022);
  const bytes = byteStream(seed);
  mkdirSync(oldDir, { recursive: true });
  mkdirSync(newDir, { recursive: true });
  for (let i = 0; i < 16; i++) {
    const data = bytes(4096);
    for (const d of [oldDir, newDir]) { writeFileSync(join(d, `f${i}.bin`), data); utimesSync(join(d, `f${i}.bin`), T0 + i, T0 + i); }
  }
  const fd = openSync(join(newDir, 'big.bin'), 'w');
  for (let left = gib * 2 ** 30; left > 0; left -= 1 << 22) writeSync(fd, bytes(Math.min(left, 1 << 22)));
  closeSync(fd);
  utimesSync(join(newDir, 'big.bin'), T0 + 100, T0 + 100);
  utimesSync(oldDir, T0, T0);
  utimesSync(newDir, T0 + 200, T0 + 200);
  writeFileSync(pfile, JSON.stringify({ params }));
  return { dir, old: oldDir, new: newDir, params, expect };
}

export function synthTitle(s) {
  const p = s.params;
  const st = s.stats;
  return `synthetic ${p.files} files (${(st.dataBytes / 1e6).toFixed(0)} MB, ${st.dirs} dirs), ${p.changed * 100}% changed ` +
    `(${st.same} rewritten same size, ${st.resized} resized, ${st.chmod} chmod, ${st.deleted} deleted, ${st.added} added), ` +
    `seed ${p.seed}, ${p.wholeSeconds ? 'whole-second' : 'sub-second'} mtimes`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = makeSynth({
    files: Number(argValue('--files', '10000')),
    changed: Number(argValue('--changed', '0.01')),
    seed: Number(argValue('--seed', '1')),
    wholeSeconds: hasFlag('--whole-seconds'),
  });
  if (!hasFlag('--generate-only')) {
    const { bin } = freezeLayerkit();
    const res = await runCase({
      label: `synth-${s.params.files}`, oldDir: s.old, newDir: s.new, runs: Number(argValue('--runs', '5')),
      umoci: hasFlag('--umoci'), lk: bin, expectChanges: s.expect,
    });
    console.log(formatCase(res, synthTitle(s)));
  }
}
