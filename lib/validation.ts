/**
 * What every service accepts for keys, tags and TTLs, with each limit defined once here.
 *
 * - Keys: non-empty, at most 1 KiB of UTF-8, no control characters (they break logs, terminals
 *   and the dashboard). Namespaces are the part up to and including the first ':'
 *   (`product:42` → `product:`).
 * - TTLs: a positive number of seconds, at most a year.
 * - Tags: 1 to 256 characters each; an entry carries at most 32, an invalidation names at most 100.
 *
 * The checks throw typed errors (`InvalidKeyError`, `InvalidEntryError`) whose messages say what
 * to fix; each service's error edge maps them to `invalid_argument`.
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
  // A UTF-16 unit is at most 3 bytes of UTF-8: a key that short needs no count (most keys).
  if (key.length > MAX_KEY_BYTES / 3) {
    const bytes = Buffer.byteLength(key, "utf8");
    if (bytes > MAX_KEY_BYTES) throw new InvalidKeyError(`key is ${bytes} bytes long; the limit is ${MAX_KEY_BYTES} bytes`);
  }
  if (CONTROL.test(key)) throw new InvalidKeyError("key must not contain control characters (\\u0000-\\u001f, \\u007f)");
}

/** Validates every key of a list, naming the first bad one (`keys[3]: key must not …`). */
export function validateKeys(keys: readonly string[], field = "keys"): void {
  let i = 0;
  try {
    for (; i < keys.length; i++) validateKey(keys[i]);
  } catch (error) {
    if (error instanceof InvalidKeyError) throw new InvalidKeyError(`${field}[${i}]: ${error.message}`);
    throw error;
  }
}

/** The key's namespace (`product:` for `product:42`), or "" when it has none. */
export function namespaceOf(key: string): string {
  const colon = key.indexOf(":");
  return colon === -1 ? "" : key.slice(0, colon + 1);
}

export const MAX_TTL_SECONDS = 365 * 24 * 3600;
export const MAX_TAG_CHARS = 256;
export const MAX_TAGS_PER_ENTRY = 32;
export const MAX_TAGS_PER_INVALIDATION = 100;

/** A TTL or tag list that is out of range; the message names the field (and `where` it is). */
export class InvalidEntryError extends CodedError {
  static override code = "E_INVALID_ENTRY";
}

const at = (where: string, message: string) => new InvalidEntryError(where ? `${where}: ${message}` : message);
const badTag = (tag: unknown) => typeof tag !== "string" || tag.length === 0 || tag.length > MAX_TAG_CHARS;

/** Throws InvalidEntryError unless `ttlSeconds` is absent or in (0, MAX_TTL_SECONDS]. */
export function validateTtlSeconds(ttlSeconds: number | undefined, where = ""): void {
  if (ttlSeconds !== undefined && !(ttlSeconds > 0 && ttlSeconds <= MAX_TTL_SECONDS)) {
    throw at(where, `"ttlSeconds" must be a number of seconds from 1 to ${MAX_TTL_SECONDS}`);
  }
}

/** Throws InvalidEntryError unless an entry's `tags` are absent or at most MAX_TAGS_PER_ENTRY valid tags. */
export function validateEntryTags(tags: readonly string[] | undefined, where = ""): void {
  if (tags && (!Array.isArray(tags) || tags.length > MAX_TAGS_PER_ENTRY || tags.some(badTag))) {
    throw at(where, `"tags" takes at most ${MAX_TAGS_PER_ENTRY} tags of 1 to ${MAX_TAG_CHARS} characters`);
  }
}

/** Throws InvalidEntryError unless an invalidation names 1 to MAX_TAGS_PER_INVALIDATION valid tags. */
export function validateInvalidationTags(tags: unknown): asserts tags is string[] {
  if (!Array.isArray(tags) || tags.length === 0 || tags.length > MAX_TAGS_PER_INVALIDATION) {
    throw new InvalidEntryError(`"tags" must list 1 to ${MAX_TAGS_PER_INVALIDATION} tags`);
  }
  const bad = tags.findIndex(badTag);
  if (bad >= 0) throw new InvalidEntryError(`tags[${bad}] must be 1 to ${MAX_TAG_CHARS} characters`);
}
