#!/usr/bin/env node
// The bundled example of layerkit's main job: two small trees (a "base image" and the same tree
// after an install), then `layerkit changes` and `layerkit diff` on them, run as a user would.
//
// The trees are written from the specs below rather than stored in git, because git does not keep
// mtimes: a fresh clone would give every file a new mtime and every file would look changed.
// Here every entry gets a fixed mtime, so the layer's digest is the same run after run (owners
// are the numeric ids of whoever runs it: as root the digest below is the one in README.md).
//
//   npm run build && node examples/diff-example.mjs [WORKDIR]     (default WORKDIR: .tmp/example)
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, symlinkSync, linkSync, chmodSync, lutimesSync, readdirSync, lstatSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = resolve(process.argv[2] ?? join(repo, '.tmp/example'));
const MTIME = new Date('2026-01-01T00:00:00Z');

// path -> a string (a 0644 file), { text, mode }, { link: target } (symlink), { hard: path }
// (hardlink), { dir: true } (an empty directory); undefined removes a path of the base.
const base = {
  'etc/hostname': 'base\n',
  'etc/os-release': 'NAME="Example Linux"\nVERSION_ID="1"\n',
  'usr/bin/hello': { text: '#!/bin/sh\necho hello\n', mode: 0o755 },
  'usr/bin/hi': { hard: 'usr/bin/hello' },
  'usr/lib/libgreet.so.1': 'greet v1\n',
  'usr/lib/libgreet.so': { link: 'libgreet.so.1' },
  'usr/share/doc/greet/README': 'greet: says hello\n',
  'usr/share/doc/greet/CHANGES': 'v1: first\n',
  'var/cache/apt/pkgcache.bin': 'cache v1\n',
};
const next = {
  ...base,
  'etc/hostname': { text: 'base\n', mode: 0o600 },                   // metadata-only change
  'usr/bin/hello': { text: '#!/bin/sh\necho hello, world\n', mode: 0o755 }, // content change (and its hardlink)
  'usr/bin/hi': { hard: 'usr/bin/hello' },
  'usr/lib/libgreet.so.2': 'greet v2\n',                              // added
  'usr/lib/libgreet.so': { link: 'libgreet.so.2' },                   // symlink retargeted
  'usr/lib/libgreet.so.1': undefined,                                 // deleted -> whiteout
  'usr/share/doc/greet/README': undefined,                            // whole directory deleted
  'usr/share/doc/greet/CHANGES': undefined,
  'var/cache/apt/pkgcache.bin': undefined,                            // directory emptied
  'var/cache/apt': { dir: true },
  'usr/share/doc': { dir: true },
  'opt/app/config.json': '{"greeting":"hello"}\n',                    // new directory
};

function write(root, spec) {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  for (const [path, v] of Object.entries(spec)) {
    if (v === undefined) continue;
    const p = join(root, path);
    mkdirSync(dirname(p), { recursive: true });
    if (typeof v === 'string') writeFileSync(p, v, { mode: 0o644 });
    else if (v.text !== undefined) { writeFileSync(p, v.text); chmodSync(p, v.mode); }
    else if (v.link !== undefined) symlinkSync(v.link, p);
    else if (v.hard !== undefined) linkSync(join(root, v.hard), p);
    else if (v.dir) mkdirSync(p, { recursive: true });
  }
  const stamp = (p) => {
    const st = lstatSync(p);
    if (st.isDirectory()) { chmodSync(p, 0o755); for (const n of readdirSync(p)) stamp(join(p, n)); }
    lutimesSync(p, MTIME, MTIME);
  };
  stamp(root);
}

const oldDir = join(work, 'old');
const newDir = join(work, 'new');
write(oldDir, base);
write(newDir, next);

const cli = join(repo, 'bin/layerkit.js');
const run = (args) => {
  console.log(`$ layerkit ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(['changes', oldDir, newDir]);
run(['diff', oldDir, newDir, '-o', join(work, 'layer.tar.gz')]);
console.log(`\nlayer: ${join(work, 'layer.tar.gz')}  (list it: tar -tvzf ${join(work, 'layer.tar.gz')})`);
