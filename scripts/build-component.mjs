// Build the kernels as a WebAssembly component (wit/kernels.wit) for non-JS hosts:
//   1. asc compiles assembly/component.ts (canonical-ABI entry points over the same kernels)
//   2. binaryen renames exports whose WIT names contain '-' (AssemblyScript cannot spell them)
//   3. jco's JS API embeds the WIT (its CLI cannot read files here: toolchain.md) and makes the component
// Output: build/kernels.component.wasm. Usage: node scripts/build-component.mjs
import asc from 'assemblyscript/asc';
import binaryen from 'assemblyscript/binaryen';
import { componentEmbed, componentNew } from '@bytecodealliance/jco';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await mkdir(join(root, 'build'), { recursive: true });

const { error, stderr } = await asc.main(
  ['assembly/component.ts', '--config', 'asconfig.json', '--target', 'release',
    '--outFile', 'build/component-core.wasm', '--textFile', 'build/component-core.wat'],
  { stdout: process.stdout, stderr: process.stderr, baseDir: root },
);
if (error) {
  console.error(`build-component: asc failed: ${error.message}\n${stderr.toString()}`);
  process.exit(1);
}

const mod = binaryen.readBinary(await readFile(join(root, 'build/component-core.wasm')));
mod.setFeatures(binaryen.Features.All);
const RENAMES = { chunk_boundaries: 'chunk-boundaries', cabi_post_chunk_boundaries: 'cabi_post_chunk-boundaries' };
for (const [from, to] of Object.entries(RENAMES)) {
  const ex = mod.getExport(from);
  if (!ex) throw new Error(`build-component: core module has no export ${from}`);
  const internal = binaryen.getExportInfo(ex).value;
  mod.removeExport(from);
  mod.addFunctionExport(internal, to);
}
if (!mod.validate()) throw new Error('build-component: renamed core module does not validate');
const core = mod.emitBinary();
mod.dispose();

const witSource = await readFile(join(root, 'wit/kernels.wit'), 'utf8');
const embedded = await componentEmbed({ binary: core, witSource, world: 'kernels', stringEncoding: 'utf8' });
const component = await componentNew(embedded);
await writeFile(join(root, 'build/kernels.component.wasm'), component);
console.error(`build-component: build/kernels.component.wasm ${component.length} bytes`);
