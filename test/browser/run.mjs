// Browser smoke suite: serve the built package on loopback, load it in Debian's headless Chromium
// (driven by playwright-core; never a downloaded browser), compute the smoke digests in the page and
// compare with expected.json (which test/smoke.test.ts checks against independent implementations).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, extname, normalize, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.html': 'text/html' };

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const rel = normalize(decodeURIComponent(url.pathname)).replace(/^\/+/, '');
  if (rel.startsWith('..') || !(rel.startsWith('dist/') || rel.startsWith('test/'))) {
    res.writeHead(404).end();
    return;
  }
  try {
    const body = await readFile(join(root, rel));
    res.writeHead(200, { 'content-type': TYPES[extname(rel)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

let failed = 0;
let passed = 0;
const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${base}/test/browser/blank.html`);
  const result = await page.evaluate(async () => {
    const lib = await import('/dist/index.js');
    const { runSmoke, runSmokeAsync } = await import('/test/smoke/cases.js');
    const expected = await (await fetch('/test/smoke/expected.json')).json();
    let code = null;
    try { lib.sha256('x'); } catch (e) { code = e.code; }
    return { got: { ...runSmoke(lib), ...(await runSmokeAsync(lib)) }, expected, engine: lib.sha256Engine().name, code, ua: navigator.userAgent };
  });
  console.log(`chromium: ${result.ua}`);
  const check = (ok, what) => { if (ok) passed++; else { failed++; console.error(`FAIL ${what}`); } };
  check(Object.keys(result.got).length === Object.keys(result.expected).length, 'number of cases');
  for (const [k, v] of Object.entries(result.expected)) check(result.got[k] === v, `${k}: got ${String(result.got[k]).slice(0, 80)}`);
  check(result.engine === 'wasm', `browser SHA-256 engine is the WASM kernel (got ${result.engine})`);
  check(result.code === 'ERR_INVALID_ARG', `bad input code (got ${result.code})`);
} finally {
  await browser.close();
  server.close();
}
console.log(`browser smoke: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
