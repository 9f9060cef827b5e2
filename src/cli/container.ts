/**
 * `layerkit container create|ls|diff|commit|rm|path|cp|rm-path|mkdir|mv` and `layerkit store gc`:
 * containers on OCI images, in a snapshot store.
 */
import { parseArgs } from 'node:util';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import { nodeFs } from '../fs/node.ts';
import { nodeStoreFs } from '../fs/node-store.ts';
import { openStore } from '../platform/store-node.ts';
import { openWriter } from '../platform/snapshot-writer.ts';
import type { TreeWriter } from '../snapshot/tree-writer.ts';
import {
  commitContainer, containerChangeList, containerPath, createContainer, getContainer, listContainers, pruneImageSnapshots,
  removeContainer, type ContainerPorts,
} from '../api/container.ts';
import { createUnionContainer, openUnionWriter, pruneUnionCache, type UnionWriter } from '../api/union-container.ts';
import { withContainerLock } from '../snapshot/containers.ts';
import { rfc3339 } from '../oci/image-config.ts';
import { wrapError } from '../errors.ts';
import { log, out, usageError } from './io.ts';
import { printChanges } from './changes.ts';
import { splitRef } from './image.ts';

export const CONTAINER_HELP = `Usage: layerkit container [--store DIR] COMMAND ...

Containers on images of OCI layouts, in a snapshot store (--store DIR or $LAYERKIT_STORE).
An image's layers are unpacked once into committed snapshots keyed by chain ID and shared by
every container on them; a container is a read-write snapshot on the top one.

Commands:
  create LAYOUT:TAG [--name N] [--union]
                                   a container on the image (prints its name); --union: a union
                                   container (no snapshot: the image's layer tars, decompressed once
                                   into the store's cache, under its own upper directory)
  ls [--json]                      NAME KIND IMAGE MANIFEST CREATED, one line each
  diff NAME [--json]               what changed against the image: A|C|D /path (like layerkit changes)
  commit NAME LAYOUT:TAG [--message M] [--author A]
                                   the changes as a new layer on the container's image, tagged TAG
                                   (the layout must hold the image: normally its own); prints the
                                   new manifest digest
  rm NAME...                       remove containers (the image's snapshots stay; see store gc)
  path NAME                        the container's directory (a union container has none: ERR_UNSUPPORTED)
  cp SRC NAME:PATH                 copy a host file, symlink or directory tree to PATH in the container
  rm-path NAME PATH                delete PATH (a file or a whole directory) in the container
  mkdir NAME PATH                  create a directory in the container
  mv NAME FROM TO                  rename inside the container

Writing into a container: cp, rm-path, mkdir and mv go through layerkit's snapshot writer, which
copies a file shared with the image up before changing it. In a store whose active snapshots are
hardlink farms (store.json materialize.active = hardlink: ext4, tmpfs...) the container's files ARE
the image's: a program writing into "container path" directly would change the image and every
other container. Use these commands, the library's openWriter, or a store made with
"layerkit store init --materialize copy" (or on a reflink filesystem) for such programs.
Deletes become whiteouts and a renamed directory becomes a deleted one plus a new one in the
committed layer, as on overlayfs.

Options:
  --store DIR              the store directory
  --name N                 the container's name (create; default c-<12 hex digits>)
  --union                  create a union container (see above)
  --platform OS/ARCH[/V]   choose a manifest of a multi-platform image (create)
  --message M, -m M        the history entry's comment (commit)
  --author A               the history entry's author (commit)
  --compression gzip|zstd|none   the committed layer's compression (default gzip)
  --source-date-epoch N    commit time and mtime clamp (default: now, no clamp; or $SOURCE_DATE_EPOCH)
  --json                   JSON output (ls, diff, create, commit)
  -q, --quiet              no progress on stderr
  -h, --help               this help
`;

const OPTIONS = {
  store: { type: 'string' },
  name: { type: 'string' },
  platform: { type: 'string' },
  message: { type: 'string', short: 'm' },
  author: { type: 'string' },
  compression: { type: 'string' },
  'source-date-epoch': { type: 'string' },
  json: { type: 'boolean', default: false },
  union: { type: 'boolean', default: false },
  quiet: { type: 'boolean', short: 'q', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const USAGES: Record<string, [number, number, string]> = {
  create: [1, 1, 'container create LAYOUT:TAG [--name N] [--union]'],
  ls: [0, 0, 'container ls [--json]'],
  diff: [1, 1, 'container diff NAME [--json]'],
  commit: [2, 2, 'container commit NAME LAYOUT:TAG [--message M]'],
  rm: [1, Infinity, 'container rm NAME...'],
  path: [1, 1, 'container path NAME'],
  cp: [2, 2, 'container cp SRC NAME:PATH'],
  'rm-path': [2, 2, 'container rm-path NAME PATH'],
  mkdir: [2, 2, 'container mkdir NAME PATH'],
  mv: [3, 3, 'container mv NAME FROM TO'],
};

function storeDir(values: { store?: string }): string {
  const dir = values.store ?? process.env.LAYERKIT_STORE;
  if (!dir) throw usageError('give the store directory with --store DIR (or set LAYERKIT_STORE)');
  return dir;
}

function parsePlatform(s: string | undefined) {
  if (s === undefined) return undefined;
  const [os, architecture, variant, ...more] = s.split('/');
  if (!os || !architecture || more.length) throw usageError(`--platform must be OS/ARCH[/VARIANT], got ${s}`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s + ' ' : s + ' '.repeat(n - s.length);
}

/** A relative path inside the container from what a user typed ("/etc/x" or "etc/x"). */
function inside(p: string): string {
  const rel = p.replace(/^\/+/, '').replace(/\/+$/, '');
  if (rel === '') throw usageError(`${JSON.stringify(p)} names the container's root; give a path below it`);
  return rel;
}

export async function containerCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  const [sub, ...rest] = positionals;
  if (values.help || sub === undefined) {
    process.stdout.write(CONTAINER_HELP);
    return values.help ? 0 : 2;
  }
  const u = USAGES[sub];
  if (!u) throw usageError(`container: unknown command "${sub}" (see layerkit container --help)`);
  if (rest.length < u[0] || rest.length > u[1]) throw usageError(`usage: layerkit ${u[2]}`);
  const store = await openStore(storeDir(values));
  const quiet = values.quiet;
  const ports: ContainerPorts = {
    layoutFs: nodeStoreFs,
    treeFs: nodeFs,
    onWarning: (w) => { if (!quiet) log(`container: warning: ${w.path}: ${w.message}`); },
    onLayer: (chainID, what, ms) => { if (!quiet) log(`container: layer ${chainID.slice(0, 19)}: ${what} (${ms} ms)`); },
  };
  switch (sub) {
    case 'create': {
      const { dir, tag } = splitRef(rest[0]!);
      if (tag === undefined) throw usageError(`container create: ${rest[0]} names no tag (LAYOUT:TAG)`);
      const opts = { name: values.name, platform: parsePlatform(values.platform) };
      if (values.union) {
        const r = await createUnionContainer(store, ports, resolve(dir), tag, opts);
        if (values.json) out(JSON.stringify(r));
        else out(r.name);
        return 0;
      }
      const c = await createContainer(store, ports, resolve(dir), tag, opts);
      if (values.json) out(JSON.stringify({ ...c.record, path: c.mount.path }));
      else out(c.record.name);
      return 0;
    }
    case 'ls': {
      const list = await listContainers(store);
      if (values.json) out(JSON.stringify(list));
      else {
        out(pad('NAME', 24) + pad('KIND', 6) + pad('IMAGE', 40) + pad('MANIFEST', 20) + 'CREATED');
        for (const c of list) out(pad(c.name, 24) + pad(c.kind ?? 'farm', 6) + pad(`${c.image.layout}:${c.image.tag}`, 40) + pad(c.image.manifest.digest.slice(0, 19), 20) + c.created);
      }
      return 0;
    }
    case 'diff':
      printChanges(await containerChangeList(store, ports, rest[0]!), values.json);
      return 0;
    case 'commit': {
      const { dir, tag } = splitRef(rest[1]!);
      if (tag === undefined) throw usageError(`container commit: ${rest[1]} names no tag (LAYOUT:TAG)`);
      const c = values.compression ?? 'gzip';
      if (c !== 'gzip' && c !== 'zstd' && c !== 'none') throw usageError(`container commit: --compression must be gzip, zstd or none, got ${c}`);
      const sdeRaw = values['source-date-epoch'] ?? process.env.SOURCE_DATE_EPOCH;
      if (sdeRaw !== undefined && sdeRaw !== '' && !/^\d+$/.test(sdeRaw)) throw usageError(`--source-date-epoch must be a non-negative integer, got ${sdeRaw}`);
      const sde = sdeRaw ? Number(sdeRaw) : undefined;
      const r = await commitContainer(store, ports, rest[0]!, resolve(dir), tag, {
        message: values.message, author: values.author, compression: c,
        ...(sde !== undefined ? { sourceDateEpoch: sde, created: rfc3339(sde) } : {}),
      });
      if (!quiet) log(`container commit: ${dir}:${tag} = ${r.manifest.digest} (layer ${r.layer.digest}, ${r.layer.size} bytes; ${r.changes.added} added, ${r.changes.changed} changed, ${r.changes.deleted} deleted)`);
      if (values.json) out(JSON.stringify(r));
      else out(r.manifest.digest);
      return 0;
    }
    case 'rm':
      for (const name of rest) await removeContainer(store, name);
      return 0;
    case 'path':
      out(await containerPath(store, rest[0]!));
      return 0;
    case 'cp': {
      const colon = rest[1]!.indexOf(':');
      if (colon <= 0) throw usageError(`container cp: the destination must be NAME:PATH, got ${rest[1]}`);
      const name = rest[1]!.slice(0, colon);
      await withWriter(store, ports, name, (w) => copyIn(w, rest[0]!, inside(rest[1]!.slice(colon + 1))));
      return 0;
    }
    case 'rm-path':
      await withWriter(store, ports, rest[0]!, (w) => w.remove(inside(rest[1]!)));
      return 0;
    case 'mkdir':
      await withWriter(store, ports, rest[0]!, (w) => w.mkdir(inside(rest[1]!)));
      return 0;
    case 'mv':
      await withWriter(store, ports, rest[0]!, (w) => w.rename(inside(rest[1]!), inside(rest[2]!)));
      return 0;
  }
  return 0;
}

/** What cp, rm-path, mkdir and mv need of a writer: a tree writer, plus isDir. */
type Writer = TreeWriter & { isDir(path: string): Promise<boolean> };

/** Run `fn` with a writer on the container: the snapshot writer (farm) or the union view's (union). */
async function withWriter(store: Awaited<ReturnType<typeof openStore>>, ports: ContainerPorts, name: string, fn: (w: Writer) => Promise<void>): Promise<void> {
  await getContainer(store, name); // ERR_CONTAINER_NOT_FOUND before any lock file is made
  await withContainerLock(store, name, 'write', () => writeLocked(store, ports, name, fn));
}

async function writeLocked(store: Awaited<ReturnType<typeof openStore>>, ports: ContainerPorts, name: string, fn: (w: Writer) => Promise<void>): Promise<void> {
  const r = await getContainer(store, name);
  if (r.kind === 'union') {
    const u: UnionWriter = await openUnionWriter(store, ports, name);
    try {
      await fn(u);
    } finally {
      await u.close();
    }
    return;
  }
  const w = await openWriter(store, r.snapshot);
  await fn(Object.assign(w, { isDir: (p: string) => lstat(`${w.root}/${p}`).then((s) => s.isDirectory(), () => false) }));
}

/** A host file in 1 MiB chunks (fresh buffers: a writer may keep them), so cp holds one chunk, not the file. */
async function* hostFileChunks(src: string): AsyncGenerator<Uint8Array> {
  let fh;
  try {
    fh = await open(src, 'r');
  } catch (e) {
    throw wrapError(e, `container cp: ${src}`);
  }
  try {
    for (;;) {
      const buf = new Uint8Array(CP_CHUNK);
      let n;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, buf.length, null));
      } catch (e) {
        throw wrapError(e, `container cp: ${src}`);
      }
      if (n === 0) return;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  } finally {
    await fh.close();
  }
}

const CP_CHUNK = 1 << 20;

/** Copy the host path `src` to `dest` in the container: files (mode, mtime), symlinks, directories (recursively, merged into an existing one). */
async function copyIn(w: Writer, src: string, dest: string): Promise<void> {
  let st;
  try {
    st = await lstat(src);
  } catch (e) {
    throw wrapError(e, `container cp: ${src}`);
  }
  const mtime = Number(st.mtimeMs) / 1000;
  if (st.isSymbolicLink()) {
    await w.symlink(await readlink(src), dest);
  } else if (st.isDirectory()) {
    if (!(await w.isDir(dest))) await w.mkdir(dest, st.mode & 0o7777);
    for (const n of (await readdir(src)).sort()) await copyIn(w, `${src}/${n}`, `${dest}/${n}`);
    await w.utimes(dest, mtime, mtime);
  } else if (st.isFile()) {
    await w.writeFile(dest, hostFileChunks(src), { mode: st.mode & 0o7777 });
    await w.utimes(dest, mtime, mtime);
  } else {
    throw usageError(`container cp: ${src} is not a file, symlink or directory`);
  }
}

/** `layerkit store gc`: remove image chain snapshots no snapshot is based on, and union cache entries no union container uses. */
export async function storeGc(dir: string, json: boolean): Promise<number> {
  const store = await openStore(dir, { create: false });
  const removed = [...await pruneImageSnapshots(store), ...await pruneUnionCache(store)];
  if (json) out(JSON.stringify(removed));
  else for (const k of removed) out(k);
  return 0;
}
