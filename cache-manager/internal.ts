/**
 * Service-to-service endpoints (not exposed through the gateway) for the other services' typed
 * clients: invalidation applies its events here, warming stores and loads through here, and
 * monitoring reads the hot keys.
 */
import { api, APIError } from "encore.dev/api";
import { validateKey } from "../lib/keys";
import { requireBatch, validateKeys, validateWrite, type BatchGetEntry } from "./batch";
import type { L2CountResult } from "./core/l2/types";
import { edge } from "./errors";
import { cacheRuntime } from "./runtime";

const MAX_PATTERN_BYTES = 1024;
const MAX_TAGS = 100;
const MAX_COUNT_LIMIT = 1_000_000;
const HOT_KEYS = 100;

interface InvalidateRequest {
  keys?: string[];
  /** Glob over keys; every instance's L1 is cleared afterwards. */
  pattern?: string;
  tags?: string[];
}

export interface InvalidateResponse {
  deleted: number;
  /** Keys the pattern scan examined (0 without a pattern). */
  scanned: number;
}

interface CountRequest {
  pattern: string;
  /** Stop counting at this many matches; default 10,000, at most 1,000,000. */
  limit?: number;
}

/** Fences are `=` + a lease marker or `#` + a SHA-1 (l2/fence.ts); anything longer is not one. */
const MAX_FENCE_LENGTH = 128;

interface StoreEntry {
  key: string;
  value: unknown;
  ttlSeconds?: number;
  tags?: string[];
  /** The fill fence `origin-load` gave with the value: stored only if the key did not change since. */
  fence?: string;
}

interface StoreRequest {
  entries: StoreEntry[];
}

export interface StoreResponse {
  stored: number;
}

interface LoadRequest {
  keys: string[];
}

export interface LoadResponse {
  entries: BatchGetEntry[];
}

export interface HotKeys {
  keys: Array<{ key: string; count: number }>;
}

function requirePattern(pattern: string | undefined): string {
  if (typeof pattern !== "string" || pattern.length === 0) throw APIError.invalidArgument('"pattern" must be a non-empty glob');
  if (Buffer.byteLength(pattern) > MAX_PATTERN_BYTES) throw APIError.invalidArgument(`"pattern" must be at most ${MAX_PATTERN_BYTES} bytes`);
  return pattern;
}

/** Deletes by keys, by glob pattern and/or by tags, on every tier of every instance. */
export const invalidate = api({ method: "POST", path: "/internal/cache/invalidate", expose: false }, async (p: InvalidateRequest): Promise<InvalidateResponse> =>
  edge(async () => {
    if (!p.keys?.length && p.pattern === undefined && !p.tags?.length) throw APIError.invalidArgument('give "keys", "pattern" or "tags"');
    if (p.keys?.length) {
      requireBatch("keys", p.keys);
      validateKeys(p.keys);
    }
    const pattern = p.pattern === undefined ? undefined : requirePattern(p.pattern);
    if (p.tags && (p.tags.length > MAX_TAGS || p.tags.some((t) => typeof t !== "string" || t.length === 0 || t.length > 256))) {
      throw APIError.invalidArgument(`"tags" takes at most ${MAX_TAGS} tags of 1 to 256 characters`);
    }
    const { cache } = await cacheRuntime();
    let deleted = 0;
    let scanned = 0;
    if (p.keys?.length) deleted += await cache.delete(p.keys);
    if (pattern !== undefined) {
      const result = await cache.deleteMatching(pattern);
      deleted += result.deleted;
      scanned += result.scanned;
    }
    if (p.tags?.length) deleted += await cache.deleteByTags(p.tags);
    return { deleted, scanned };
  }),
);

/** Counts L2 keys matching a glob, up to `limit`, with a sample. */
export const count = api({ method: "POST", path: "/internal/cache/count", expose: false }, async (p: CountRequest): Promise<L2CountResult> =>
  edge(async () => {
    const pattern = requirePattern(p.pattern);
    if (p.limit !== undefined && !(Number.isInteger(p.limit) && p.limit >= 1 && p.limit <= MAX_COUNT_LIMIT)) {
      throw APIError.invalidArgument(`"limit" must be a whole number from 1 to ${MAX_COUNT_LIMIT}`);
    }
    return (await cacheRuntime()).cache.countMatching(pattern, p.limit);
  }),
);

/**
 * Writes up to 1,000 entries (cache-only), as warming does; an entry with a fence is stored only if
 * its key did not change since the fence was taken. `stored` counts the entries stored.
 */
export const store = api({ method: "POST", path: "/internal/cache/store", expose: false, bodyLimit: 8 * 1024 * 1024 }, async ({ entries }: StoreRequest): Promise<StoreResponse> =>
  edge(async () => {
    requireBatch("entries", entries);
    validateKeys(entries.map((entry) => entry.key));
    entries.forEach((entry, i) => {
      validateWrite(entry, `entries[${i}]`);
      if (entry.fence !== undefined && (typeof entry.fence !== "string" || entry.fence.length > MAX_FENCE_LENGTH)) {
        throw APIError.invalidArgument(`entries[${i}]: "fence" must be the string origin-load returned (at most ${MAX_FENCE_LENGTH} characters)`);
      }
    });
    const stored = await (await cacheRuntime()).cache.setMany(entries.map((e) => ({ key: e.key, value: e.value, ttlMs: e.ttlSeconds && e.ttlSeconds * 1000, tags: e.tags, fence: e.fence })));
    return { stored: stored.filter(Boolean).length };
  }),
);

/** Loads up to 1,000 keys through L1 → L2 → origin (filling the tiers), as warming does. */
export const load = api({ method: "POST", path: "/internal/cache/load", expose: false }, async ({ keys }: LoadRequest): Promise<LoadResponse> =>
  edge(async () => {
    requireBatch("keys", keys);
    keys.forEach((key) => validateKey(key));
    const reads = await (await cacheRuntime()).cache.getMany(keys);
    return {
      entries: reads.map(({ key, found, read }) =>
        found && read ? { key, found: true, value: read.value, source: read.source, ttlMs: read.ttlMs, tags: read.tags } : { key, found: false },
      ),
    };
  }),
);

/** This instance's most requested keys, hottest first. */
export const hotKeys = api({ method: "GET", path: "/internal/cache/hot-keys", expose: false }, async (): Promise<HotKeys> =>
  edge(async () => ({ keys: (await cacheRuntime()).cache.hot.top(HOT_KEYS).map(({ key, count }) => ({ key, count })) })),
);

