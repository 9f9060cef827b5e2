// Container records: farm records written before union containers (no `kind`) still parse; union
// records are validated (upper, layers); an unknown kind is refused.
import { describe, it, expect } from 'vitest';
import { parseContainer, unionUpperDir } from '../../src/snapshot/container-record.ts';

const enc = new TextEncoder();
const D = `sha256:${'1'.repeat(64)}`;
const image = { layout: '/l', tag: 't', manifest: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D, size: 10 }, chainID: D };
const parse = (v: object, name = 'c1') => parseContainer(enc.encode(JSON.stringify(v)), `/s/containers/${name}.json`, name);

describe('container records', () => {
  it('a farm record without kind (version 1 as written before) parses; so does kind "farm"', () => {
    const old = { version: 1, name: 'c1', snapshot: 'container/c1', image, created: '2026-01-01T00:00:00Z' };
    expect(parse(old)).toEqual(old);
    expect(parse({ ...old, kind: 'farm' }).kind).toBe('farm');
  });

  it('a union record: upper must be its own directory, layers diffIDs', () => {
    const u = { version: 1, kind: 'union', name: 'c1', upper: unionUpperDir('c1'), layers: [D], image, created: '2026-01-01T00:00:00Z' };
    expect(parse(u)).toEqual(u);
    expect(unionUpperDir('c1')).toBe('union/containers/c1/upper');
    expect(() => parse({ ...u, upper: '../../etc' })).toThrow(/upper must be/);
    expect(() => parse({ ...u, layers: ['nope'] })).toThrow(/layers/);
    expect(() => parse({ ...u, kind: 'overlay' })).toThrow(/kind/);
  });
});
