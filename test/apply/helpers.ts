/** Layer builders and two target kinds (node temp dir, MemoryFs) with a sentinel tree beside the target. */
import { mkdirSync, writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { packTar, type TarItem } from '../../src/tar/writer.ts';
import type { TarHeader } from '../../src/tar/header.ts';
import { nodeFs } from '../../src/fs/node.ts';
import { MemoryFs } from '../../src/fs/memory.ts';
import type { MutableFsLike } from '../../src/fs/types.ts';
import { collect, tempDir } from '../fixtures/tools.ts';

const enc = new TextEncoder();
const T = 1_600_000_000;

type H = Partial<TarHeader>;

export function F(name: string, content = '', h: H = {}): TarItem {
  const body = enc.encode(content);
  return { header: { name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: T, ...h }, body: [body] };
}
export function D(name: string, h: H = {}): TarItem {
  return { header: { name: name.endsWith('/') ? name : `${name}/`, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: T, ...h } };
}
export function S(name: string, target: string, h: H = {}): TarItem {
  return { header: { name, type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: T, linkname: target, ...h } };
}
export function L(name: string, target: string, h: H = {}): TarItem {
  return { header: { name, type: 'link', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: T, linkname: target, ...h } };
}
export function W(name: string): TarItem {
  return { header: { name, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 } };
}
export function Dev(name: string, type: 'char' | 'block' | 'fifo', h: H = {}): TarItem {
  return { header: { name, type, mode: 0o666, uid: 0, gid: 0, size: 0, mtime: T, devmajor: 1, devminor: 3, ...h } };
}

export async function layer(...items: TarItem[]): Promise<Uint8Array> {
  return collect(packTar(items));
}

/** A target directory plus a sentinel tree outside it, on a node temp dir or a MemoryFs. */
export interface Site {
  kind: 'node' | 'memory';
  fs: MutableFsLike;
  /** The target directory. */
  target: string;
  /** Parent of target, holding sentinel trees `outside/` and `target-evil/`. */
  base: string;
  /** Every name under base except target/, with type, mode and content: compare before/after. */
  sentinel(): Promise<string[]>;
  /** Sorted listing of the target: "path type mode [content|->link]". */
  list(dir?: string): Promise<string[]>;
  dispose(): void;
}

const SENTINEL_FILES = ['outside/secret', 'outside/etc/passwd', 'target-evil/x', 'x'];

export async function makeSite(kind: 'node' | 'memory'): Promise<Site> {
  let fs: MutableFsLike;
  let base: string;
  let dispose = () => {};
  if (kind === 'node') {
    const t = tempDir('layerkit-apply-');
    base = t.path;
    dispose = t.dispose;
    fs = nodeFs;
    for (const f of SENTINEL_FILES) {
      mkdirSync(join(base, f, '..'), { recursive: true });
      writeFileSync(join(base, f), `sentinel ${f}`);
    }
    symlinkSync('secret', join(base, 'outside/secret-link'));
    mkdirSync(join(base, 'target'));
  } else {
    const m = new MemoryFs();
    fs = m;
    base = '/site';
    await m.mkdir('/site');
    for (const f of SENTINEL_FILES) {
      const dir = f.split('/').slice(0, -1).join('/');
      if (dir) await m.mkdir(`${base}/${dir}`, { recursive: true });
      await m.writeFile(`${base}/${f}`, enc.encode(`sentinel ${f}`));
    }
    await m.symlink('secret', `${base}/outside/secret-link`);
    await m.mkdir(`${base}/target`);
  }
  const target = `${base}/target`;
  const list = async (dir: string, skip?: string): Promise<string[]> => {
    const out: string[] = [];
    const walk = async (d: string, rel: string): Promise<void> => {
      for (const name of (await fs.readdir(d)).sort()) {
        const p = `${d}/${name}`;
        const r = rel ? `${rel}/${name}` : name;
        if (skip && r === skip) continue;
        const st = await fs.lstat(p);
        let extra = '';
        if (st.type === 'file') {
          const h = await fs.open(p);
          const buf = new Uint8Array(st.size);
          await h.read(buf, 0, st.size, 0);
          await h.close();
          extra = ` ${new TextDecoder().decode(buf)}`;
        } else if (st.type === 'symlink') extra = ` -> ${await fs.readlink(p)}`;
        out.push(`${r} ${st.type} ${st.type === 'symlink' ? '' : st.mode.toString(8)}${extra}`);
        if (st.type === 'dir') await walk(p, r);
      }
    };
    await walk(dir, '');
    return out;
  };
  return {
    kind, fs, target, base,
    sentinel: () => list(base, 'target'),
    list: (dir = target) => list(dir),
    dispose,
  };
}

/** Recompute a ustar header's checksum after editing its bytes. */
export function fixChecksum(h: Uint8Array, at = 0): void {
  h.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[at + i]!;
  const s = sum.toString(8).padStart(6, '0');
  for (let i = 0; i < 6; i++) h[at + 148 + i] = s.charCodeAt(i);
  h[at + 154] = 0;
}
