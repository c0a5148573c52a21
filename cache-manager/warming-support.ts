/**
 * Service-to-service endpoints the warming service needs (not exposed through the gateway):
 * listing a namespace's keys from its origin, loading keys straight from their origins, the hot
 * keys with their remaining freshness, what the cache holds for given keys (snapshots), and
 * restoring L3 entries into L2 (the `l3` source).
 */
import { api, APIError } from "encore.dev/api";
import { validateKey } from "../lib/validation";
import { requireBatch } from "./batch";
import { validatePattern } from "./core/l2/pattern";
import { edge } from "./errors";
import { loadFromOriginsFenced } from "./core/tiered/origin-fills";
import { cacheRuntime } from "./runtime";
import { mapBounded } from "../lib/concurrency";

const MAX_LIST_LIMIT = 10_000;
const MAX_HOT_KEYS = 2_000;
/** Entries per `l3-restore` page at most (warming's largest batch). */
const MAX_L3_RESTORE_LIMIT = 1_000;

interface OriginKeysRequest {
  /** The namespace whose origin lists the keys, e.g. "product:". */
  namespace: string;
  /** From the previous page; absent for the first page. */
  cursor?: string;
  /** Keys per page, 1 to 10,000 (default 1,000). */
  limit?: number;
}

export interface OriginKeysResponse {
  keys: string[];
  /** Pass back for the next page; absent on the last page. */
  cursor?: string;
}

interface KeysRequest {
  keys: string[];
}

export interface OriginLoadEntry {
  key: string;
  /** False when the origin has no such id, or no origin serves the key. */
  found: boolean;
  value?: unknown;
  /** The fill fence taken before the origin was read: pass it back with the entry to `store`. */
  fence?: string;
}

export interface OriginLoadResponse {
  entries: OriginLoadEntry[];
}

interface HotKeysRequest {
  /** How many of the hottest keys, 1 to 2,000 (default 100). */
  limit?: number;
}

export interface HotKeyFreshness {
  key: string;
  count: number;
  /** Milliseconds the cached value stays fresh: -1 = no expiry, -2 = not cached. */
  ttlMs: number;
}

export interface HotKeysWithTtl {
  keys: HotKeyFreshness[];
}

interface PeekRequest {
  keys: string[];
  /** Include the cached values (for snapshots). */
  values?: boolean;
}

export interface PeekEntry {
  key: string;
  found: boolean;
  /** Milliseconds the cached value stays fresh: -1 = no expiry, -2 = not cached. */
  ttlMs: number;
  value?: unknown;
  tags?: string[];
}

export interface PeekResponse {
  entries: PeekEntry[];
}

interface L3RestoreRequest {
  /** Redis glob of the keys to restore, e.g. "product:*". */
  pattern: string;
  /** From the previous page; absent for the first page. */
  cursor?: string;
  /** Entries per page, 1 to 1,000 (default 100). */
  limit?: number;
}

export interface L3RestoreResponse {
  /** Entries written into L2 (through their fill fence). */
  restored: number;
  /** Entries not written: expired, or the key is in L2 already or changed meanwhile. */
  skipped: number;
  /** Pass back for the next page; absent after the last page. */
  cursor?: string;
}

/** What the cache holds for `key`, without touching the origin or the hit statistics. */
async function peekKey(key: string, withValue: boolean): Promise<PeekEntry> {
  const found = await (await cacheRuntime()).cache.explorer().inspect(key);
  if (!found || found.negative) return { key, found: false, ttlMs: -2 };
  const { ttlMs } = found;
  return withValue ? { key, found: true, ttlMs, value: found.value, ...(found.tags.length ? { tags: found.tags } : {}) } : { key, found: true, ttlMs };
}

/** One page of a namespace's keys, listed by its origin (the origin needs a `listQuery`). */
export const originKeys = api(
  { method: "POST", path: "/internal/cache/origin-keys", expose: false },
  async (p: OriginKeysRequest): Promise<OriginKeysResponse> =>
    edge(async () => {
      if (typeof p.namespace !== "string" || p.namespace === "") throw APIError.invalidArgument('"namespace" is required, e.g. "product:"');
      const limit = p.limit ?? 1_000;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT)
        throw APIError.invalidArgument(`"limit" must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
      const { origins } = await cacheRuntime();
      const origin = origins.get(p.namespace);
      if (!origin)
        throw APIError.notFound(
          `no origin is configured for the namespace "${p.namespace}" (configured: ${
            origins
              .list()
              .map((o) => o.namespace)
              .join(", ") || "none"
          })`,
        );
      if (!origin.list)
        throw APIError.failedPrecondition(
          `the origin "${p.namespace}" cannot list its keys: add ${origin.kind === "sql" ? '"listQuery"' : "a listing"} to its config`,
        );
      const page = await origin.list({ cursor: p.cursor ?? null, limit });
      return page.cursor === null ? { keys: page.keys } : { keys: page.keys, cursor: page.cursor };
    }),
);

/**
 * Loads up to 1,000 keys straight from their origins, bypassing the cache (warming refreshes
 * values it is about to store), each with the fill fence taken before its origin was read. A key
 * no origin serves is `found: false`; an origin failure fails the call (503), so the caller can
 * retry the batch.
 */
export const originLoad = api(
  { method: "POST", path: "/internal/cache/origin-load", expose: false },
  async ({ keys }: KeysRequest): Promise<OriginLoadResponse> =>
    edge(async () => {
      requireBatch("keys", keys);
      keys.forEach((key) => validateKey(key));
      const { cache, origins } = await cacheRuntime();
      return { entries: await loadFromOriginsFenced(cache, origins, keys) };
    }),
);

/** This instance's hottest keys, hottest first, with how long each stays fresh. */
export const hotKeysWithTtl = api({ method: "POST", path: "/internal/cache/hot-keys-ttl", expose: false }, async (p: HotKeysRequest): Promise<HotKeysWithTtl> =>
  edge(async () => {
    const limit = p.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HOT_KEYS)
      throw APIError.invalidArgument(`"limit" must be a whole number from 1 to ${MAX_HOT_KEYS}`);
    const hot = (await cacheRuntime()).cache.hot.top(limit);
    const states = await mapBounded(hot, 32, (entry) => peekKey(entry.key, false));
    return { keys: hot.map((entry, i) => ({ key: entry.key, count: entry.count, ttlMs: states[i].ttlMs })) };
  }),
);

/** What the cache holds for up to 1,000 keys (freshness, and values on request); never loads. */
export const peek = api(
  { method: "POST", path: "/internal/cache/peek", expose: false, bodyLimit: 2 * 1024 * 1024 },
  async (p: PeekRequest): Promise<PeekResponse> =>
    edge(async () => {
      requireBatch("keys", p.keys);
      p.keys.forEach((key) => validateKey(key));
      return { entries: await mapBounded(p.keys, 32, (key) => peekKey(key, p.values === true)) };
    }),
);

/**
 * Writes one page of the L3 entries matching `pattern` back into L2 (the warming source `l3`,
 * after Redis lost its data). 503 while L3 is not configured or unavailable, so the warming run
 * fails with that message.
 */
export const l3Restore = api({ method: "POST", path: "/internal/cache/l3-restore", expose: false }, async (p: L3RestoreRequest): Promise<L3RestoreResponse> =>
  edge(async () => {
    validatePattern(p.pattern);
    const limit = p.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_L3_RESTORE_LIMIT)
      throw APIError.invalidArgument(`"limit" must be a whole number from 1 to ${MAX_L3_RESTORE_LIMIT}`);
    const page = await (await cacheRuntime()).cache.restoreFromL3({ pattern: p.pattern, cursor: p.cursor ?? null, limit });
    const counts = { restored: page.restored, skipped: page.skipped };
    return page.cursor === null ? counts : { ...counts, cursor: page.cursor };
  }),
);
