/**
 * flatten: N layers -> one layer whose application onto any tree equals applying the N in order.
 *
 * Two streaming passes over the blobs (each is opened twice, so sources are functions):
 * 1. headers only (bodies skipped): every entry, whiteout and opaque marker becomes a record
 *    (cleaned path, layer, kind); the stack kernel (assembly/stack.ts, via stack.ts) decides which
 *    records survive the stack (an entry replaced, whited out or hidden by a later layer does not).
 * 2. the blobs again, in order: surviving records are written out, file bodies streamed straight
 *    from the input to the output tar. Nothing but the record table is held in memory.
 * Surviving whiteouts and opaque markers are kept (one per name): they remove what a lower tree
 * holds and are no-ops on an empty one. A non-directory that later layers replaced only with a
 * directory is written as a whiteout of its name, for the same reason. A surviving directory is
 * written before the first surviving name below it (with its final attributes), so parents come
 * before children and a lower tree's non-directory at that name is replaced first. Output order is stack order, so a name's whiteout comes
 * before its re-creation.
 *
 * Input is untrusted as in apply: names are cleaned (safe-path.ts), limits apply, digests are
 * checked in pass 1 and pass 2 must read the same tar (same diffID) or ERR_DIGEST_MISMATCH.
 *
 * Refused (ERR_UNSUPPORTED): a surviving hardlink whose target is replaced by a later layer (the
 * content it shares would have to be copied under the link's name). Known gap: survival is decided
 * on names, so an opaque marker placed through a symlinked directory is replayed against the
 * flattened layer's own entries, which it keeps (apply of the stack would have cleared them).
 */
import { LayerkitError, wrapError } from '../errors.ts';
import type { Sha256Like } from '../hash/engines.ts';
import { readTar, type TarEntry } from '../tar/reader.ts';
import type { TarHeader } from '../tar/header.ts';
import type { TarItem } from '../tar/writer.ts';
import { packTar } from '../tar/writer.ts';
import { resolveLimits, type TarLimits } from '../tar/limits.ts';
import { decompressLayer, type DecompressFn } from './decompress.ts';
import { cleanName } from './safe-path.ts';
import { opaqueFor, parseWhiteout, whiteoutFor } from './whiteout.ts';
import { StackTable, survivorsOf, type StackRecord } from './stack.ts';
import { writeTarBlob, type LayerResult, type LayerSink } from './layer-writer.ts';
import type { CompressFn } from './compression.ts';
import type { Compression } from './media-types.ts';

export interface FlattenSource {
  /** Opens the blob; called twice (once per pass). */
  blob: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  digest?: string;
  diffID?: string;
  name?: string;
}

export interface FlattenOptions {
  limits?: Partial<TarLimits>;
  compression?: Compression;
  level?: number;
  compress?: CompressFn;
  decompress?: DecompressFn;
  sha256?: () => Sha256Like;
  /** Decide survivors with this instead of the kernel (tests pass the TS reference). */
  survivors?: (records: readonly StackRecord[]) => Uint8Array;
}

export interface FlattenResult extends LayerResult {
  /** Records read (entries + whiteouts + opaque markers) and how many were written. */
  records: number;
  written: number;
}

/** What pass 1 learns of each entry (null: skipped, e.g. aufs metadata). */
type Rec = StackRecord | null;

export async function flattenLayers(layers: readonly FlattenSource[], sink: LayerSink, options: FlattenOptions = {}): Promise<FlattenResult> {
  const limits = resolveLimits(options.limits);
  const sha = options.sha256 ?? (await defaultSha256());
  /** Every record, packed (stack.ts): ~16 bytes + the path per entry, no object per entry. */
  const table = new StackTable();
  /** Hardlinks: record index, layer, names; targets are resolved once pass 1 is done. */
  const links: HardlinkRecord[] = [];
  const diffIDs: string[] = [];
  /** Per directory name: its last record and that record's header (written first, see pass 2). */
  const dirs = new Map<string, { index: number; item: TarItem }>();

  // Pass 1: records.
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i]!;
    const name = l.name ?? `#${i + 1}`;
    try {
      diffIDs.push(await readLayer(l, limits, options, sha, (e) => {
        const rec = recordOf(e, i);
        if (!rec) return;
        if (e.type === 'link') links.push({ index: table.length, layer: i, name: e.name, linkname: e.linkname, path: rec.path, target: cleanName(e.linkname, 'hardlink target') });
        if (rec.kind === 'dir') dirs.set(rec.path, { index: table.length, item: itemOf(e, rec) });
        table.add(rec.path, i, rec.kind);
      }));
    } catch (e) {
      throw wrapError(e, `flatten: layer ${name}`);
    }
  }

  const alive = options.survivors ? options.survivors(table.records()) : survivorsOf(table);
  for (const [link, t] of resolveLinks(table, links, layers)) {
    if (alive[link.index] === 1 && alive[t] !== 1) {
      throw new LayerkitError('ERR_UNSUPPORTED', `flatten: hardlink "${link.path}" shares its content with "${link.target}", which a later layer replaces; flattening it is not supported`, { path: link.path, target: link.target });
    }
  }
  const recordCount = table.length;

  // Pass 2: the surviving records, bodies streamed. A surviving directory is written (with its
  // final header) before the first surviving name below it, so that on a lower tree it replaces a
  // non-directory there before its children arrive, as the stack did.
  let index = 0;
  let written = 0;
  const emitted = new Set<string>();
  function* parentsOf(path: string): Generator<TarItem> {
    const parts = path.split('/');
    for (let k = 0; k < parts.length - 1; k++) {
      const d = parts.slice(0, k + 1).join('/');
      if (emitted.has(d)) continue;
      const last = dirs.get(d);
      if (!last || alive[last.index] !== 1) continue;
      emitted.add(d);
      written++;
      yield last.item;
    }
  }
  async function* items(): AsyncGenerator<TarItem> {
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i]!;
      const name = l.name ?? `#${i + 1}`;
      const it = entries(l, limits, options, sha);
      let done = false;
      try {
        for (;;) {
          const r = await it.next();
          if (r.done) {
            done = true;
            if (r.value !== diffIDs[i]) {
              throw new LayerkitError('ERR_DIGEST_MISMATCH', `layer changed between the two passes (diffID ${diffIDs[i]} then ${r.value})`, { name });
            }
            break;
          }
          const e = r.value;
          const rec = recordOf(e, i);
          if (!rec) continue;
          const at = index++;
          const fate = alive[at];
          if (fate === 0) continue;
          if (rec.kind === 'dir' && emitted.has(rec.path)) continue;
          yield* parentsOf(rec.kind === 'opaque' && rec.path !== '' ? `${rec.path}/-` : rec.path);
          if (rec.kind === 'dir') emitted.add(rec.path);
          written++;
          yield fate === 2 ? itemOf(e, { path: rec.path, layer: i, kind: 'whiteout' }) : itemOf(e, rec);
        }
      } catch (e) {
        throw wrapError(e, `flatten: layer ${name}`);
      } finally {
        if (!done) await it.return('').catch(() => {});
      }
    }
  }
  const result = await writeTarBlob(packTar(items()), options, sink);
  return { ...result, records: recordCount, written };
}

interface HardlinkRecord {
  /** The link's record. */
  index: number;
  layer: number;
  /** As in the tar, for messages. */
  name: string;
  linkname: string;
  /** Cleaned. */
  path: string;
  target: string;
}

/**
 * Each hardlink's target record: the latest file or directory record of the target's name
 * before the link (what the stack held when the link was applied). One pass over the table,
 * decoding only paths whose byte length is a target's. A link without one is ERR_UNSAFE_LINK.
 */
function resolveLinks(table: StackTable, links: readonly HardlinkRecord[], layers: readonly FlattenSource[]): [HardlinkRecord, number][] {
  if (links.length === 0) return [];
  const targets = new Set(links.map((k) => k.target));
  const lengths = new Set([...targets].map((t) => new TextEncoder().encode(t).length));
  const latest = new Map<string, number>();
  const out: [HardlinkRecord, number][] = [];
  let next = 0;
  for (let r = 0; r < table.length && next < links.length; r++) {
    for (; next < links.length && links[next]!.index === r; next++) {
      const link = links[next]!;
      const t = latest.get(link.target);
      if (t === undefined) {
        throw wrapError(new LayerkitError('ERR_UNSAFE_LINK', `hardlink "${link.name}" -> "${link.linkname}": the target does not exist in the stack before it`, { name: link.name, linkname: link.linkname }),
          `flatten: layer ${layers[link.layer]!.name ?? `#${link.layer + 1}`}`);
      }
      out.push([link, t]);
    }
    const kind = table.kind(r);
    if ((kind === 'file' || kind === 'dir') && lengths.has(table.pathLength(r))) {
      const p = table.path(r);
      if (targets.has(p)) latest.set(p, r);
    }
  }
  return out;
}

function recordOf(e: TarEntry, layer: number): Rec {
  const rel = cleanName(e.name);
  if (rel === '') {
    if (e.type !== 'dir') throw new LayerkitError('ERR_UNSAFE_PATH', `"${e.name}" would replace the root with a ${e.type}`, { name: e.name, type: e.type });
    return { path: '', layer, kind: 'dir' };
  }
  const wh = parseWhiteout(rel);
  if (wh) {
    if (wh.kind === 'whiteout') return { path: wh.target, layer, kind: 'whiteout' };
    if (wh.kind === 'opaque') return { path: wh.dir, layer, kind: 'opaque' };
    return null;
  }
  return { path: rel, layer, kind: e.type === 'dir' ? 'dir' : 'file' };
}

function itemOf(e: TarEntry, rec: StackRecord): TarItem {
  if (rec.kind === 'whiteout' || rec.kind === 'opaque') {
    return { header: { name: rec.kind === 'whiteout' ? whiteoutFor(rec.path) : opaqueFor(rec.path), type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 } };
  }
  const header: TarHeader = {
    name: rec.kind === 'dir' ? (rec.path === '' ? './' : `${rec.path}/`) : rec.path,
    type: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    size: e.size,
    mtime: e.mtime,
  };
  if (e.type === 'symlink') header.linkname = e.linkname;
  if (e.type === 'link') header.linkname = cleanName(e.linkname, 'hardlink target');
  if (e.type === 'char' || e.type === 'block') {
    header.devmajor = e.devmajor;
    header.devminor = e.devminor;
  }
  if (e.xattrs) header.xattrs = e.xattrs;
  return e.type === 'file' ? { header, body: e.body() } : { header };
}

/** Entries of one layer; the generator's return value is the tar's diffID (digests verified). */
async function* entries(l: FlattenSource, limits: TarLimits, o: FlattenOptions, sha: () => Sha256Like): AsyncGenerator<TarEntry, string> {
  const blobHash = sha();
  const tarHash = sha();
  const raw = l.blob();
  const source = (async function* () { yield* raw; })();
  const { compression, tar } = await decompressLayer(source, { decompress: o.decompress, onBlob: (c) => blobHash.update(c) });
  async function* tapped() {
    for await (const c of tar) {
      tarHash.update(c);
      yield c;
    }
  }
  yield* readTar(tapped(), { limits });
  const diffID = `sha256:${hex(tarHash.digest())}`;
  const digest = compression === 'none' ? diffID : `sha256:${hex(blobHash.digest())}`;
  if (l.digest !== undefined && l.digest !== digest) {
    throw new LayerkitError('ERR_DIGEST_MISMATCH', `digest mismatch: expected ${l.digest}, the blob is ${digest}`, { expected: l.digest, actual: digest });
  }
  if (l.diffID !== undefined && l.diffID !== diffID) {
    throw new LayerkitError('ERR_DIGEST_MISMATCH', `diffID mismatch: expected ${l.diffID}, the tar is ${diffID}`, { expected: l.diffID, actual: diffID });
  }
  return diffID;
}

async function readLayer(l: FlattenSource, limits: TarLimits, o: FlattenOptions, sha: () => Sha256Like, fn: (e: TarEntry) => void): Promise<string> {
  const it = entries(l, limits, o, sha);
  let done = false;
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) {
        done = true;
        return r.value;
      }
      fn(r.value);
    }
  } finally {
    if (!done) await it.return('').catch(() => {});
  }
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

async function defaultSha256(): Promise<() => Sha256Like> {
  const { sha256Engine } = await import('../hash/engines.ts');
  const engine = sha256Engine();
  return () => engine.create();
}
