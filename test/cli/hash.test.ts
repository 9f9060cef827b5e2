// `layerkit hash` (the built CLI, as users run it) agrees with b3sum and sha256sum, and maps errors
// to the documented exit statuses.
import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = (...args: string[]) => spawnSync(process.execPath, [new URL('../../bin/layerkit.js', import.meta.url).pathname, ...args], { encoding: 'utf8' });
let dir: string;
let files: string[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'layerkit-cli-'));
  files = [0, 1, 1024, 70_000, 3_000_001].map((n) => {
    const p = join(dir, `f${n}`);
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 8)) & 255;
    writeFileSync(p, b);
    return p;
  });
});

describe('layerkit hash', () => {
  it('prints what b3sum prints', () => {
    const r = cli('hash', ...files);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(execFileSync('b3sum', files, { encoding: 'utf8' }));
  });

  it('prints what sha256sum prints with --algo sha256', () => {
    const r = cli('hash', '--algo', 'sha256', ...files);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(execFileSync('sha256sum', files, { encoding: 'utf8' }));
  });

  it('lists chunks that tile the file', () => {
    const r = cli('hash', '--json', '--chunks', files[4]!);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { size: number; chunks: { offset: number; length: number }[] };
    expect(j.size).toBe(3_000_001);
    let end = 0;
    for (const c of j.chunks) {
      expect(c.offset).toBe(end);
      end += c.length;
    }
    expect(end).toBe(j.size);
    expect(j.chunks.length).toBeGreaterThan(10);
  });

  it('exits 4 with the path and cause on a missing file', () => {
    const r = cli('hash', join(dir, 'missing'));
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/ERR_IO: hash file .*missing: .*ENOENT/);
  });

  it('exits 2 on usage errors', () => {
    expect(cli('hash').status).toBe(2);
    expect(cli('hash', '--algo', 'md5', files[0]!).status).toBe(2);
    expect(cli('hash', '--bogus').status).toBe(2);
    expect(cli('frobnicate').status).toBe(2);
  });

  it('has --help', () => {
    const r = cli('hash', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: layerkit hash/);
  });
});
