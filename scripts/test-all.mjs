// Run every suite (vitest under Node, the Deno smoke suite, the Chromium smoke suite), stream their
// output, and end with one line that counts them all: "tests: N passed, N failed".
// Exit status: 0 only if every suite ran, passed, and ran at least one test.
import { spawn } from 'node:child_process';
import { readFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules/.bin', name);
await mkdir(join(root, '.tmp'), { recursive: true });

function run(cmd, args) {
  return new Promise((resolve) => {
    let text = '';
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
    child.stdout.on('data', (d) => { text += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { text += d; process.stderr.write(d); });
    child.on('close', (code) => resolve({ code, text }));
  });
}

const results = [];

const vitest = await run(bin('vitest'), ['run', '--reporter=default', '--reporter=json', '--outputFile.json=.tmp/vitest.json']);
try {
  const j = JSON.parse(await readFile(join(root, '.tmp/vitest.json'), 'utf8'));
  results.push({ suite: 'node (vitest)', passed: j.numPassedTests, failed: j.numFailedTests + (vitest.code !== 0 && j.numFailedTests === 0 ? 1 : 0) });
} catch {
  results.push({ suite: 'node (vitest)', passed: 0, failed: 1 });
}

const deno = await run(bin('deno'), ['test', '--no-check', '--allow-read', '--allow-write', '--allow-env=JCO_DEBUG', 'test/deno/']);
const dm = /(\d+) passed \| (\d+) failed/.exec(deno.text.replace(/\x1b\[[0-9;]*m/g, ''));
results.push({ suite: 'deno', passed: dm ? Number(dm[1]) : 0, failed: dm ? Number(dm[2]) + (deno.code !== 0 && dm[2] === '0' ? 1 : 0) : 1 });

const browser = await run(process.execPath, ['test/browser/run.mjs']);
const bm = /(\d+) passed, (\d+) failed/.exec(browser.text);
results.push({ suite: 'chromium', passed: bm ? Number(bm[1]) : 0, failed: bm ? Number(bm[2]) + (browser.code !== 0 && bm[2] === '0' ? 1 : 0) : 1 });

let passed = 0;
let failed = 0;
console.log('\nsuites:');
for (const r of results) {
  console.log(`  ${r.suite}: ${r.passed} passed, ${r.failed} failed`);
  passed += r.passed;
  failed += r.failed;
}
const empty = results.some((r) => r.passed + r.failed === 0);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && !empty ? 0 : 1);
