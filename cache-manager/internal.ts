/**
 * Service-to-service endpoints (not exposed through the gateway) for the other services' typed
 * clients: invalidation counts a pattern's keys before it asks for confirmation, and warming
 * stores what it loaded.
 */
import { api, APIError } from "encore.dev/api";
import { requireBatchWrite, storeBatch } from "./batch";
import type { L2CountResult } from "./core/l2/types";
import { edge } from "./errors";
import { cacheRuntime } from "./runtime";

const MAX_PATTERN_BYTES = 1024;
const MAX_COUNT_LIMIT = 1_000_000;

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

function requirePattern(pattern: string | undefined): string {
  if (typeof pattern !== "string" || pattern.length === 0) throw APIError.invalidArgument('"pattern" must be a non-empty glob');
  if (Buffer.byteLength(pattern) > MAX_PATTERN_BYTES) throw APIError.invalidArgument(`"pattern" must be at most ${MAX_PATTERN_BYTES} bytes`);
  return pattern;
}

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
export const store = api(
  { method: "POST", path: "/internal/cache/store", expose: false, bodyLimit: 8 * 1024 * 1024 },
  async ({ entries }: StoreRequest): Promise<StoreResponse> =>
    edge(async () => {
      requireBatchWrite(entries);
      entries.forEach((entry, i) => {
        if (entry.fence !== undefined && (typeof entry.fence !== "string" || entry.fence.length > MAX_FENCE_LENGTH)) {
          throw APIError.invalidArgument(`entries[${i}]: "fence" must be the string origin-load returned (at most ${MAX_FENCE_LENGTH} characters)`);
        }
      });
      return { stored: await storeBatch(entries) };
    }),
);
