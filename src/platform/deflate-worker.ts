/**
 * A deflate worker (worker_threads): runs the WASM deflate kernel on chunks sent by
 * deflate-pool-node.ts. One kernels instance per worker. Input and output travel through
 * SharedArrayBuffers owned by the pool (one pair per job slot), so a job allocates nothing here:
 * per-job ArrayBuffers would pile up as external memory between this isolate's garbage
 * collections (measured: ~50 MiB per worker on a Debian diff).
 */
import { parentPort } from 'node:worker_threads';
import { deflateChunkInto } from '../wasm/deflate.ts';

interface Job {
  id: number;
  input: SharedArrayBuffer;
  output: SharedArrayBuffer;
  length: number;
  historyLength: number;
  level: number;
  last: boolean;
}

parentPort!.on('message', (job: Job) => {
  try {
    const n = deflateChunkInto(new Uint8Array(job.input, 0, job.length), job.historyLength, job.level, job.last, new Uint8Array(job.output));
    parentPort!.postMessage({ id: job.id, n });
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: (e as Error).message, code: (e as { code?: string }).code });
  }
});
