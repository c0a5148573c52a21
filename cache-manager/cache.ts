/**
 * The cache's data plane: read-through gets, writes in three modes, deletes. Thin: validation
 * and auth here, the work in core/tiered.ts.
 */
import { api, APIError } from "encore.dev/api";
import { validateEntryTags, validateKey, validateTtlSeconds } from "../lib/validation";
import { requireKeyAccess, requireRole } from "../lib/auth/access";
import type { CacheRead, Source, WriteMode } from "./core/tiered";
import { cacheEntryResponse } from "./entry-json";
import { edge, toAPIError } from "./errors";
import { builtCacheRuntime, cacheRuntime } from "./runtime";

export interface CacheEntry {
  key: string;
  value: unknown;
  source: Source;
  stale: boolean;
  fetchTimeMs: number;
  ttlMs: number;
  tags: string[];
}

interface KeyParams {
  key: string;
}

interface SetParams {
  key: string;
  value: unknown;
  ttlSeconds?: number;
  tags?: string[];
  writeMode?: WriteMode;
}

export interface SetResult {
  key: string;
  stored: boolean;
  writeMode: WriteMode;
}

/**
 * Reads a key through L1 → L2 → origin. 404 when nothing has it. Viewer.
 * A fresh L1 hit (the common case) is answered without a promise of the cache's own: the
 * endpoint's whole cost there is the checks, the L1 lookup and one resolved promise.
 */
export const get = api({ method: "GET", path: "/api/cache/:key", expose: true, auth: true }, ({ key }: KeyParams): Promise<CacheEntry> => {
  let started: number;
  let hit: CacheRead | undefined;
  try {
    validateKey(key);
    requireKeyAccess(requireRole("viewer"), [key]);
    started = performance.now();
    hit = builtCacheRuntime()?.cache.getFresh(key);
  } catch (error) {
    return Promise.reject(toAPIError(error));
  }
  if (hit) return Promise.resolve(timed(hit, started));
  return edge(async () => timed(await (await cacheRuntime()).cache.get(key), started));
});

function timed(read: CacheRead, started: number): CacheEntry {
  return cacheEntryResponse(read, Math.round((performance.now() - started) * 1000) / 1000);
}

/**
 * The value's JSON, which the write then stores (so the value is encoded once). Refuses a value
 * JSON cannot encode (nested deeper than the stack allows) before it reaches the cache, where the
 * failure would count against the L2 breaker and become a 500.
 */
function encodeValue(value: unknown): string | undefined {
  try {
    return JSON.stringify(value) as string | undefined;
  } catch (error) {
    throw APIError.invalidArgument(`"value" cannot be stored: ${(error as Error).message}`);
  }
}

/**
 * Writes a key (cache-only, write-through or write-behind). Operator. Not an async function: the
 * write's own promise is the answer's, one promise where `async` and its awaits made three more.
 */
export const set = api({ method: "PUT", path: "/api/cache/:key", expose: true, auth: true, bodyLimit: 1024 * 1024 }, (p: SetParams): Promise<SetResult> =>
  edge(() => {
    validateKey(p.key);
    requireKeyAccess(requireRole("operator"), [p.key]);
    if (p.value === undefined) throw APIError.invalidArgument('"value" is required');
    const valueJson = encodeValue(p.value);
    validateTtlSeconds(p.ttlSeconds);
    validateEntryTags(p.tags);
    const writeMode = p.writeMode ?? "cache-only";
    const options = { ttlMs: p.ttlSeconds && p.ttlSeconds * 1000, tags: p.tags, mode: writeMode, valueJson };
    const built = builtCacheRuntime();
    const written = built ? built.cache.set(p.key, p.value, options) : cacheRuntime().then((rt) => rt.cache.set(p.key, p.value, options));
    return written.then(() => ({ key: p.key, stored: true, writeMode }));
  }),
);

/** Deletes a key from every tier of every instance. Operator. */
export const remove = api(
  { method: "DELETE", path: "/api/cache/:key", expose: true, auth: true },
  ({ key }: KeyParams): Promise<{ key: string; deleted: boolean }> =>
    edge(async () => {
      validateKey(key);
      requireKeyAccess(requireRole("operator"), [key]);
      return { key, deleted: (await (await cacheRuntime()).cache.delete([key])) > 0 };
    }),
);
