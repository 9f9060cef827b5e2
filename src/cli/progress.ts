/** A one-line progress display on stderr, only when stderr is a terminal. */
export class Progress {
  readonly #on: boolean;
  #bytes = 0;
  #last = 0;
  readonly #t0 = performance.now();

  constructor(on: boolean) {
    this.#on = on;
  }

  add(n: number): void {
    this.#bytes += n;
    if (!this.#on) return;
    const now = performance.now();
    if (now - this.#last < 100) return;
    this.#last = now;
    const mib = this.#bytes / 1048576;
    const rate = mib / Math.max(0.001, (now - this.#t0) / 1000);
    process.stderr.write(`\r\x1b[K  ${mib.toFixed(1)} MiB written, ${rate.toFixed(1)} MiB/s`);
  }

  done(): void {
    if (this.#on && this.#last > 0) process.stderr.write('\r\x1b[K');
  }
}
