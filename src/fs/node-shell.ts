/**
 * One long-lived `sh` that runs small tools (mknod) for the node adapter, instead of one process
 * spawned from Node per call. Spawning from Node forks the whole Node process on the main thread:
 * ~10 ms each here, 0.17 s of a Debian image unpack's main thread for its 16 device nodes. The
 * shell forks the tool instead, off the main thread. Requests run one at a time, in order.
 *
 * Protocol: each request is one line, `out=$(CMD 2>&1); printf '%s\0%s\0' "$?" "$out"`, with every
 * argument single-quoted; each answer is the exit status and the tool's output, NUL-terminated.
 * The shell is unref'd while idle, so it never keeps Node alive; it ends at its stdin's EOF.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface ShellResult {
  status: number;
  output: string;
}

type Waiter = { resolve: (r: ShellResult) => void; reject: (e: Error) => void };

let sh: ChildProcessWithoutNullStreams | undefined;
let broken: Error | undefined;
const waiting: Waiter[] = [];
let buffered = '';

function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

function start(): ChildProcessWithoutNullStreams {
  const child = spawn('sh', [], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buffered += d;
    for (;;) {
      const a = buffered.indexOf('\0');
      if (a < 0) break;
      const b = buffered.indexOf('\0', a + 1);
      if (b < 0) break;
      const status = Number(buffered.slice(0, a));
      const output = buffered.slice(a + 1, b);
      buffered = buffered.slice(b + 1);
      waiting.shift()?.resolve({ status, output });
    }
    if (waiting.length === 0) idle(child);
  });
  const fail = (e: Error) => {
    broken = e;
    sh = undefined;
    for (const w of waiting.splice(0)) w.reject(e);
  };
  child.on('error', fail);
  child.on('close', (code) => fail(new Error(`sh exited (status ${code})`)));
  child.stdin.on('error', () => {}); // reported through 'close'
  child.stderr.resume();
  return child;
}

function idle(child: ChildProcessWithoutNullStreams): void {
  child.unref();
  (child.stdout as unknown as { unref(): void }).unref();
  (child.stdin as unknown as { unref(): void }).unref();
  (child.stderr as unknown as { unref(): void }).unref();
}

function busy(child: ChildProcessWithoutNullStreams): void {
  child.ref();
  (child.stdout as unknown as { ref(): void }).ref();
}

/**
 * Run `cmd args...` in the shared shell; resolves to its exit status and output (stderr and
 * stdout). Rejects only when the shell itself cannot run (callers then fall back to a spawn).
 */
export function runInShell(cmd: string, args: readonly string[]): Promise<ShellResult> {
  if (broken) return Promise.reject(broken);
  if (!sh) sh = start();
  const child = sh;
  busy(child);
  return new Promise<ShellResult>((resolve, reject) => {
    waiting.push({ resolve, reject });
    const line = [cmd, ...args].map(quote).join(' ');
    child.stdin.write(`out=$(${line} 2>&1); printf '%s\\0%s\\0' "$?" "$out"\n`);
  });
}
