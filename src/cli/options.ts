/** Options shared by the tree verbs: exclusions from flags and ignore files. */
import { readFile } from 'node:fs/promises';
import { parseIgnoreFile } from '../tree/ignore.ts';
import { wrapError } from '../errors.ts';

export const EXCLUDE_OPTIONS = {
  exclude: { type: 'string', multiple: true, default: [] as string[] },
  'ignore-file': { type: 'string', multiple: true, default: [] as string[] },
} as const;

export const EXCLUDE_HELP = `  --exclude PATTERN      leave out paths matching PATTERN (.dockerignore syntax; repeatable)
  --ignore-file FILE     read patterns from FILE (.dockerignore format; repeatable)`;

/** Patterns from --ignore-file files first, then --exclude flags (later rules win). */
export async function excludePatterns(values: { exclude?: string[]; 'ignore-file'?: string[] }): Promise<string[]> {
  const patterns: string[] = [];
  for (const f of values['ignore-file'] ?? []) {
    try {
      patterns.push(...parseIgnoreFile(await readFile(f, 'utf8')));
    } catch (e) {
      throw wrapError(e, `read ignore file ${f}`);
    }
  }
  patterns.push(...(values.exclude ?? []));
  return patterns;
}
