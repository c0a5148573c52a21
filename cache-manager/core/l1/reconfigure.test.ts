/**
 * `L1Cache.reconfigure`: the policy and bounds change at run time while the entries held stay
 * readable; only what no longer fits is evicted, in the outgoing policy's order.
 */
import { describe, expect, test } from "vitest";
import { L1Cache } from "./cache";
import { L1ArgumentError, type EvictionReason } from "./types";
import { POLICY_NAMES, type PolicyName } from "./policies";
import { runRandomWorkload } from "./fixtures";

function fakeClock(start = 1_000) {
  let time = start;
  return { now: () => time, advance: (ms: number) => void (time += ms) };
}

function buildCache(policy: PolicyName, maxEntries = 100, maxBytes = 10_000) {
  const clock = fakeClock();
  const events: [string, EvictionReason][] = [];
  const cache = new L1Cache<string>({ maxEntries, maxBytes, policy, now: clock.now, onEvict: (key, reason) => events.push([key, reason]) });
  return { cache, clock, events };
}

const keys = (count: number, prefix = "k") => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

const switches = POLICY_NAMES.flatMap((from) => POLICY_NAMES.map((to) => [from, to] as const));

describe.each(switches)("switching from %s to %s", (from, to) => {
  test("keeps every entry with its value, size, TTL and tags", () => {
    const { cache, clock, events } = buildCache(from);
    for (const [i, key] of keys(60).entries()) cache.set(key, `v${i}`, { sizeBytes: 10 + i, ttlMs: i % 2 === 0 ? 5_000 : undefined, tags: [`t${i % 3}`] });
    clock.advance(1_000);
    const before = keys(60).map((key) => ({ key, value: cache.peek(key), info: cache.info(key) }));

    expect(cache.reconfigure({ policy: to })).toBe(0);

    expect(events).toEqual([]);
    expect(cache.stats()).toMatchObject({ policy: to, entries: 60, bytes: before.reduce((sum, e) => sum + e.info!.sizeBytes, 0) });
    for (const { key, value, info } of before) {
      expect(cache.get(key)).toBe(value);
      const after = cache.info(key)!;
      expect([after.sizeBytes, after.ttlRemainingMs, after.tags]).toEqual([info!.sizeBytes, info!.ttlRemainingMs, info!.tags]);
      expect(after.policy.policy).toBe(to);
    }
  });

  test("never exceeds its bounds nor returns a wrong value when it switches and resizes under random operations", () => {
    const { cache, clock } = buildCache(from, 50, 2_000);
    const policies = [from, to];
    let switches = 0;
    runRandomWorkload(cache, {
      seed: 0xbead,
      steps: 20_000,
      keys: 200,
      maxSizeBytes: 300,
      advance: clock.advance,
      beforeStep: (step, random) => {
        if (step % 1_000 !== 999) return;
        const policy = policies[switches++ % 2];
        cache.reconfigure({ policy, maxEntries: 10 + Math.floor(random() * 60), maxBytes: 500 + Math.floor(random() * 2_000) });
      },
    });
    expect(switches).toBe(20);
  });
});

describe("reconfigure bounds", () => {
  test("a smaller entry bound evicts the least recently used first under LRU, and reports them as capacity evictions", () => {
    const { cache, events } = buildCache("lru", 10);
    for (const key of ["a", "b", "c", "d"]) cache.set(key, key, { sizeBytes: 1 });
    cache.get("a");
    expect(cache.reconfigure({ maxEntries: 2 })).toBe(2);
    expect(["a", "b", "c", "d"].filter((key) => cache.has(key))).toEqual(["a", "d"]);
    expect(events).toEqual([
      ["b", "capacity"],
      ["c", "capacity"],
    ]);
    expect(cache.stats()).toMatchObject({ entries: 2, maxEntries: 2, evictions: 2 });
  });

  test("a smaller byte bound evicts until the bytes fit", () => {
    const { cache } = buildCache("lfu", 10, 1_000);
    for (const key of ["a", "b", "c", "d"]) cache.set(key, key, { sizeBytes: 100 });
    for (const key of ["c", "d"]) cache.get(key);
    cache.reconfigure({ maxBytes: 250 });
    expect(["a", "b", "c", "d"].filter((key) => cache.has(key))).toEqual(["c", "d"]);
    expect(cache.stats()).toMatchObject({ bytes: 200, maxBytes: 250 });
  });

  test("a larger entry bound lets the cache grow past its old bound without evicting", () => {
    const { cache, events } = buildCache("w-tinylfu", 3);
    cache.reconfigure({ maxEntries: 3_000 });
    for (const key of keys(3_000)) cache.set(key, "v", { sizeBytes: 1 });
    expect(cache.size).toBe(3_000);
    expect(events).toEqual([]);
  });

  test("the new policy's first victims are the old policy's: LRU order carries over to LFU", () => {
    const { cache } = buildCache("lru", 4);
    for (const key of ["a", "b", "c", "d"]) cache.set(key, key, { sizeBytes: 1 });
    for (const key of ["b", "a"]) cache.get(key); // recency, oldest first: c, d, b, a
    cache.reconfigure({ policy: "lfu" });
    cache.set("e", "e", { sizeBytes: 1 });
    cache.set("f", "f", { sizeBytes: 1 });
    expect(["a", "b", "c", "d"].filter((key) => cache.has(key))).toEqual(["a", "b"]);
  });

  test("W-TinyLFU keeps its window small after growing: most held entries move to the main area", () => {
    const { cache } = buildCache("lru", 20);
    for (const key of keys(20)) cache.set(key, "v", { sizeBytes: 1 });
    cache.reconfigure({ policy: "w-tinylfu", maxEntries: 200 }); // window: 2 entries
    const segments = keys(20).map((key) => (cache.info(key)!.policy as { segment: string }).segment);
    expect(segments.filter((segment) => segment === "window")).toHaveLength(2);
    expect(segments.slice(18)).toEqual(["window", "window"]); // the most recent stay newest
  });

  test.each([
    ["an unknown policy", { policy: "fifo" }],
    ["zero maxEntries", { maxEntries: 0 }],
    ["fractional maxBytes", { maxBytes: 10.5 }],
    ["infinite maxBytes", { maxBytes: Infinity }],
  ])("refuses %s and changes nothing", (_label, bounds) => {
    const { cache } = buildCache("lru", 10, 1_000);
    cache.set("a", "a", { sizeBytes: 1 });
    expect(() => cache.reconfigure(bounds as never)).toThrow(L1ArgumentError);
    expect(cache.stats()).toMatchObject({ policy: "lru", maxEntries: 10, maxBytes: 1_000, entries: 1 });
  });
});
