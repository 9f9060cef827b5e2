import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { CODES, EXIT } from '../src/errors.ts';

// README.md documents every error code with its exit status; this keeps the two in step.
describe('README exit-code table', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const table = readme.slice(readme.indexOf('## Exit codes'));
  const rows = new Map<number, string[]>();
  for (const m of table.matchAll(/^\| (\d+) \| [^|]+ \| ([^|]*) \|$/gm)) {
    rows.set(Number(m[1]), m[2]!.split(',').map((c) => c.trim()).filter((c) => c.startsWith('ERR_')));
  }

  it('has a row for every exit status', () => {
    expect([...rows.keys()].sort()).toEqual(Object.values(EXIT).sort());
  });

  it('lists every code under the status the CLI exits with, and no code that does not exist', () => {
    const documented = [...rows].flatMap(([status, codes]) => codes.map((c) => [c, status] as const));
    expect(Object.fromEntries(documented)).toEqual({ ...CODES });
    expect(documented.length).toBe(Object.keys(CODES).length);
  });
});
