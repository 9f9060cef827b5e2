/**
 * `layerkit snapshots SUBCOMMAND` (in the style of `ctr snapshots`) and `layerkit store
 * init|check|ls|usage`: the snapshot store from the command line.
 */
import { parseArgs } from 'node:util';
import { openStore, sha256File } from '../platform/store-node.ts';
import { checkStore } from '../snapshot/check.ts';
import type { SnapshotStore } from '../snapshot/store.ts';
import { LayerkitError } from '../errors.ts';
import { log, out, usageError } from './io.ts';

export const SNAPSHOTS_HELP = `Usage: layerkit snapshots [--store DIR] COMMAND ...

Snapshots as containerd models them, in a store directory (--store DIR or $LAYERKIT_STORE;
created on first use in a missing or empty directory). Keys are unique across kinds.

Commands:
  prepare KEY [PARENT]   new active (read-write) snapshot on committed PARENT; prints its directory
  view KEY [PARENT]      new read-only view of committed PARENT; prints its directory
  commit NAME KEY        commit active KEY as NAME: stores its layer blob; prints the blob digest
  rm KEY...              remove snapshots (refused while others are based on them)
  info KEY               the snapshot's record as JSON (kind, parent, labels, dates, blob, path)
  mounts KEY             the snapshot's directory
  ls                     KEY PARENT KIND, one line each
  usage [KEY...]         disk used by each snapshot on its own (not shared with its parent)

Options:
  --store DIR            the store directory
  --label K=V            a label for prepare/view/commit (repeatable)
  --json                 JSON output for ls and usage
  -h, --help             this help

Active snapshots are filled from their parent the cheapest safe way the store's filesystem offers
(store.json "materialize"; see "layerkit store --help"). Exit codes: see README.md.
`;

export const STORE_HELP = `Usage: layerkit store [--store DIR] COMMAND

Commands:
  init [--materialize auto|reflink|hardlink|copy] [--compression gzip|zstd|none]
                create the store (otherwise created on first use with auto and gzip)
  check [--repair] [--json]
                verify the store (records, parents, cycles, trees, blob sizes and digests);
                lists leftovers of interrupted operations (removed with --repair, or by the next
                change to the store). Exit 0 when consistent, 6 (ERR_STORE_CORRUPT) otherwise.
  ls            every snapshot (same as layerkit snapshots ls)
  gc [--json]   remove the snapshots of image layers (made by layerkit container create) that no
                snapshot is based on any more; prints their keys
  usage [--json]
                each snapshot's own usage, the disk all trees take together (each inode once)
                against what they would take as full copies, and the blobs

Materialisation (how an active snapshot gets its parent's files), probed once at creation:
  reflink   btrfs, XFS (reflink=1), bcachefs: files cloned; blocks shared until written
  hardlink  elsewhere (ext4, tmpfs...): a farm of hardlinks; writes MUST go through layerkit's
            snapshot writer, which copies a shared file up before its first change. A process
            writing into the directory directly would change the parent: use --materialize copy
  copy      a full copy (GNU cp -a)
Views always use hardlinks where they can (they are never written).
`;

function storeDir(values: { store?: string }): string {
  const dir = values.store ?? process.env.LAYERKIT_STORE;
  if (!dir) throw usageError('give the store directory with --store DIR (or set LAYERKIT_STORE)');
  return dir;
}

function labelsOf(list: string[] | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const l of list ?? []) {
    const eq = l.indexOf('=');
    if (eq <= 0) throw usageError(`--label must be K=V, got ${l}`);
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }
  return labels;
}

const COMMON = {
  store: { type: 'string' },
  label: { type: 'string', multiple: true, default: [] as string[] },
  json: { type: 'boolean', default: false },
  repair: { type: 'boolean', default: false },
  materialize: { type: 'string' },
  compression: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function args(argv: string[], min: number, max: number, usage: string) {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: COMMON });
  const [sub, ...rest] = positionals;
  if (!values.help && sub !== undefined && (rest.length < min || rest.length > max)) throw usageError(usage);
  return { values, sub, rest };
}

const USAGES: Record<string, [number, number, string]> = {
  prepare: [1, 2, 'snapshots prepare KEY [PARENT]'],
  view: [1, 2, 'snapshots view KEY [PARENT]'],
  commit: [2, 2, 'snapshots commit NAME KEY'],
  rm: [1, Infinity, 'snapshots rm KEY...'],
  info: [1, 1, 'snapshots info KEY'],
  stat: [1, 1, 'snapshots stat KEY'],
  mounts: [1, 1, 'snapshots mounts KEY'],
  ls: [0, 0, 'snapshots ls'],
  usage: [0, Infinity, 'snapshots usage [KEY...]'],
};

function pad(s: string, n: number): string {
  return s.length >= n ? s + ' ' : s + ' '.repeat(n - s.length);
}

async function listCommand(store: SnapshotStore, json: boolean): Promise<number> {
  const list = await store.list();
  if (json) out(JSON.stringify(list.map((i) => ({ key: i.key, parent: i.parent ?? null, kind: i.kind }))));
  else {
    out(pad('KEY', 30) + pad('PARENT', 30) + 'KIND');
    for (const i of list) out(pad(i.key, 30) + pad(i.parent ?? '', 30) + i.kind);
  }
  return 0;
}

export async function snapshotsCommand(argv: string[]): Promise<number> {
  const first = parseArgs({ args: argv, allowPositionals: true, options: COMMON, strict: false }).positionals[0];
  const u = typeof first === 'string' ? USAGES[first] : undefined;
  const { values, sub, rest } = args(argv, u?.[0] ?? 0, u?.[1] ?? Infinity, `usage: layerkit ${u?.[2] ?? 'snapshots COMMAND'}`);
  if (values.help || sub === undefined) {
    process.stdout.write(SNAPSHOTS_HELP);
    return values.help ? 0 : 2;
  }
  if (!u) throw usageError(`snapshots: unknown command "${sub}" (see layerkit snapshots --help)`);
  const store = await openStore(storeDir(values));
  const labels = labelsOf(values.label);
  switch (sub) {
    case 'prepare':
    case 'view': {
      const m = sub === 'prepare' ? await store.prepare(rest[0]!, rest[1], { labels }) : await store.view(rest[0]!, rest[1], { labels });
      out(m.path);
      return 0;
    }
    case 'commit':
      out((await store.commit(rest[0]!, rest[1]!, { labels })).blob!.digest);
      return 0;
    case 'rm':
      for (const k of rest) await store.remove(k);
      return 0;
    case 'info':
    case 'stat':
      out(JSON.stringify(await store.stat(rest[0]!), null, 2));
      return 0;
    case 'mounts':
      out((await store.mounts(rest[0]!)).path);
      return 0;
    case 'ls':
      return listCommand(store, values.json);
    case 'usage': {
      const keys = rest.length ? rest : (await store.list()).map((i) => i.key);
      const rows = [];
      for (const k of keys) rows.push({ key: k, ...(await store.usage(k)) });
      if (values.json) out(JSON.stringify(rows));
      else {
        out(pad('KEY', 30) + pad('SIZE', 14) + 'INODES');
        for (const r of rows) out(pad(r.key, 30) + pad(String(r.size), 14) + r.inodes);
      }
      return 0;
    }
  }
  return 0;
}

export async function storeCommand(argv: string[]): Promise<number> {
  const { values, sub, rest } = args(argv, 0, 0, 'usage: layerkit store init|check|ls|usage|gc (see layerkit store --help)');
  if (values.help || sub === undefined) {
    process.stdout.write(STORE_HELP);
    return values.help ? 0 : 2;
  }
  void rest;
  const dir = storeDir(values);
  switch (sub) {
    case 'init': {
      const m = values.materialize ?? 'auto';
      if (m !== 'auto' && m !== 'reflink' && m !== 'hardlink' && m !== 'copy') throw usageError(`store init: --materialize must be auto, reflink, hardlink or copy, got ${m}`);
      const c = values.compression ?? 'gzip';
      if (c !== 'gzip' && c !== 'zstd' && c !== 'none') throw usageError(`store init: --compression must be gzip, zstd or none, got ${c}`);
      const store = await openStore(dir, { materialize: m, compression: c });
      if (values.materialize && m !== 'auto' && store.config.materialize.active !== m) {
        log(`store init: ${m} is not available here (or the store existed); active snapshots use ${store.config.materialize.active}`);
      }
      out(JSON.stringify(store.config));
      return 0;
    }
    case 'check': {
      const store = await openStore(dir, { create: false });
      const r = await checkStore(store, { repair: values.repair, sha256File });
      if (values.json) out(JSON.stringify(r));
      else {
        for (const e of r.errors) out(`error ${e.kind}: ${e.message} [${e.path}]`);
        for (const l of r.leftovers) out(`leftover ${l.kind}: ${l.message} [${l.path}]`);
        out(`${r.ok ? 'consistent' : 'INCONSISTENT'}: ${r.snapshots} snapshots, ${r.blobs} blobs, ${r.errors.length} errors, ${r.leftovers.length} leftovers${values.repair ? `, ${r.repaired} removed` : ''}`);
      }
      if (!r.ok) {
        throw new LayerkitError('ERR_STORE_CORRUPT', `store ${dir} is inconsistent: ${r.errors.length} error(s), first: ${r.errors[0]!.message}`, { path: dir, errors: r.errors.length });
      }
      return 0;
    }
    case 'ls':
      return listCommand(await openStore(dir, { create: false }), values.json);
    case 'gc':
      return (await import('./container.ts')).storeGc(dir, values.json);
    case 'usage': {
      const u = await (await openStore(dir, { create: false })).storeUsage();
      if (values.json) out(JSON.stringify(u));
      else {
        out(pad('KEY', 30) + pad('KIND', 11) + pad('METHOD', 10) + pad('SIZE', 14) + 'INODES');
        for (const s of u.snapshots) out(pad(s.key, 30) + pad(s.kind, 11) + pad(s.materialize, 10) + pad(String(s.usage.size), 14) + s.usage.inodes);
        out(`trees on disk (each inode once): ${u.trees.size} bytes, ${u.trees.inodes} inodes`);
        out(`the same trees as full copies:   ${u.copies.size} bytes, ${u.copies.inodes} inodes`);
        out(`layer blobs:                     ${u.blobs.size} bytes, ${u.blobs.inodes - 1} blobs`);
      }
      return 0;
    }
    default:
      throw usageError(`store: unknown command "${sub}" (see layerkit store --help)`);
  }
}
