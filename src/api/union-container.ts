/**
 * Union containers: a container without a snapshot. Its tree is a union view (src/union) of the
 * image's layer tars, read in place, below its own upper directory in the store
 * (union/containers/<name>/upper, an aufs-style layer tree: copy-up, `.wh.` whiteouts, opaque
 * markers). Compressed layers are decompressed once into the store's shared cache
 * (union/cache/<diffID hex>.tar, with the tar's index beside it: layer-cache.ts), filled lazily at
 * the first open of a view on that layer, and shared by every union container on it.
 *
 * - create: resolve the image (index.json, manifest, config), write the record and make the empty
 *   upper: O(1) in the image's size (no layer is read).
 * - open: the image's lower table (union/cache/<chainID hex>.lower: the resolved stack, read page
 *   by page on demand) and a reader per cached tar, then the upper's markers read. The first open
 *   on an image decompresses and indexes its layers and writes that table (lower-cache.ts).
 * - diff = viewChanges (from the upper and the markers; the lower tree is only looked up);
 *   commit = commitView into the layout as a new layer + image, as commitContainer does.
 * - There is no directory to hand to other programs: `containerPath` refuses (ERR_UNSUPPORTED).
 */
import { LayerkitError, wrapError } from '../errors.ts';
import type { FileHandleLike, WriteHandleLike } from '../fs/types.ts';
import { checkTag } from '../oci/layout/index-file.ts';
import type { Descriptor } from '../oci/layout/descriptor.ts';
import { OciLayout, type ResolvedImage } from '../oci/layout/layout.ts';
import { UNION_CACHE_DIR, type UnionContainerRecord } from '../snapshot/container-record.ts';
import { createUnionContainerRecord, getContainer, listContainers, newContainerName, withContainerLock } from '../snapshot/containers.ts';
import type { SnapshotStore } from '../snapshot/store.ts';
import type { TreeWriter } from '../snapshot/tree-writer.ts';
import type { TreeChange } from '../tree/changes.ts';
import { commitView, viewChanges } from '../union/commit.ts';
import type { CachedLayer } from '../union/layer-cache.ts';
import { openCachedLower, type CachedLower } from '../union/lower-cache.ts';
import { UnionView } from '../union/view.ts';
import type { CommitContainerOptions, CommittedContainer, ContainerPorts, CreateContainerOptions } from './container.ts';
import { commitLayerToLayout } from './commit-layer.ts';

export function unionCacheDir(store: SnapshotStore): string {
  return `${store.root}/${UNION_CACHE_DIR}`;
}

/** A union container from LAYOUT:TAG (`layoutDir` is recorded as given: pass an absolute path). No layer is read. */
export async function createUnionContainer(store: SnapshotStore, ports: Pick<ContainerPorts, 'layoutFs'>, layoutDir: string, tag: string,
  options: CreateContainerOptions = {}): Promise<UnionContainerRecord> {
  const name = await newContainerName(store, options.name);
  const layout = await OciLayout.open(ports.layoutFs, layoutDir);
  const image = await layout.resolve(tag, options.platform);
  const d = image.descriptor;
  return createUnionContainerRecord(store, name, {
    layout: layoutDir, tag, manifest: { mediaType: d.mediaType, digest: d.digest, size: d.size }, chainID: image.layers.at(-1)?.chainID ?? null,
  }, image.layers.map((l) => l.diffID));
}

export async function getUnionContainer(store: SnapshotStore, name: string): Promise<UnionContainerRecord> {
  const r = await getContainer(store, name);
  if (r.kind !== 'union') {
    throw new LayerkitError('ERR_UNSUPPORTED', `container ${JSON.stringify(name)} is a snapshot (farm) container, not a union one`, { name });
  }
  return r;
}

export interface OpenedUnionContainer {
  record: UnionContainerRecord;
  image: ResolvedImage;
  layout: OciLayout;
  view: UnionView;
  /** Per layer: what opening it had to do ('tar': decompressed into the cache, 'index': indexed, 'hit'). */
  layers: CachedLayer['filled'][];
  /** The image's lower table: read ('hit'), built now ('built'), or none (no layers). */
  table: CachedLower['table'];
  /** Close the layer readers. */
  close(): Promise<void>;
}

/** Open a union container's view (filling the layer cache if needed). Close it after use. */
export async function openUnionContainer(store: SnapshotStore, ports: Pick<ContainerPorts, 'layoutFs' | 'treeFs'>, name: string): Promise<OpenedUnionContainer> {
  const record = await getUnionContainer(store, name);
  const layout = await OciLayout.open(ports.layoutFs, record.image.layout);
  const image = await layout.resolveManifest(record.image.manifest as Descriptor, record.image.tag);
  const ids = image.layers.map((l) => l.diffID);
  if (ids.join() !== record.layers.join()) {
    throw new LayerkitError('ERR_IMAGE_CORRUPT', `container ${name}: its image ${record.image.manifest.digest} has layers ${ids.join(', ')}, the container records ${record.layers.join(', ')}`, { name });
  }
  let lower: CachedLower | undefined;
  try {
    lower = await openCachedLower(store.port, unionCacheDir(store), image.layers, image.layers.at(-1)?.chainID ?? null, { blobPath: (d) => layout.blobs.path(d) });
    const view = await UnionView.open({ lower: lower.lower, upper: ports.treeFs, upperRoot: `${store.root}/${record.upper}` });
    return { record, image, layout, view, layers: lower.layers, table: lower.table, close: lower.close };
  } catch (e) {
    await lower?.close();
    throw wrapError(e, `container ${name}: open its union view`);
  }
}

async function withView<T>(store: SnapshotStore, ports: Pick<ContainerPorts, 'layoutFs' | 'treeFs'>, name: string, fn: (o: OpenedUnionContainer) => Promise<T>): Promise<T> {
  const o = await openUnionContainer(store, ports, name);
  try {
    return await fn(o);
  } finally {
    await o.close();
  }
}

/** What changed in a union container against its image (sorted, as `container diff` prints). */
export function unionContainerChanges(store: SnapshotStore, ports: Pick<ContainerPorts, 'layoutFs' | 'treeFs'>, name: string): Promise<TreeChange[]> {
  return withView(store, ports, name, async (o) => (await viewChanges(o.view)).changes);
}

/** The union container's changes as a layer on top of its image (recorded manifest), tagged `tag` in `layoutDir`. */
export async function commitUnionContainer(store: SnapshotStore, ports: Pick<ContainerPorts, 'layoutFs' | 'treeFs'>, name: string, layoutDir: string, tag: string,
  options: CommitContainerOptions = {}): Promise<CommittedContainer> {
  checkTag(tag);
  return withContainerLock(store, name, 'commit', () => commitUnionLocked(store, ports, name, layoutDir, tag, options));
}

/** commitUnionContainer for a caller that holds the container's lock (commitContainer). */
export async function commitUnionLocked(store: SnapshotStore, ports: Pick<ContainerPorts, 'layoutFs' | 'treeFs'>, name: string, layoutDir: string, tag: string,
  options: CommitContainerOptions): Promise<CommittedContainer> {
  return withView(store, ports, name, async (o) => {
    const layout = layoutDir === o.record.image.layout ? o.layout : await OciLayout.open(ports.layoutFs, layoutDir);
    const base = layout === o.layout ? o.image : await layout.resolveManifest(o.record.image.manifest as Descriptor, o.record.image.tag);
    const { manifest, layer, result } = await commitLayerToLayout(layout, base, tag, name, options, (sink) =>
      commitView(o.view, sink, { compression: options.compression ?? 'gzip', sourceDateEpoch: options.sourceDateEpoch }));
    return { manifest, layer, changes: result.counts };
  });
}

/**
 * Writes into a union container, with the snapshot writer's shape (paths relative to the
 * container's root): each call goes through the view (copy-up, whiteouts, opaque directories).
 */
export interface UnionWriter extends TreeWriter {
  readonly view: UnionView;
  /** Whether `path` is a directory in the container. */
  isDir(path: string): Promise<boolean>;
  close(): Promise<void>;
}

const secondsToNs = (s: number): bigint => BigInt(Math.round(s * 1e6)) * 1000n;

/** Open a writer on a union container (opens its view: close it). */
export async function openUnionWriter(store: SnapshotStore, ports: Pick<ContainerPorts, 'layoutFs' | 'treeFs'>, name: string): Promise<UnionWriter> {
  const o = await openUnionContainer(store, ports, name);
  const v = o.view;
  const abs = (p: string) => `/${p.replace(/^\/+/, '')}`;
  /** Errors as the snapshot writer reports them: "container NAME: op path: cause" (ERR_IO for system errors). */
  const wrap = <A extends unknown[], R>(op: string, fn: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
    try {
      return await fn(...a);
    } catch (e) {
      throw wrapError(e, `container ${name}: ${op} ${a.filter((x) => typeof x === 'string').slice(0, 2).join(' ')}`);
    }
  };
  const w: UnionWriter = {
    view: v,
    async writeFile(path, data, options = {}) {
      const exists = await v.lstat(abs(path)).then(() => true, () => false);
      // One path for bytes and streams: chunks in order, one in memory at a time.
      const chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array> =
        typeof data === 'string' ? [new TextEncoder().encode(data)] : data instanceof Uint8Array ? [data] : data;
      const created = !exists && options.mode !== undefined;
      const h: WriteHandleLike = created ? await v.createFile(abs(path), options.mode!) : await v.writeFileStream(abs(path));
      try {
        for await (const chunk of chunks) await h.write(chunk);
      } catch (e) {
        await (h.abort ?? h.close).call(h).catch(() => {});
        // a new file goes again (a whiteout it replaced comes back); an existing one keeps what
        // was written
        if (!exists) await v.unlink(abs(path)).catch(() => {});
        throw e;
      }
      await h.close();
      if (!created && options.mode !== undefined) await v.chmod(abs(path), options.mode);
    },
    async readFile(path) {
      const st = await v.lstat(abs(path));
      const h: FileHandleLike = await v.open(abs(path));
      try {
        const buf = new Uint8Array(st.size);
        let got = 0;
        while (got < buf.length) {
          const n = await h.read(buf, got, buf.length - got, got);
          if (n === 0) break;
          got += n;
        }
        return buf.subarray(0, got);
      } finally {
        await h.close();
      }
    },
    mkdir: (path, mode) => v.mkdir(abs(path), mode === undefined ? {} : { mode }),
    remove: (path) => v.rm(abs(path), { recursive: true }),
    rename: (from, to) => v.rename(abs(from), abs(to)),
    symlink: (target, path) => v.symlink(target, abs(path)),
    link: (existing, path) => v.link(abs(existing), abs(path)),
    chmod: (path, mode) => v.chmod(abs(path), mode),
    chown: (path, uid, gid) => v.lchown(abs(path), uid, gid),
    utimes: (path, _atime, mtime) => v.lutimes(abs(path), secondsToNs(mtime)),
    isDir: (path) => v.lstat(abs(path)).then((s) => s.isDirectory(), () => false),
    close: () => o.close(),
  };
  for (const op of ['writeFile', 'readFile', 'mkdir', 'remove', 'rename', 'symlink', 'link', 'chmod', 'chown', 'utimes'] as const) {
    (w as unknown as Record<string, unknown>)[op] = wrap(op, (w[op] as (...a: unknown[]) => Promise<unknown>).bind(w));
  }
  return w;
}

/** Union containers' cache keys in use: their layers' diffIDs (tars, indexes) and their images' chain IDs (lower tables). */
export async function unionLayersInUse(store: SnapshotStore): Promise<Set<string>> {
  const used = new Set<string>();
  for (const r of await listContainers(store)) {
    if (r.kind !== 'union') continue;
    for (const d of r.layers) used.add(d);
    if (r.image.chainID) used.add(r.image.chainID);
  }
  return used;
}

/**
 * Remove the cache entries (decompressed tars, indexes, lower tables) no union container uses, and temp
 * files of fills older than an hour, under the store lock. Returns the paths removed.
 */
export async function pruneUnionCache(store: SnapshotStore): Promise<string[]> {
  return store.withLock('prune union cache', async () => {
    const used = new Set([...(await unionLayersInUse(store))].map((d) => d.slice('sha256:'.length)));
    const dir = unionCacheDir(store);
    const removed: string[] = [];
    for (const n of await store.port.readdir(dir)) {
      const m = /^([0-9a-f]{64})\.(tar|idx|lower)$/.exec(n);
      const path = `${dir}/${n}`;
      if (m ? used.has(m[1]!) : !(n.startsWith('.tmp-') && ((await store.port.ageMs(path)) ?? 0) > 3_600_000)) continue;
      await store.port.remove(path);
      removed.push(path);
    }
    return removed;
  });
}
