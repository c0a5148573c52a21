/**
 * Cache keys as users send them: non-empty, at most 1 KiB of UTF-8, no control characters (they
 * break logs, terminals and the dashboard). Namespaces are the part up to and including the
 * first ':' (`product:42` → `product:`).
 */
import { CodedError } from "./errors";

export const MAX_KEY_BYTES = 1024;

export class InvalidKeyError extends CodedError {
  static override code = "E_INVALID_KEY";
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Throws InvalidKeyError saying what is wrong with `key`. */
export function validateKey(key: string): void {
  if (typeof key !== "string" || key.length === 0) throw new InvalidKeyError("key must be a non-empty string");
  const bytes = Buffer.byteLength(key, "utf8");
  if (bytes > MAX_KEY_BYTES) throw new InvalidKeyError(`key is ${bytes} bytes long; the limit is ${MAX_KEY_BYTES} bytes`);
  if (CONTROL.test(key)) throw new InvalidKeyError("key must not contain control characters (\\u0000-\\u001f, \\u007f)");
}

/** The key's namespace (`product:` for `product:42`), or "" when it has none. */
export function namespaceOf(key: string): string {
  const colon = key.indexOf(":");
  return colon === -1 ? "" : key.slice(0, colon + 1);
}
