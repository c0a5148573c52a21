/**
 * Loads keys straight from their origins for a caller that stores them later through
 * `TieredCache.setMany` (warming): each entry carries the fill fence taken before its origin was
 * read, so a delete, write or invalidation that lands between the load and the store wins.
 */
import type { OriginRegistry } from "../origins/registry";
import type { TieredCache } from "../tiered";

/** A fence that never holds: a reader is loading the key now, and its fill will do. */
export const REFUSED_FENCE = "#";

export interface FencedOriginEntry {
  key: string;
  /** False when the origin has no such id, or no origin serves the key. */
  found: boolean;
  value?: unknown;
  /** Pass back with the entry to `setMany` (set when `found`). */
  fence?: string;
}

export async function loadFromOriginsFenced(cache: TieredCache, origins: OriginRegistry, keys: readonly string[]): Promise<FencedOriginEntry[]> {
  const fences = await cache.beginFills(keys);
  const results = await origins.loadFromOrigins(keys);
  return keys.map((key, i) => {
    const result = results.get(key);
    return result?.found ? { key, found: true, value: result.value, fence: fences[i] ?? REFUSED_FENCE } : { key, found: false };
  });
}
