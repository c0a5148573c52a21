/**
 * Batches: read, write and delete up to MAX_BATCH keys in one call. Each key goes through the
 * same tiered cache paths as the single-key endpoints (core/tiered.ts), with bounded concurrency.
 */
import { api, APIError } from "encore.dev/api";
import { validateEntryTags, validateKeys, validateTtlSeconds } from "../lib/validation";
import { requireKeyAccess, requireRole } from "../lib/auth/access";
import type { Source } from "./core/tiered";
import { batchGetResponse } from "./batch-json";
import { edge } from "./errors";
import { builtCacheRuntime, cacheRuntime } from "./runtime";

export const MAX_BATCH = 1_000;

interface KeysRequest {
  keys: string[];
}

export interface BatchGetEntry {
  key: string;
  found: boolean;
  value?: unknown;
  source?: Source;
  ttlMs?: number;
  tags?: string[];
}

export interface BatchGetResponse {
  entries: BatchGetEntry[];
}

export interface BatchSetEntry {
  key: string;
  value: unknown;
  ttlSeconds?: number;
  tags?: string[];
}

interface BatchSetRequest {
  entries: BatchSetEntry[];
}

export interface BatchSetResponse {
  stored: number;
}

export interface BatchDeleteResponse {
  deleted: number;
}

/** Throws invalid_argument unless `list` is an array of 1..MAX_BATCH items. */
export function requireBatch(name: string, list: unknown[] | undefined): void {
  if (!Array.isArray(list) || list.length === 0) throw APIError.invalidArgument(`"${name}" must be a non-empty array`);
  if (list.length > MAX_BATCH) throw APIError.invalidArgument(`"${name}" holds ${list.length} items; at most ${MAX_BATCH} are allowed per call`);
}

/** Validates one write's value, TTL and tags. */
export function validateWrite(entry: BatchSetEntry, where: string): void {
  if (entry.value === undefined) throw APIError.invalidArgument(`${where}: "value" is required`);
  validateTtlSeconds(entry.ttlSeconds, where);
  validateEntryTags(entry.tags, where);
}

/** Validates a batch write: 1..MAX_BATCH entries, each with a valid key, value, TTL and tags. */
export function requireBatchWrite(entries: BatchSetEntry[] | undefined): void {
  requireBatch("entries", entries);
  validateKeys(entries!.map((entry) => entry.key));
  entries!.forEach((entry, i) => validateWrite(entry, `entries[${i}]`));
}

/**
 * Writes validated entries (cache-only) through the tiered cache; returns how many were stored (an
 * entry with a fill `fence` is not when its key changed since the fence was taken).
 */
export async function storeBatch(entries: readonly (BatchSetEntry & { fence?: string })[]): Promise<number> {
  const stored = await (
    await cacheRuntime()
  ).cache.setMany(entries.map((e) => ({ key: e.key, value: e.value, ttlMs: e.ttlSeconds && e.ttlSeconds * 1000, tags: e.tags, fence: e.fence })));
  return stored.filter(Boolean).length;
}

/**
 * Reads up to 1,000 keys through L1 → L2 → origin; a key nothing has is `found: false`. Viewer.
 * When every key is a fresh L1 hit (the common case once warm), nothing is awaited but the
 * resolved read, and the answer's JSON is spliced from encodings kept per value (batch-json.ts).
 */
export const batchGet = api({ method: "POST", path: "/api/batch/get", expose: true, auth: true }, ({ keys }: KeysRequest): Promise<BatchGetResponse> =>
  edge(() => {
    requireBatch("keys", keys);
    validateKeys(keys);
    requireKeyAccess(requireRole("viewer"), keys);
    const built = builtCacheRuntime();
    const reads = built ? built.cache.getMany(keys) : cacheRuntime().then((rt) => rt.cache.getMany(keys));
    return reads.then(batchGetResponse);
  }),
);

/** Writes up to 1,000 entries (cache-only). Operator. */
export const batchSet = api(
  { method: "POST", path: "/api/batch/set", expose: true, auth: true, bodyLimit: 8 * 1024 * 1024 },
  ({ entries }: BatchSetRequest): Promise<BatchSetResponse> =>
    edge(async () => {
      requireBatchWrite(entries);
      requireKeyAccess(
        requireRole("operator"),
        entries.map((entry) => entry.key),
      );
      return { stored: await storeBatch(entries) };
    }),
);

/** Deletes up to 1,000 keys from every tier of every instance. Operator. */
export const batchDelete = api({ method: "POST", path: "/api/batch/delete", expose: true, auth: true }, ({ keys }: KeysRequest): Promise<BatchDeleteResponse> =>
  edge(async () => {
    requireBatch("keys", keys);
    validateKeys(keys);
    requireKeyAccess(requireRole("operator"), keys);
    return { deleted: await (await cacheRuntime()).cache.delete(keys) };
  }),
);
