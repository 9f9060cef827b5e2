import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The README's second command: the bundled example must run, be reproducible, and print what the
// README says it prints.
describe('the bundled example (README)', () => {
  const root = join(import.meta.dirname, '../..');
  const run = (dir: string) => spawnSync(process.execPath, [join(root, 'examples/diff-example.mjs'), dir], { encoding: 'utf8' });

  it('runs, lists the changes, and writes the same layer twice', () => {
    const work = mkdtempSync(join(tmpdir(), 'lk-example-'));
    try {
      const a = run(join(work, 'a'));
      const b = run(join(work, 'b'));
      expect(a.status, a.stderr).toBe(0);
      expect(b.status, b.stderr).toBe(0);
      const digest = (s: string) => /^sha256:[0-9a-f]{64}$/m.exec(s)?.[0];
      expect(digest(a.stdout)).toBeDefined();
      expect(digest(b.stdout)).toBe(digest(a.stdout));
      expect(readFileSync(join(work, 'a/layer.tar.gz')).equals(readFileSync(join(work, 'b/layer.tar.gz')))).toBe(true);
      const lines = a.stdout.split('\n').filter((l) => /^[ACD] \//.test(l));
      expect(lines).toHaveLength(11);
      expect(lines).toContain('D /usr/share/doc/greet');
      if (process.getuid?.() === 0) {
        expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain(digest(a.stdout));
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
