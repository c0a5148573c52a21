/**
 * The answer of a single get (`GET /api/cache/:key`), with its JSON text attached
 * (lib/response-json.ts) when it is an L1 hit: an L1 hit answers the same value object every
 * time, so the text around the fields that change (TTL, fetch time) is kept per value object and
 * the answer is three concatenations instead of a walk of the value. Other sources answer a value
 * read just now, whose text would be used once: the host encodes those as before.
 *
 * Cached values are never mutated (an L1 value is shared by every reader already); a value object
 * answered under another key, staleness or tags is encoded again. The text is exactly
 * `JSON.stringify` of the answer (entry-json.test.ts checks it over values of every JSON kind, and
 * the host compares the two on every response under tests).
 */
import { withResponseJson } from "../lib/response-json";
import type { CacheEntry } from "./cache";
import type { CacheRead } from "./core/tiered";

/** An answer's text up to its TTL (`{"key":…,"value":…,"source":…,"stale":…,"ttlMs":`) and between TTL and fetch time. */
interface KeptText {
  readonly read: Pick<CacheRead, "key" | "stale" | "tags">;
  readonly head: string;
  readonly middle: string;
}

/** Per L1 value object; dropped with the value. */
const kept = new WeakMap<object, KeptText>();

/**
 * The answer for `read`, fields in the order the endpoint has always answered them; an L1 hit's
 * carries its JSON text.
 */
export function cacheEntryResponse(read: CacheRead, fetchTimeMs: number): CacheEntry {
  const { key, value, source, stale, ttlMs, tags } = read;
  const entry = { key, value, source, stale, ttlMs, tags, fetchTimeMs };
  if (source !== "l1" || typeof value !== "object" || value === null) return entry;
  let text = kept.get(value);
  if (text === undefined || !sameAround(text.read, read)) {
    text = encodeAround(entry);
    kept.set(value, text);
  }
  return withResponseJson(entry, text.head + numberJson(ttlMs) + text.middle + numberJson(fetchTimeMs) + "}");
}

/** A finite number's JSON is its `String()`; JSON writes any other as null. */
const numberJson = (n: number) => (Number.isFinite(n) ? String(n) : "null");

function sameAround(was: KeptText["read"], now: CacheRead): boolean {
  return was.key === now.key && was.stale === now.stale && (was.tags === now.tags || sameTags(was.tags, now.tags));
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `JSON.stringify(entry)` around its two numbers (the value encoded as a property, `toJSON` included). */
function encodeAround({ key, value, source, stale, tags }: CacheEntry): KeptText {
  return {
    read: { key, stale, tags },
    head: `${JSON.stringify({ key, value, source, stale }).slice(0, -1)},"ttlMs":`,
    middle: `,"tags":${JSON.stringify(tags)},"fetchTimeMs":`,
  };
}
