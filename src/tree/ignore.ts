/**
 * Exclusion rules with .dockerignore semantics (moby's patternmatcher), for `--exclude` and ignore
 * files:
 * - one pattern per line; blank lines and lines starting with '#' are skipped; whitespace trimmed;
 * - a leading '!' makes an exception (re-includes what earlier rules excluded); the LAST rule that
 *   matches a path decides;
 * - patterns are cleaned like Go's filepath.Clean and a leading '/' is dropped (paths are relative
 *   to the tree root);
 * - Go filepath.Match syntax: '*' any run of non-'/' characters, '?' one non-'/' character,
 *   '[...]' a class ('[^...]' negated), '\\' escapes; plus '**' for any number of directories;
 * - a rule that matches a parent directory of a path matches the path too ("node_modules" also
 *   excludes "node_modules/x/y").
 */
import { LayerkitError } from '../errors.ts';

interface Rule {
  source: string;
  exception: boolean;
  re: RegExp;
}

/** Go's filepath.Clean for '/'-separated relative patterns. */
function clean(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else out.push('..');
      continue;
    }
    out.push(part);
  }
  return out.length ? out.join('/') : '.';
}

const SPECIAL = new Set(['.', '+', '(', ')', '|', '{', '}', '$', '^']);

function compile(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++;
        re += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '\\') {
      const next = pattern[++i];
      if (next === undefined) throw badPattern(pattern, 'ends with an escape character');
      re += '\\' + next;
    } else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw badPattern(pattern, 'has an unterminated [ class');
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('^') || body.startsWith('!')) body = '^' + body.slice(1).replace(/\\/g, '\\\\');
      else body = body.replace(/\\/g, '\\\\');
      re += `[${body}]`;
      i = end;
    } else if (SPECIAL.has(ch)) {
      re += '\\' + ch;
    } else {
      re += ch;
    }
  }
  try {
    return new RegExp(re + '$', 's');
  } catch {
    throw badPattern(pattern, 'is not a valid pattern');
  }
}

function badPattern(pattern: string, why: string): LayerkitError {
  return new LayerkitError('ERR_INVALID_ARG', `exclude pattern "${pattern}" ${why}`, { pattern });
}

/** Parse the text of an ignore file (e.g. .dockerignore) into patterns. */
export function parseIgnoreFile(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

export interface Excluder {
  /** True when `path` (relative, '/'-separated) is excluded. */
  excludes(path: string): boolean;
  /**
   * True when nothing under the excluded directory `dir` can be re-included, so a walk may skip
   * it whole (false whenever an exception rule exists).
   */
  canPrune(dir: string): boolean;
}

export function compileExcludes(patterns: readonly string[]): Excluder {
  const rules: Rule[] = [];
  for (let raw of patterns) {
    raw = raw.trim();
    if (raw === '') continue;
    const exception = raw.startsWith('!');
    if (exception) raw = raw.slice(1).trim();
    let p = clean(raw.replace(/^\/+/, ''));
    if (p === '.') p = '';
    rules.push({ source: raw, exception, re: compile(p) });
  }
  const hasExceptions = rules.some((r) => r.exception);
  const matches = (re: RegExp, path: string): boolean => {
    if (re.test(path)) return true;
    for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
      if (re.test(path.slice(0, i))) return true;
    }
    return false;
  };
  return {
    excludes(path: string): boolean {
      let excluded = false;
      for (const r of rules) if (matches(r.re, path)) excluded = !r.exception;
      return excluded;
    },
    canPrune(dir: string): boolean {
      return !hasExceptions && this.excludes(dir);
    },
  };
}
