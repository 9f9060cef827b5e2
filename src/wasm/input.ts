/** Validation of byte inputs crossing into the kernels: the one place that decides what "bytes" are. */
import { LayerkitError } from '../errors.ts';

const hasDetachedProp = 'detached' in ArrayBuffer.prototype;

function isDetached(buf: ArrayBufferLike): boolean {
  if (hasDetachedProp) return (buf as ArrayBuffer & { detached: boolean }).detached === true;
  if (buf.byteLength !== 0) return false;
  try {
    new Uint8Array(buf as ArrayBuffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * Accept a Uint8Array, any other ArrayBufferView (viewed as its bytes) or an ArrayBuffer.
 * Anything else (strings, numbers, arrays of numbers, null) is ERR_INVALID_ARG; a detached
 * buffer is ERR_DETACHED_BUFFER, never silently hashed as empty.
 */
export function asBytes(data: unknown, what = 'data'): Uint8Array {
  if (data instanceof Uint8Array) {
    if (data.byteLength === 0 && isDetached(data.buffer)) throw detached(what);
    return data;
  }
  if (ArrayBuffer.isView(data)) {
    if (data.byteLength === 0 && isDetached(data.buffer)) throw detached(what);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer)) {
    if (isDetached(data)) throw detached(what);
    return new Uint8Array(data);
  }
  const kind = data === null ? 'null' : Array.isArray(data) ? 'array' : typeof data;
  throw new LayerkitError('ERR_INVALID_ARG',
    `${what} must be a Uint8Array, an ArrayBufferView or an ArrayBuffer, got ${kind}` +
      (typeof data === 'string' ? ' (encode strings first, e.g. new TextEncoder().encode(s))' : ''),
    { argument: what, got: kind });
}

function detached(what: string): LayerkitError {
  return new LayerkitError('ERR_DETACHED_BUFFER', `${what} is backed by a detached ArrayBuffer (it was transferred or its memory replaced)`, { argument: what });
}

/** An integer in [min, max], else ERR_INVALID_ARG / ERR_OUT_OF_RANGE naming the parameter. */
export function checkInt(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new LayerkitError('ERR_INVALID_ARG', `${name} must be an integer, got ${typeof value === 'number' ? value : typeof value}`, { argument: name });
  }
  if (value < min || value > max) {
    throw new LayerkitError('ERR_OUT_OF_RANGE', `${name} must be between ${min} and ${max}, got ${value}`, { argument: name, value, min, max });
  }
  return value;
}
