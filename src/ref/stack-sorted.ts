/**
 * Reference for the streaming stack kernel (assembly/stack.ts): the same pass over records sorted
 * by path (tree order) then sequence number descending, the same fates and the same directory
 * events, written plainly. Tests check the kernel against it, and both against survivorsRef
 * (src/ref/stack.ts), which states the rules over the whole stack at once.
 */
import type { SortedRecord, StackPass } from './stack.ts';

const KIND = { file: 0, dir: 1, whiteout: 2, opaque: 3 } as const;

interface Level {
  path: string;
  /** Over the strict ancestors: max seq + 1 of a non-directory, max layer + 1 of a whiteout / opaque marker. */
  pFile: number;
  pWh: number;
  pOpq: number;
  exact: boolean;
  subtree: boolean;
  wh: boolean;
  opq: boolean;
  /** At this path: max seq + 1 of a non-directory, max layer + 1 of a whiteout / opaque marker. */
  file: number;
  whMax: number;
  opqMax: number;
  dir: number;
  own: number;
  below: number;
}

export class SortedStackRef implements StackPass {
  #stack: Level[] = [];
  #events: number[] = [];

  batch(records: readonly SortedRecord[]): { fates: Uint8Array; events: Uint32Array } {
    const fates = new Uint8Array(records.length);
    this.#events = [];
    records.forEach((rec, i) => {
      const { key, layer, seq } = rec;
      const kind = KIND[rec.kind];
      while (this.#stack.length > 0 && !covers(this.#stack.at(-1)!.path, key)) this.#pop();
      let lv = this.#stack.at(-1);
      if (!lv || lv.path !== key) {
        const t = lv;
        lv = {
          path: key,
          pFile: t ? Math.max(t.pFile, t.file) : 0,
          pWh: t ? Math.max(t.pWh, t.whMax) : 0,
          pOpq: t ? Math.max(t.pOpq, t.opqMax) : 0,
          exact: false, subtree: false, wh: false, opq: false,
          file: 0, whMax: 0, opqMax: 0,
          dir: Infinity, own: Infinity, below: Infinity,
        };
        this.#stack.push(lv);
      }
      const l1 = layer + 1;
      let dead = lv.pFile > seq + 1 || lv.pWh > l1 || lv.pOpq > l1;
      let asWhiteout = false;
      const seen = lv.exact || lv.wh || lv.opq;
      if (!dead && seen) {
        if (kind === KIND.whiteout) dead = lv.wh;
        else if (kind === KIND.opaque) dead = lv.subtree || lv.opq || lv.whMax > l1;
        else {
          dead = lv.exact || lv.whMax > l1;
          asWhiteout = kind === KIND.file && !lv.subtree && !lv.wh && lv.whMax <= l1;
        }
      }
      if (kind === KIND.file) {
        lv.exact = lv.subtree = true;
        if (asWhiteout) lv.wh = true;
        lv.file = Math.max(lv.file, seq + 1);
      } else if (kind === KIND.dir) lv.exact = true;
      else if (kind === KIND.whiteout) {
        lv.wh = true;
        lv.whMax = Math.max(lv.whMax, l1);
      } else {
        lv.opq = true;
        lv.opqMax = Math.max(lv.opqMax, l1);
      }
      const fate = asWhiteout ? 2 : dead ? 0 : 1;
      fates[i] = fate;
      if (fate !== 0) {
        if (kind === KIND.opaque) {
          if (key !== '') lv.below = Math.min(lv.below, seq);
        }
        else lv.own = Math.min(lv.own, seq);
        if (kind === KIND.dir) lv.dir = seq;
      }
    });
    return { fates, events: Uint32Array.from(this.#events) };
  }

  end(): Uint32Array {
    this.#events = [];
    while (this.#stack.length > 0) this.#pop();
    return Uint32Array.from(this.#events);
  }

  dispose(): void {}

  #pop(): void {
    const lv = this.#stack.pop()!;
    if (lv.dir !== Infinity) this.#events.push(lv.dir, Math.min(lv.dir, lv.below));
    const parent = this.#stack.at(-1);
    if (parent && parent.path !== '') parent.below = Math.min(parent.below, lv.own, lv.below);
  }
}

/** Whether `level` (a sort key: components separated by '\0') is `key` or one of its ancestors. */
function covers(level: string, key: string): boolean {
  return level === '' || level === key || (key.startsWith(level) && key.charCodeAt(level.length) === 0);
}
