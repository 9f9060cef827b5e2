/** CLI plumbing: output streams, error reporting with exit codes. */
import { exitCodeOf, isLayerkitError, EXIT, LayerkitError } from '../errors.ts';

export function out(line: string): void {
  process.stdout.write(line + '\n');
}

export function log(line: string): void {
  process.stderr.write(line + '\n');
}

export function usageError(message: string): LayerkitError {
  return new LayerkitError('ERR_USAGE', message);
}

/** Print an error as `layerkit: CODE: message` and return the exit status its code maps to. */
export function reportError(e: unknown): number {
  if (isLayerkitError(e)) {
    log(`layerkit: ${e.code}: ${e.message}`);
    return exitCodeOf(e);
  }
  log(`layerkit: internal error: ${(e as Error)?.stack ?? String(e)}`);
  return EXIT.internal;
}

export const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
