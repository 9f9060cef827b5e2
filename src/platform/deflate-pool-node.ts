/**
 * A DeflatePool over worker_threads: one worker per core (at most 8), started on first use and
 * unref'd, so an idle pool never keeps the process alive. Jobs go to the least busy worker; the
 * gzip stream (src/oci/gzip.ts) keeps them in order, so the output does not depend on which
 * worker ran what.
 *
 * The worker is a module file beside this one: deflate-worker.js when running from dist/,
 * deflate-worker.ts under Deno (which runs TypeScript in workers). Where neither can run (Node
 * executing the .ts sources through a test runner's loader) the pool runs jobs inline: same bytes.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { LayerkitError } from '../errors.ts';
import { inlineDeflatePool, type DeflatePool } from '../oci/gzip.ts';

interface Slot {
  worker: Worker;
  busy: number;
}

type Pending = { resolve: (b: Uint8Array) => void; reject: (e: unknown) => void; slot: Slot };

function workerUrl(): URL | undefined {
  const here = import.meta.url;
  if (here.endsWith('.js')) return new URL('./deflate-worker.js', here);
  if ((globalThis as { Deno?: unknown }).Deno !== undefined) return new URL('./deflate-worker.ts', here);
  return undefined;
}

export function createNodeDeflatePool(size = Math.min(8, availableParallelism())): DeflatePool {
  const url = workerUrl();
  if (!url || size < 2) return inlineDeflatePool;
  const slots: Slot[] = [];
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failed: unknown;

  const start = (): void => {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url);
      const slot: Slot = { worker, busy: 0 };
      worker.on('message', (m: { id: number; out?: Uint8Array; error?: string; code?: string }) => {
        const p = pending.get(m.id);
        if (!p) return;
        pending.delete(m.id);
        slot.busy--;
        if (slot.busy === 0) worker.unref();
        if (m.out) p.resolve(m.out);
        else p.reject(new LayerkitError('ERR_COMPRESSION', `deflate worker: ${m.error}`, { code: m.code }));
      });
      worker.on('error', (e) => {
        failed = e;
        for (const [id, p] of pending) {
          if (p.slot === slot) {
            pending.delete(id);
            p.reject(new LayerkitError('ERR_COMPRESSION', `deflate worker failed: ${e.message}`, {}, { cause: e }));
          }
        }
      });
      // after the listeners: adding a 'message' listener re-refs the worker's port
      worker.unref();
      slots.push(slot);
    }
  };

  return {
    parallelism: size,
    deflate(window, historyLength, level, last) {
      if (failed) return Promise.reject(new LayerkitError('ERR_COMPRESSION', `deflate workers unavailable: ${(failed as Error).message}`, {}));
      if (slots.length === 0) start();
      let slot = slots[0]!;
      for (const s of slots) if (s.busy < slot.busy) slot = s;
      const id = nextId++;
      return new Promise<Uint8Array>((resolve, reject) => {
        pending.set(id, { resolve, reject, slot });
        if (slot.busy === 0) slot.worker.ref();
        slot.busy++;
        slot.worker.postMessage({ id, window, historyLength, level, last });
      });
    },
    close() {
      for (const s of slots) void s.worker.terminate();
      slots.length = 0;
    },
  };
}
