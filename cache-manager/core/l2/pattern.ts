/**
 * Key namespacing and glob handling. Every Redis key the store touches starts with a fixed
 * prefix; a caller's glob is appended to the *escaped* prefix, and since Redis anchors MATCH at
 * both ends, no `*` in the caller's pattern can reach a key outside the prefix.
 *
 * @example
 * const ks = new KeySpace("cachet:v:");
 * ks.valueKey("user:1")       // "cachet:v:user:1"
 * ks.valuePattern("user:*")   // "cachet:v:user:*"
 * new KeySpace("a*b:").valuePattern("*") // "a\\*b:*" — the prefix's `*` is literal
 */
import { GlobError, MAX_GLOB_LENGTH, validateGlob } from "../../../lib/glob.ts";
import { L2ArgumentError } from "./errors.ts";
import type { L2KeySpace } from "./types.ts";

export const DEFAULT_PREFIX = "cachet:v:";
export const MAX_KEY_LENGTH = 4096;
export const MAX_PATTERN_LENGTH = MAX_GLOB_LENGTH;

const GLOB_SPECIAL = /[*?[\]\\]/g;

/** Escapes `*`, `?`, `[`, `]` and `\` so Redis MATCH treats `text` literally. */
export function escapeGlob(text: string): string {
  return text.replace(GLOB_SPECIAL, "\\$&");
}

/**
 * Checks a caller's glob and returns it unchanged (see `lib/glob.ts`: bounded, no dangling `\`,
 * every `[` closed, a bounded number of `*`), so Redis never guesses what a pattern means.
 */
export function validatePattern(pattern: string): string {
  try {
    return validateGlob(pattern);
  } catch (error) {
    throw error instanceof GlobError ? new L2ArgumentError(error.message) : error;
  }
}

/** Throws unless `key` is a non-empty string of bounded length. */
export function validateKey(key: string): string {
  if (typeof key !== "string" || key.length === 0) throw new L2ArgumentError("key must be a non-empty string");
  if (key.length > MAX_KEY_LENGTH) throw new L2ArgumentError(`key is longer than ${MAX_KEY_LENGTH} characters`);
  return key;
}

/** Validates a TTL and rounds it up to whole milliseconds (Redis PX takes integers). */
export function validateTtl(ttlMs: number): number {
  if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new L2ArgumentError(`ttlMs must be a positive finite number of milliseconds, got ${String(ttlMs)}`);
  }
  return Math.ceil(ttlMs);
}

function defaultTagPrefix(prefix: string): string {
  return `${prefix.slice(0, -1)}#tags:`;
}

/** The store's key layout (see the module comment). */
export class KeySpace implements L2KeySpace {
  readonly prefix: string;
  readonly tagPrefix: string;

  constructor(prefix: string = DEFAULT_PREFIX, tagPrefix?: string) {
    for (const [name, value] of [
      ["prefix", prefix],
      ["tagPrefix", tagPrefix],
    ] as const) {
      if (value === undefined) continue;
      if (!value.endsWith(":") || value.length < 2) throw new L2ArgumentError(`${name} must end with ":" and name a namespace, e.g. "cachet:v:"`);
      // A brace would make Redis Cluster hash every key on the prefix into one slot.
      if (/[{}]/.test(value)) throw new L2ArgumentError(`${name} must not contain "{" or "}" (Redis Cluster hash tags)`);
    }
    this.prefix = prefix;
    this.tagPrefix = tagPrefix ?? defaultTagPrefix(prefix);
    if (this.tagPrefix.startsWith(this.prefix) || this.prefix.startsWith(this.tagPrefix)) {
      throw new L2ArgumentError("tagPrefix and prefix must not be prefixes of each other, or value scans would see tag sets");
    }
  }

  valueKey(key: string): string {
    return this.prefix + validateKey(key);
  }

  logicalKey(redisKey: string): string {
    return redisKey.slice(this.prefix.length);
  }

  tagKey(tag: string): string {
    if (typeof tag !== "string" || tag.length === 0) throw new L2ArgumentError("tag must be a non-empty string");
    return this.tagPrefix + tag;
  }

  /** The Redis MATCH pattern for a caller's glob over logical keys. */
  valuePattern(pattern: string): string {
    return escapeGlob(this.prefix) + validatePattern(pattern);
  }

  /** Matches every key the store owns (values and tag sets), for purging a node. */
  ownedPatterns(): string[] {
    return [`${escapeGlob(this.prefix)}*`, `${escapeGlob(this.tagPrefix)}*`];
  }
}
