import { describe, expect, it } from 'vitest';
import { compileExcludes, parseIgnoreFile } from '../../src/tree/ignore.ts';

const ex = (patterns: string[], path: string) => compileExcludes(patterns).excludes(path);

describe('.dockerignore semantics', () => {
  it('matches single components with * and ?', () => {
    expect(ex(['*.log'], 'a.log')).toBe(true);
    expect(ex(['*.log'], 'dir/a.log')).toBe(false); // * does not cross '/'
    expect(ex(['*/*.log'], 'dir/a.log')).toBe(true);
    expect(ex(['a?c'], 'abc')).toBe(true);
    expect(ex(['a?c'], 'a/c')).toBe(false);
  });
  it('** crosses directories, including none', () => {
    expect(ex(['**/*.log'], 'a.log')).toBe(true);
    expect(ex(['**/*.log'], 'x/y/a.log')).toBe(true);
    expect(ex(['docs/**'], 'docs/a/b.md')).toBe(true);
    expect(ex(['a/**/b'], 'a/b')).toBe(true);
    expect(ex(['a/**/b'], 'a/x/y/b')).toBe(true);
  });
  it('a matched directory excludes everything below it', () => {
    expect(ex(['node_modules'], 'node_modules/x/index.js')).toBe(true);
    expect(ex(['node_modules'], 'src/node_modules')).toBe(false);
  });
  it('last matching rule wins; ! re-includes', () => {
    const rules = ['*.md', '!README.md'];
    expect(ex(rules, 'CHANGES.md')).toBe(true);
    expect(ex(rules, 'README.md')).toBe(false);
    expect(ex(['!README.md', '*.md'], 'README.md')).toBe(true);
  });
  it('cleans patterns and drops a leading /', () => {
    expect(ex(['/build/'], 'build/out.o')).toBe(true);
    expect(ex(['./a/../b'], 'b')).toBe(true);
  });
  it('character classes and escapes', () => {
    expect(ex(['file[0-9]'], 'file7')).toBe(true);
    expect(ex(['file[^0-9]'], 'file7')).toBe(false);
    expect(ex(['file[^0-9]'], 'filex')).toBe(true);
    expect(ex(['a\\*b'], 'a*b')).toBe(true);
    expect(ex(['a\\*b'], 'axb')).toBe(false);
    expect(ex(['a.b'], 'axb')).toBe(false);
  });
  it('prunes only when no exception can re-include', () => {
    expect(compileExcludes(['tmp']).canPrune('tmp')).toBe(true);
    expect(compileExcludes(['tmp', '!tmp/keep']).canPrune('tmp')).toBe(false);
    expect(compileExcludes(['tmp', '!tmp/keep']).excludes('tmp/keep')).toBe(false);
  });
  it('parses ignore files', () => {
    expect(parseIgnoreFile('# comment\n\n  *.o \r\n!keep.o\n')).toEqual(['*.o', '!keep.o']);
  });
  it('rejects broken patterns with a stable code', () => {
    expect(() => compileExcludes(['a['])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => compileExcludes(['a\\'])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
  });
});
