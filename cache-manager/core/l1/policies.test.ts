/**
 * What each policy evicts first. The shared contract (bounds, TTL, events) is in cache.test.ts.
 */
import { describe, expect, test } from "vitest";
import { L1Cache } from "./cache";
import type { PolicyName } from "./policies";

function unitCache(policy: PolicyName, maxEntries: number): L1Cache<number> {
  return new L1Cache<number>({ maxEntries, maxBytes: maxEntries * 1_000, policy });
}

/** Read-through as the tier above does it: a miss is followed by a set. */
function access(cache: L1Cache<number>, key: string): boolean {
  if (cache.get(key) !== undefined) return true;
  cache.set(key, 1, { sizeBytes: 1 });
  return false;
}

function residentCount(cache: L1Cache<number>, keys: string[]): number {
  return keys.filter((key) => cache.has(key)).length;
}

const hotKeys = Array.from({ length: 50 }, (_, i) => `hot${i}`);
const scanKeys = Array.from({ length: 1_000 }, (_, i) => `scan${i}`);

/** A hot set used several times, then a one-off scan 10× the cache's size. */
function hotSetThenScan(policy: PolicyName): number {
  const cache = unitCache(policy, 100);
  for (let round = 0; round < 5; round++) for (const key of hotKeys) access(cache, key);
  for (const key of scanKeys) access(cache, key);
  return residentCount(cache, hotKeys);
}

describe("LRU", () => {
  test("evicts the least recently used entry", () => {
    const cache = unitCache("lru", 3);
    for (const key of ["a", "b", "c"]) access(cache, key);
    cache.get("a");
    access(cache, "d");
    expect(["a", "b", "c", "d"].filter((key) => cache.has(key))).toEqual(["a", "c", "d"]);
  });

  test("peek does not refresh recency", () => {
    const cache = unitCache("lru", 2);
    access(cache, "a");
    access(cache, "b");
    cache.peek("a");
    access(cache, "c");
    expect(cache.has("a")).toBe(false);
  });

  test("loses a hot set to a scan larger than the cache", () => {
    expect(hotSetThenScan("lru")).toBe(0);
  });
});

describe("LFU", () => {
  test("keeps frequently used keys while one-off keys stream through", () => {
    const cache = unitCache("lfu", 10);
    for (let round = 0; round < 3; round++) for (const key of ["a", "b", "c"]) access(cache, key);
    for (let i = 0; i < 100; i++) access(cache, `once${i}`);
    expect(residentCount(cache, ["a", "b", "c"])).toBe(3);
  });

  test("evicts the least recent among equally frequent keys", () => {
    const cache = unitCache("lfu", 3);
    for (const key of ["a", "b", "c"]) access(cache, key);
    access(cache, "d");
    expect(["a", "b", "c", "d"].filter((key) => cache.has(key))).toEqual(["b", "c", "d"]);
  });

  test("admits a new key into a cache full of frequent keys", () => {
    const cache = unitCache("lfu", 3);
    for (let round = 0; round < 3; round++) for (const key of ["a", "b", "c"]) access(cache, key);
    expect(cache.set("new", 1, { sizeBytes: 1 })).toBe(true);
    expect(cache.has("new")).toBe(true);
  });

  test("reports each key's access count and halves all counts periodically", () => {
    const cache = unitCache("lfu", 10); // 11 slots: counts halve every 110 hits
    access(cache, "old");
    for (let i = 0; i < 100; i++) cache.get("old");
    expect(cache.info("old")!.policy).toEqual({ policy: "lfu", frequency: 101 });
    access(cache, "new");
    for (let i = 0; i < 20; i++) cache.get("new");
    expect(cache.info("old")!.policy).toEqual({ policy: "lfu", frequency: 50 });
    expect(cache.info("new")!.policy).toEqual({ policy: "lfu", frequency: 15 }); // 11, halved to 5 at the 110th hit, then 10 more
  });

  test("keeps a hot set through a one-off scan", () => {
    expect(hotSetThenScan("lfu")).toBe(hotKeys.length);
  });
});

describe("W-TinyLFU", () => {
  test("keeps the hot set through a scan that flushes LRU", () => {
    expect(hotSetThenScan("w-tinylfu")).toBeGreaterThanOrEqual(hotKeys.length - 1);
  });

  test("places new entries in the window, then probation, and promotes on a second access", () => {
    const cache = unitCache("w-tinylfu", 200); // window: 2 entries
    for (const key of ["a", "b", "c"]) access(cache, key);
    expect(cache.info("c")!.policy).toMatchObject({ segment: "window" });
    expect(cache.info("a")!.policy).toMatchObject({ segment: "probation" });
    cache.get("a");
    expect(cache.info("a")!.policy).toMatchObject({ segment: "protected", frequency: 2 });
  });

  test("admits a newcomer once it is used more often than the entry it would displace", () => {
    const cache = unitCache("w-tinylfu", 100);
    for (let i = 0; i < 100; i++) access(cache, `k${i}`);
    const rejected = cache.stats().rejections;
    access(cache, "newcomer");
    access(cache, "filler"); // pushes the newcomer out of the window: it ties with the victim and loses
    expect(cache.has("newcomer")).toBe(false);
    expect(cache.stats().rejections).toBe(rejected);
    access(cache, "newcomer");
    access(cache, "filler2"); // now it was seen twice, the victim once
    expect(cache.has("newcomer")).toBe(true);
  });

  test("is reproducible for a given seed", () => {
    const run = () => {
      const cache = new L1Cache<number>({ maxEntries: 50, maxBytes: 50_000, policy: "w-tinylfu", seed: 42 });
      let hits = 0;
      for (let i = 0; i < 5_000; i++) if (access(cache, `k${(i * 7919) % 173}`)) hits++;
      return hits;
    };
    expect(run()).toBe(run());
  });
});
