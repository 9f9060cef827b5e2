/**
 * The node adapter's mknod runs through one shared shell (src/fs/node-shell.ts): names with quotes,
 * spaces, newlines and `$(...)` reach mknod as they are, failures keep their codes, and the shell
 * never keeps Node alive.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFs } from '../../dist/fs/node.js';
import { runInShell } from '../../src/fs/node-shell.ts';
import { tempDir } from '../fixtures/tools.ts';

describe('node adapter: mknod through the shared shell', () => {
  it('makes fifos at names a shell would mangle, one after another, and keeps the error codes', async () => {
    const tmp = tempDir('layerkit-shell-');
    try {
      const names = [`a 'b" c`, 'new\nline', '$(touch pwned)', '-dash', 'back\\slash;`x`'];
      await Promise.all(names.map((n) => nodeFs.mknod(join(tmp.path, n), 'fifo', { mode: 0o640 })));
      expect(readdirSync(tmp.path).sort()).toEqual([...names].sort());
      for (const n of names) {
        const st = lstatSync(join(tmp.path, n));
        expect([st.isFIFO(), st.mode & 0o777]).toEqual([true, 0o640]);
      }
      await expect(nodeFs.mknod(join(tmp.path, names[0]!), 'fifo', { mode: 0o600 })).rejects.toMatchObject({ code: 'EEXIST' });
      await expect(nodeFs.mknod(join(tmp.path, 'missing', 'x'), 'fifo', { mode: 0o600 })).rejects.toMatchObject({ code: 'ENOENT' });
      const r = await runInShell('no-such-command-layerkit', []);
      expect(r.status).toBe(127);
    } finally {
      tmp.dispose();
    }
  });

  it('a process that used it exits on its own (the idle shell is unref\'d)', () => {
    const tmp = tempDir('layerkit-shell-');
    try {
      // the built module (npm test builds first): Node 20 cannot import .ts itself
      const mod = join(import.meta.dirname, '../../dist/fs/node.js');
      const script = `import { nodeFs } from ${JSON.stringify(mod)}; await nodeFs.mknod(${JSON.stringify(join(tmp.path, 'p'))}, 'fifo', { mode: 0o600 }); console.log('made');`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
      expect(out.trim()).toBe('made');
      expect(lstatSync(join(tmp.path, 'p')).isFIFO()).toBe(true);
    } finally {
      tmp.dispose();
    }
  });
});
