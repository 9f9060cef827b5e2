/**
 * A deflate worker (worker_threads): runs the WASM deflate kernel on chunks sent by
 * deflate-pool-node.ts. One kernels instance per worker.
 */
import { parentPort } from 'node:worker_threads';
import { deflateChunk } from '../wasm/deflate.ts';

interface Job {
  id: number;
  window: Uint8Array;
  historyLength: number;
  level: number;
  last: boolean;
}

parentPort!.on('message', (job: Job) => {
  try {
    const out = deflateChunk(job.window, job.historyLength, job.level, job.last);
    parentPort!.postMessage({ id: job.id, out }, [out.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: (e as Error).message, code: (e as { code?: string }).code });
  }
});
