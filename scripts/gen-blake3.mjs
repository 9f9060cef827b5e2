// Generates the fully unrolled BLAKE3 round code in assembly/blake3.ts (between the
// "BEGIN GENERATED" / "END GENERATED" markers): a scalar compression over i32 locals and a
// 4-lane SIMD compression over v128 locals. The message schedule is applied here, at generation
// time, so the kernel indexes no arrays. Usage: node scripts/gen-blake3.mjs
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const file = process.env.GEN_FILE ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'assembly', 'blake3.ts');
/** How many of the 4 independent G functions of a half-round are emitted step by step together. */
const WIDTH = Number(process.env.GEN_WIDTH ?? 4);
const PERM = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
const schedules = [];
let s = [...Array(16).keys()];
for (let r = 0; r < 7; r++) { schedules.push(s); s = s.map((_, i) => s[PERM[i]]); }
const GS = [[0, 4, 8, 12], [1, 5, 9, 13], [2, 6, 10, 14], [3, 7, 11, 15],
  [0, 5, 10, 15], [1, 6, 11, 12], [2, 7, 8, 13], [3, 4, 9, 14]];

// Emit one round as 4 interleaved G functions (columns, then diagonals).
function rounds(ops) {
  const out = [];
  for (let r = 0; r < 7; r++) {
    const sc = schedules[r];
    out.push(`    // round ${r}`);
    for (const half of [0, 4]) {
      const gs = GS.slice(half, half + 4).map((g, i) => [...g, sc[2 * (half + i)], sc[2 * (half + i) + 1]]);
      for (let k = 0; k < 4; k += WIDTH) {
        const group = gs.slice(k, k + WIDTH);
        const step = (f) => { for (const g of group) out.push('    ' + f(...g)); };
        step((a, b, c, d, x) => `v${a} = ${ops.add3(`v${a}`, `v${b}`, ops.msg(x))};`);
        step((a, b, c, d) => `v${d} = ${ops.rot16(ops.xor(`v${d}`, `v${a}`))};`);
        step((a, b, c, d) => `v${c} = ${ops.add(`v${c}`, `v${d}`)};`);
        step((a, b, c, d) => `v${b} = ${ops.rot12(ops.xor(`v${b}`, `v${c}`))};`);
        step((a, b, c, d, x, y) => `v${a} = ${ops.add3(`v${a}`, `v${b}`, ops.msg(y))};`);
        step((a, b, c, d) => `v${d} = ${ops.rot8(ops.xor(`v${d}`, `v${a}`))};`);
        step((a, b, c, d) => `v${c} = ${ops.add(`v${c}`, `v${d}`)};`);
        step((a, b, c, d) => `v${b} = ${ops.rot7(ops.xor(`v${b}`, `v${c}`))};`);
      }
    }
  }
  return out.join('\n');
}

const rotScalar = (n) => (x) => `rotr<u32>(${x.slice(1, -1)}, ${n})`; // x is "(a ^ b)"
const scalar = {
  msg: (x) => `m${x}`,
  add: (a, b) => `${a} + ${b}`,
  add3: (a, b, c) => `${a} + ${b} + ${c}`,
  xor: (a, b) => `(${a} ^ ${b})`,
  rot16: rotScalar(16), rot12: rotScalar(12), rot8: rotScalar(8), rot7: rotScalar(7),
};
const simd = {
  // The transposed message words are read from the MSG scratch (V8 spills them anyway).
  msg: (x) => `v128.load(MSG, ${x * 16})`,
  add: (a, b) => `i32x4.add(${a}, ${b})`,
  add3: (a, b, c) => `i32x4.add(i32x4.add(${a}, ${c}), ${b})`, // a + m first: b comes last in the chain
  xor: (a, b) => `v128.xor(${a}, ${b})`,
  rot16: (x) => `rot16(${x})`, rot12: (x) => `rot12(${x})`, rot8: (x) => `rot8(${x})`, rot7: (x) => `rot7(${x})`,
};

const src = await readFile(file, 'utf8');
const re = /(\/\/ BEGIN GENERATED SCALAR ROUNDS)[\s\S]*?(\n[ ]*\/\/ END GENERATED SCALAR ROUNDS)/;
const re2 = /(\/\/ BEGIN GENERATED SIMD ROUNDS)[\s\S]*?(\n[ ]*\/\/ END GENERATED SIMD ROUNDS)/;
if (!re.test(src) || !re2.test(src)) throw new Error('markers not found in assembly/blake3.ts');
const next = src.replace(re, (_, a, b) => a + '\n' + rounds(scalar) + b).replace(re2, (_, a, b) => a + '\n' + rounds(simd) + b);
await writeFile(file, next);
console.error(`gen-blake3: wrote rounds into ${file}`);
