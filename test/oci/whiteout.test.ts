import { describe, expect, test } from 'vitest';
import { assertNotWhiteoutName, isOpaque, isWhiteout, opaqueFor, parseWhiteout, whiteoutFor } from '../../src/oci/whiteout.ts';
import { LayerkitError } from '../../src/errors.ts';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as LayerkitError).code;
  }
  return undefined;
}

describe('whiteout names', () => {
  test('encode', () => {
    expect(whiteoutFor('etc/passwd')).toBe('etc/.wh.passwd');
    expect(whiteoutFor('top')).toBe('.wh.top');
    expect(whiteoutFor('a/.baz')).toBe('a/.wh..baz');
    expect(opaqueFor('usr/share')).toBe('usr/share/.wh..wh..opq');
    expect(opaqueFor('')).toBe('.wh..wh..opq');
  });

  test('recognize', () => {
    expect(isWhiteout('a/.wh.x')).toBe(true);
    expect(isWhiteout('.wh.x')).toBe(true);
    expect(isWhiteout('a/x.wh.y')).toBe(false);
    expect(isWhiteout('.wh.dir/x')).toBe(false); // only the last component counts
    expect(isOpaque('a/.wh..wh..opq')).toBe(true);
    expect(isOpaque('a/.wh.opq')).toBe(false);
  });

  test('parse', () => {
    expect(parseWhiteout('a/b/.wh.c')).toEqual({ kind: 'whiteout', dir: 'a/b', name: 'c', target: 'a/b/c' });
    expect(parseWhiteout('.wh..baz')).toEqual({ kind: 'whiteout', dir: '', name: '.baz', target: '.baz' });
    expect(parseWhiteout('x/.wh..wh..opq')).toEqual({ kind: 'opaque', dir: 'x' });
    expect(parseWhiteout('.wh..wh..opq')).toEqual({ kind: 'opaque', dir: '' });
    expect(parseWhiteout('x/.wh..wh.plnk')).toEqual({ kind: 'meta', dir: 'x', name: '.wh..wh.plnk' });
    expect(parseWhiteout('a/b')).toBeNull();
  });

  test('bad whiteouts (A4)', () => {
    for (const p of ['.wh.', '.wh..', '.wh...', 'etc/.wh..', 'etc/.wh.', 'a/.wh...']) {
      expect(code(() => parseWhiteout(p)), p).toBe('ERR_INVALID_WHITEOUT');
    }
    expect(code(() => whiteoutFor('a/..'))).toBe('ERR_INVALID_WHITEOUT');
    expect(code(() => whiteoutFor(''))).toBe('ERR_INVALID_WHITEOUT');
  });

  test('a real file named .wh.* cannot be written (G6)', () => {
    expect(code(() => assertNotWhiteoutName('a/.wh.x'))).toBe('ERR_WHITEOUT_NAME');
    expect(code(() => assertNotWhiteoutName('a/x'))).toBeUndefined();
  });
});
