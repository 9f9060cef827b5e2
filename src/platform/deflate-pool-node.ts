/**
 * A DeflatePool over worker_threads: one worker per core (at most 8), started on first use and
 * unref'd while idle, so an idle pool never keeps the process alive. Each worker has two job
 * slots, each a pair of SharedArrayBuffers (input window, output) reused from job to job; jobs
 * beyond the free slots wait in a queue. The gzip stream (src/oci/gzip.ts) keeps results in
 * order, so the output does not depend on which worker ran what.
 *
 * The worker is a module file beside this one: deflate-worker.js when running from dist/,
 * deflate-worker.ts under Deno (which runs TypeScript in workers). Where neither can run (Node
 * executing the .ts sources through a test runner's loader) the pool runs jobs inline: same bytes.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { LayerkitError } from '../errors.ts';
import { inlineDeflatePool, GZIP_CHUNK, type DeflatePool } from '../oci/gzip.ts';
import { DEFLATE_WINDOW, deflateBound } from '../wasm/deflate.ts';

const SLOTS_PER_WORKER = 2;

interface Slot {
  worker: Worker;
  input: SharedArrayBuffer;
  output: SharedArrayBuffer;
  job?: { resolve: (b: Uint8Array) => void; reject: (e: unknown) => void };
}

interface Job {
  window: Uint8Array;
  historyLength: number;
  level: number;
  last: boolean;
  resolve: (b: Uint8Array) => void;
  reject: (e: unknown) => void;
}

function workerUrl(): URL | undefined {
  const here = import.meta.url;
  if (here.endsWith('.js')) return new URL('./deflate-worker.js', here);
  if ((globalThis as { Deno?: unknown }).Deno !== undefined) return new URL('./deflate-worker.ts', here);
  return undefined;
}

export function createNodeDeflatePool(size = Math.min(8, availableParallelism())): DeflatePool {
  const url = workerUrl();
  if (!url || size < 2) return inlineDeflatePool;
  const workers: { worker: Worker; busy: number }[] = [];
  const slots: Slot[] = [];
  const queue: Job[] = [];
  const byId = new Map<number, Slot>();
  let nextId = 1;
  let failed: Error | undefined;

  const start = (): void => {
    const inCap = DEFLATE_WINDOW + GZIP_CHUNK;
    const outCap = deflateBound(GZIP_CHUNK);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url);
      const w = { worker, busy: 0 };
      worker.on('message', (m: { id: number; n?: number; error?: string; code?: string }) => {
        const slot = byId.get(m.id);
        if (!slot?.job) return;
        byId.delete(m.id);
        const { resolve, reject } = slot.job;
        slot.job = undefined;
        if (--w.busy === 0) worker.unref();
        if (m.n !== undefined) resolve(new Uint8Array(slot.output, 0, m.n).slice());
        else reject(new LayerkitError('ERR_COMPRESSION', `deflate worker: ${m.error}`, { code: m.code }));
        pump();
      });
      worker.on('error', (e) => {
        failed = e;
        for (const s of slots) {
          if (s.worker === worker && s.job) {
            s.job.reject(new LayerkitError('ERR_COMPRESSION', `deflate worker failed: ${e.message}`, {}, { cause: e }));
            s.job = undefined;
          }
        }
      });
      // after the listeners: adding a 'message' listener re-refs the worker's port
      worker.unref();
      workers.push(w);
      for (let k = 0; k < SLOTS_PER_WORKER; k++) slots.push({ worker, input: new SharedArrayBuffer(inCap), output: new SharedArrayBuffer(outCap) });
    }
  };

  const pump = (): void => {
    while (queue.length > 0) {
      // the free slot of the least busy worker
      let best: Slot | undefined;
      let bestBusy = Infinity;
      for (const s of slots) {
        if (s.job) continue;
        const busy = workers.find((w) => w.worker === s.worker)!.busy;
        if (busy < bestBusy) {
          best = s;
          bestBusy = busy;
        }
      }
      if (!best) return;
      const job = queue.shift()!;
      if (job.window.length > best.input.byteLength) best.input = new SharedArrayBuffer(job.window.length);
      const bound = deflateBound(job.window.length - job.historyLength);
      if (bound > best.output.byteLength) best.output = new SharedArrayBuffer(bound);
      new Uint8Array(best.input).set(job.window);
      const id = nextId++;
      best.job = { resolve: job.resolve, reject: job.reject };
      byId.set(id, best);
      const w = workers.find((x) => x.worker === best!.worker)!;
      if (w.busy++ === 0) w.worker.ref();
      w.worker.postMessage({ id, input: best.input, output: best.output, length: job.window.length, historyLength: job.historyLength, level: job.level, last: job.last });
    }
  };

  return {
    parallelism: size,
    deflate(window, historyLength, level, last) {
      if (failed) return Promise.reject(new LayerkitError('ERR_COMPRESSION', `deflate workers unavailable: ${failed.message}`, {}));
      if (workers.length === 0) start();
      return new Promise<Uint8Array>((resolve, reject) => {
        queue.push({ window, historyLength, level, last, resolve, reject });
        pump();
      });
    },
    close() {
      for (const w of workers) void w.worker.terminate();
      workers.length = 0;
      slots.length = 0;
    },
  };
}
