/**
 * Test fixtures shared by the L1 tests: a scan of every live key, and a random workload that
 * checks the cache's invariants after every step (bounds respected, no wrong value returned).
 */
import { expect } from "vitest";
import { seededRandom } from "../../../lib/random.ts";
import type { L1Cache } from "./cache";

/** Every live key, by scanning with small pages. */
export function allKeys<V>(cache: L1Cache<V>): string[] {
  const keys: string[] = [];
  let cursor = 0;
  do {
    const page = cache.scan(cursor, 7);
    keys.push(...page.keys);
    cursor = page.cursor;
  } while (cursor !== 0);
  return keys;
}

export interface RandomWorkload {
  seed: number;
  steps: number;
  /** Distinct keys drawn from. */
  keys: number;
  /** Entries are 0 to this many bytes. */
  maxSizeBytes: number;
  advance: (ms: number) => void;
  /** Called before each step; may change the cache (reconfigure it). */
  beforeStep?: (step: number, random: () => number) => void;
}

/**
 * Sets (30% with a TTL), gets checked against the last value written, deletes and clock moves,
 * asserting after each step that the cache holds no more than its current bounds; at the end the
 * byte count must equal the sum of the live entries' sizes, each key listed once.
 */
export function runRandomWorkload(cache: L1Cache<string>, workload: RandomWorkload): void {
  const random = seededRandom(workload.seed);
  const lastWritten = new Map<string, string>();
  for (let step = 0; step < workload.steps; step++) {
    workload.beforeStep?.(step, random);
    const key = `k${Math.floor(random() * workload.keys)}`;
    const roll = random();
    if (roll < 0.45) {
      const value = `${key}@${step}`;
      const ttlMs = random() < 0.3 ? 1 + Math.floor(random() * 500) : undefined;
      cache.set(key, value, { sizeBytes: Math.floor(random() * workload.maxSizeBytes), ttlMs });
      lastWritten.set(key, value);
    } else if (roll < 0.9) {
      const value = cache.get(key);
      if (value !== undefined) expect(value).toBe(lastWritten.get(key));
    } else if (roll < 0.97) cache.delete(key);
    else workload.advance(Math.floor(random() * 100));
    const stats = cache.stats();
    expect(stats.entries).toBeLessThanOrEqual(stats.maxEntries);
    expect(stats.bytes).toBeLessThanOrEqual(stats.maxBytes);
  }
  const keys = allKeys(cache);
  expect(cache.stats().bytes).toBe(keys.reduce((sum, key) => sum + cache.info(key)!.sizeBytes, 0));
  expect(new Set(keys).size).toBe(keys.length);
}
