/**
 * flatten: N layers -> one layer whose application onto any tree equals applying the N in order.
 *
 * Two streaming passes over the blobs (each is opened twice, so sources are functions), and a
 * sorted pass between them:
 * 1. headers only (bodies skipped): every entry, whiteout and opaque marker becomes a record
 *    (cleaned path, sequence number, layer, kind; a directory keeps its header), handed to an
 *    external sort (external-sort.ts: runs of runRecords sorted in memory, written to `scratch`).
 * 2. the records merged in tree order (stack.ts's key: a path, then everything below it) go through
 *    the streaming stack kernel (assembly/stack.ts), which holds only the current path's chain of
 *    ancestors and decides which records survive the stack (an entry replaced, whited out or
 *    hidden by a later layer does not): 2 bits per record are kept, by sequence number.
 * 3. the blobs again, in order: surviving records are written out, file bodies streamed straight
 *    from the input to the output tar.
 * Hardlinks are sorted the same way (by their target's key) and joined with the records in that
 * pass, to find each one's target record.
 * Memory: one run being sorted, one read buffer per run being merged, the ancestor chain and the
 * 2-bit fates (1 MB per 4 M records); with files for scratch nothing else grows with the stack.
 * Surviving whiteouts and opaque markers are kept (one per name): they remove what a lower tree
 * holds and are no-ops on an empty one. A non-directory that later layers replaced only with a
 * directory is written as a whiteout of its name, for the same reason. A surviving directory is
 * written before the first surviving name below it (with its final attributes), so parents come
 * before children and a lower tree's non-directory at that name is replaced first: the kernel
 * reports, when it leaves a directory, the first surviving record below it; directories that must
 * come earlier than their own place are sorted by that place (a second external sort) and written
 * just before it. Output order is stack order, so a name's whiteout comes before its re-creation.
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
import { compareSorted, pathOfKey, StackKernel, stackKey, type SortedRecord, type StackKind, type StackPass } from './stack.ts';
import { ExternalSorter, type Codec } from './external-sort.ts';
import type { ByteReader, ByteWriter } from '../bytes.ts';
import { memoryScratch, type Scratch } from './scratch.ts';
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
  /**
   * Where the survivor pass writes its sorted runs (default: memory). Give files (storeScratch)
   * for memory that does not grow with the stack.
   */
  scratch?: Scratch;
  /** Records sorted in memory per run (default 32 768; tests make it small). */
  runRecords?: number;
  /** The streaming survivor pass (default: the kernel; tests pass the TS reference). */
  stackPass?: (pathCap: number) => StackPass;
}

export interface FlattenResult extends LayerResult {
  /** Records read (entries + whiteouts + opaque markers) and how many were written. */
  records: number;
  written: number;
}

/** What pass 1 learns of each entry (null: skipped, e.g. aufs metadata). */
type Rec = { path: string; layer: number; kind: StackKind } | null;

/** A directory's header, kept with its record in case it must be written early (pass 2). */
interface DirHeader {
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  xattrs?: Record<string, Uint8Array>;
}

interface Sorted extends SortedRecord {
  dir?: DirHeader;
}

/** A directory written before its own place: at record `at`, shallower ones first. */
interface Hoist {
  at: number;
  key: string;
  dir: DirHeader;
}

const BATCH = 4096;
const MAX_RECORDS = 0xfffffffe;

export async function flattenLayers(layers: readonly FlattenSource[], sink: LayerSink, options: FlattenOptions = {}): Promise<FlattenResult> {
  const limits = resolveLimits(options.limits);
  const sha = options.sha256 ?? (await defaultSha256());
  const scratch = options.scratch ?? memoryScratch();
  const runItems = options.runRecords ?? 32768;
  const sorter = new ExternalSorter<Sorted>({ compare: compareSorted, codec: sortedCodec, scratch, runItems });
  const hoists = new ExternalSorter<Hoist>({ compare: (a, b) => a.at - b.at || a.key.length - b.key.length, codec: hoistCodec, scratch, runItems });
  const pathCap = Math.max(256, limits.maxNameBytes);
  const pass = options.stackPass ? options.stackPass(pathCap) : new StackKernel(pathCap);
  /** Hardlinks, sorted by target like the records: joined with them in the sorted pass. */
  const links = new ExternalSorter<HardlinkRecord>({ compare: compareSorted, codec: linkCodec, scratch, runItems });
  /** The same with their target records, by link: checked once every fate is known. */
  const joined = new ExternalSorter<HardlinkRecord>({ compare: (a, b) => a.seq - b.seq, codec: linkCodec, scratch, runItems });
  /** Merges being read (closed first when something fails: they hold scratch files open). */
  const reading: AsyncGenerator<unknown>[] = [];
  try {
    const diffIDs: string[] = [];
    let seq = 0;

    // Pass 1: records, into sorted runs.
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i]!;
      const name = l.name ?? `#${i + 1}`;
      try {
        for await (const e of layerEntries(l, limits, options, sha, (d) => diffIDs.push(d))) {
          const rec = recordOf(e, i);
          if (!rec) continue;
          if (seq >= MAX_RECORDS) throw new LayerkitError('ERR_LIMIT_EXCEEDED', `flatten: more than ${MAX_RECORDS} records`, { limit: MAX_RECORDS });
          if (e.type === 'link') await links.add({ key: stackKey(cleanName(e.linkname, 'hardlink target')), seq, layer: i, name: e.name, linkname: e.linkname, path: rec.path, target: NONE });
          const item: Sorted = { key: stackKey(rec.path), seq: seq++, layer: i, kind: rec.kind };
          if (rec.kind === 'dir') {
            item.dir = { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime };
            if (e.xattrs) item.dir.xattrs = e.xattrs;
          }
          const added = sorter.add(item);
          if (added) await added;
        }
      } catch (e) {
        throw wrapError(e, `flatten: layer ${name}`);
      }
    }
    const recordCount = seq;

    // The survivor pass, in tree order: a fate per record (2 bits, by seq), and the surviving
    // directories that must be written before their own place (see the header comment).
    const fates = new FateTable(recordCount);
    // The join: a link's target record is the latest file or directory record of the target's
    // name before the link (what the stack held when the link was applied). Both streams come by
    // key, then seq descending, so the first record of the key below the link's seq is it.
    const linkIt = links.sorted();
    reading.push(linkIt);
    let ln = await linkIt.next();
    const pending = new Map<number, Sorted>();
    const onEvents = async (events: Uint32Array) => {
      for (let i = 0; i < events.length; i += 2) {
        const dir = events[i]!;
        const at = events[i + 1]!;
        const d = pending.get(dir)!;
        pending.delete(dir);
        if (at < dir) {
          fates.set(dir, HOISTED);
          await hoists.add({ at, key: d.key, dir: d.dir! });
        }
      }
    };
    let batch: Sorted[] = [];
    const flush = async () => {
      const { fates: f, events } = pass.batch(batch);
      for (let i = 0; i < batch.length; i++) {
        const r = batch[i]!;
        fates.set(r.seq, f[i]!);
        if (r.kind === 'dir' && f[i] === 1) pending.set(r.seq, r);
        for (; !ln.done && ln.value.key < r.key; ln = await linkIt.next()) await joined.add(ln.value);
        if (r.kind === 'whiteout' || r.kind === 'opaque') continue;
        for (; !ln.done && ln.value.key === r.key && r.seq < ln.value.seq; ln = await linkIt.next()) await joined.add({ ...ln.value, target: r.seq });
      }
      batch = [];
      await onEvents(events);
    };
    for await (const r of sorter.sorted()) {
      batch.push(r);
      if (batch.length === BATCH) await flush();
    }
    await flush();
    await onEvents(pass.end());
    for (; !ln.done; ln = await linkIt.next()) await joined.add(ln.value);
    await sorter.dispose();
    await links.dispose();
    await checkLinks(joined, fates, layers);

    // Pass 2: the surviving records, bodies streamed; hoisted directories (sorted by place) are
    // written just before the record they must precede.
    let index = 0;
    let written = 0;
    const hoisted = hoists.sorted();
    reading.push(hoisted);
    async function* items(): AsyncGenerator<TarItem> {
      let h = await hoisted.next();
      for (let i = 0; i < layers.length; i++) {
        const l = layers[i]!;
        const name = l.name ?? `#${i + 1}`;
        try {
          const same = (d: string) => {
            if (d !== diffIDs[i]) throw new LayerkitError('ERR_DIGEST_MISMATCH', `layer changed between the two passes (diffID ${diffIDs[i]} then ${d})`, { name });
          };
          for await (const e of layerEntries(l, limits, options, sha, same)) {
            const rec = recordOf(e, i);
            if (!rec) continue;
            const at = index++;
            const fate = fates.get(at);
            if (fate === 0 || fate === HOISTED) continue;
            for (; !h.done && h.value.at === at; h = await hoisted.next()) {
              written++;
              yield dirItem(pathOfKey(h.value.key), h.value.dir);
            }
            written++;
            yield fate === 2 ? itemOf(e, { path: rec.path, kind: 'whiteout' }) : itemOf(e, rec);
          }
        } catch (e) {
          throw wrapError(e, `flatten: layer ${name}`);
        }
      }
      if (!h.done) throw new LayerkitError('ERR_LAYER_CONFLICT', `flatten: layers changed between the two passes (directory "${pathOfKey(h.value.key)}" has no place)`);
    }
    const result = await writeTarBlob(packTar(items()), options, sink);
    return { ...result, records: recordCount, written };
  } finally {
    for (const g of reading) await g.return(undefined);
    pass.dispose();
    for (const s of [sorter, hoists, links, joined]) await s.dispose();
  }
}

const HOISTED = 3;

/** 2 bits per record: 0 dies, 1 written, 2 written as a whiteout, 3 written earlier (HOISTED). */
class FateTable {
  readonly #bits: Uint8Array;

  constructor(n: number) {
    this.#bits = new Uint8Array(Math.ceil(n / 4));
  }

  set(i: number, fate: number): void {
    const b = i >>> 2;
    const s = (i & 3) * 2;
    this.#bits[b] = (this.#bits[b]! & ~(3 << s)) | (fate << s);
  }

  get(i: number): number {
    return (this.#bits[i >>> 2]! >>> ((i & 3) * 2)) & 3;
  }
}

const KINDS: readonly StackKind[] = ['file', 'dir', 'whiteout', 'opaque'];
const KIND: Record<StackKind, number> = { file: 0, dir: 1, whiteout: 2, opaque: 3 };

function writeDir(w: ByteWriter, d: DirHeader): void {
  w.f64(d.mode);
  w.f64(d.uid);
  w.f64(d.gid);
  w.f64(d.mtime);
  const xs = d.xattrs ? Object.entries(d.xattrs) : [];
  w.u32(xs.length);
  for (const [k, v] of xs) {
    w.str(k);
    w.bytes(v);
  }
}

function readDir(r: ByteReader): DirHeader {
  const d: DirHeader = { mode: r.f64(), uid: r.f64(), gid: r.f64(), mtime: r.f64() };
  const n = r.u32();
  if (n > 0) {
    d.xattrs = {};
    for (let i = 0; i < n; i++) d.xattrs[r.str()] = r.bytes();
  }
  return d;
}

function dirSize(d: DirHeader | undefined): number {
  if (!d) return 0;
  let n = 64;
  if (d.xattrs) for (const [k, v] of Object.entries(d.xattrs)) n += 32 + k.length * 2 + v.length;
  return n;
}

const sortedCodec: Codec<Sorted> = {
  encode(r, w) {
    w.u32(r.seq);
    w.u32(r.layer);
    w.u8(KIND[r.kind]);
    w.str(r.key);
    if (r.dir) writeDir(w, r.dir);
  },
  decode(r) {
    const s: Sorted = { seq: r.u32(), layer: r.u32(), kind: KINDS[r.u8()]!, key: r.str() };
    if (s.kind === 'dir') s.dir = readDir(r);
    return s;
  },
  size: (r) => 80 + r.key.length * 2 + dirSize(r.dir),
};

const hoistCodec: Codec<Hoist> = {
  encode(h, w) {
    w.u32(h.at);
    w.str(h.key);
    writeDir(w, h.dir);
  },
  decode(r) {
    return { at: r.u32(), key: r.str(), dir: readDir(r) };
  },
  size: (h) => 64 + h.key.length * 2 + dirSize(h.dir),
};

/** A hardlink, keyed by its target's sort key. */
interface HardlinkRecord {
  /** stackKey of the target (cleaned). */
  key: string;
  /** The link's record. */
  seq: number;
  layer: number;
  /** As in the tar, for messages. */
  name: string;
  linkname: string;
  /** Cleaned. */
  path: string;
  /** The target's record (NONE: none before the link). */
  target: number;
}

const NONE = 0xffffffff;

const linkCodec: Codec<HardlinkRecord> = {
  encode(k, w) {
    w.u32(k.seq);
    w.u32(k.layer);
    w.u32(k.target);
    w.str(k.key);
    w.str(k.name);
    w.str(k.linkname);
    w.str(k.path);
  },
  decode: (r) => {
    const seq = r.u32();
    const layer = r.u32();
    const target = r.u32();
    return { seq, layer, target, key: r.str(), name: r.str(), linkname: r.str(), path: r.str() };
  },
  size: (k) => 120 + (k.key.length + k.name.length + k.linkname.length + k.path.length) * 2,
};

/**
 * Hardlinks in stack order, each with its target record: one without a target is ERR_UNSAFE_LINK; a
 * surviving link whose target does not survive is refused (ERR_UNSUPPORTED: its content would have
 * to be copied under the link's name).
 */
async function checkLinks(joined: ExternalSorter<HardlinkRecord>, fates: FateTable, layers: readonly FlattenSource[]): Promise<void> {
  for await (const link of joined.sorted()) {
    if (link.target === NONE) {
      throw wrapError(new LayerkitError('ERR_UNSAFE_LINK', `hardlink "${link.name}" -> "${link.linkname}": the target does not exist in the stack before it`, { name: link.name, linkname: link.linkname }),
        `flatten: layer ${layers[link.layer]!.name ?? `#${link.layer + 1}`}`);
    }
    const ft = fates.get(link.target);
    if (fates.get(link.seq) === 1 && ft !== 1 && ft !== HOISTED) {
      const target = pathOfKey(link.key);
      throw new LayerkitError('ERR_UNSUPPORTED', `flatten: hardlink "${link.path}" shares its content with "${target}", which a later layer replaces; flattening it is not supported`, { path: link.path, target });
    }
  }
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

function dirItem(path: string, d: DirHeader): TarItem {
  const header: TarHeader = { name: path === '' ? './' : `${path}/`, type: 'dir', mode: d.mode, uid: d.uid, gid: d.gid, size: 0, mtime: d.mtime };
  if (d.xattrs) header.xattrs = d.xattrs;
  return { header };
}

function itemOf(e: TarEntry, rec: { path: string; kind: StackKind }): TarItem {
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

/** The entries of one layer, then its diffID to `onEnd` (digests verified). */
async function* layerEntries(l: FlattenSource, limits: TarLimits, o: FlattenOptions, sha: () => Sha256Like, onEnd: (diffID: string) => void): AsyncGenerator<TarEntry> {
  onEnd(yield* entries(l, limits, o, sha));
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
