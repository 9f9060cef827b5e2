// Runtime smoke cases: the same bytes hashed in Node, Deno and Chromium must give the same digests.
// Plain JS so every runtime imports it as is. `lib` is layerkit's public API for that runtime.

/** xorshift32 bytes: deterministic, no dependency. */
export function pseudoRandom(len, seed = 0x9e3779b9) {
  const out = new Uint8Array(len);
  let x = seed >>> 0;
  for (let i = 0; i < len; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function pattern(len) {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = i % 251;
  return out;
}

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

export function runSmoke(lib) {
  const r = {};
  for (const n of [0, 1, 1023, 1024, 1025, 65536, 100000, (1 << 20) + 1]) {
    const data = pattern(n);
    r[`blake3/${n}`] = hex(lib.blake3(data));
    r[`sha256-wasm/${n}`] = hex(lib.sha256(data));
    const h = lib.createBlake3();
    for (let i = 0; i < n; i += 7919) h.update(data.subarray(i, i + 7919));
    r[`blake3-split/${n}`] = hex(h.digest());
  }
  r['blake3-xof/131'] = hex(lib.blake3(pattern(4097), { outputLength: 131 }));
  const rnd = pseudoRandom(3 << 20);
  r['cdc/3MiB-default'] = lib.chunkBoundaries(rnd).join(',');
  r['cdc/3MiB-small'] = lib.chunkBoundaries(rnd, { minSize: 1024, avgSize: 4096, maxSize: 16384 }).join(',');
  const c = lib.hashBytes(rnd, { blake3: true, sha256: true, chunks: true });
  r['content/blake3'] = hex(c.blake3);
  r['content/sha256'] = hex(c.sha256);
  r['content/chunks'] = c.chunks.map((x) => `${x.offset}+${x.length}:${hex(x.blake3)}`).join(',');
  return r;
}

/**
 * gzip by layerkit's deflate kernel: the compressed bytes (not only the content) must be the same
 * in every runtime. Values: sha256 of the gzip output.
 */
export async function runSmokeAsync(lib) {
  const r = {};
  const text = new TextEncoder().encode(Array.from({ length: 40000 }, (_, i) => `line ${i % 977} of ${(i * 7) % 13}\n`).join(''));
  for (const [name, data] of [['text', text], ['pattern-300k', pattern(300000)], ['random-200k', pseudoRandom(200000, 7)], ['empty', new Uint8Array(0)]]) {
    for (const level of [1, 6, 9]) r[`gzip/${name}/${level}`] = hex(lib.sha256(await lib.gzip(data, { level })));
  }
  return r;
}

/** The inputs of runSmokeAsync, for checking outside the runtimes (gunzip gives them back). */
export function gzipSmokeInputs() {
  const text = new TextEncoder().encode(Array.from({ length: 40000 }, (_, i) => `line ${i % 977} of ${(i * 7) % 13}\n`).join(''));
  return { text, 'pattern-300k': pattern(300000), 'random-200k': pseudoRandom(200000, 7), empty: new Uint8Array(0) };
}
