/**
 * The contract every eviction policy honours: bounds, TTLs, removal, introspection and events.
 * Policy-specific behaviour (what gets evicted first) lives in policies.test.ts.
 */
import { describe, expect, test } from "vitest";
import { L1Cache } from "./cache";
import { L1ArgumentError, type EvictionReason, type L1CacheOptions } from "./types";
import { POLICY_NAMES, type PolicyName } from "./policies";
import { allKeys, runRandomWorkload } from "./fixtures";

/** A clock the test moves by hand. */
function fakeClock(start = 1_000) {
  let time = start;
  return { now: () => time, advance: (ms: number) => void (time += ms) };
}

type Event = [key: string, reason: EvictionReason];

function buildCache(policy: PolicyName, overrides: Partial<L1CacheOptions<string>> = {}) {
  const clock = fakeClock();
  const events: Event[] = [];
  const cache = new L1Cache<string>({
    maxEntries: 100,
    maxBytes: 10_000,
    policy,
    now: clock.now,
    onEvict: (key, reason) => events.push([key, reason]),
    ...overrides,
  });
  return { cache, clock, events };
}

describe("L1Cache construction", () => {
  test.each([
    ["no options", undefined],
    ["no maxEntries", { maxBytes: 100 }],
    ["no maxBytes", { maxEntries: 100 }],
    ["zero maxEntries", { maxEntries: 0, maxBytes: 100 }],
    ["negative maxBytes", { maxEntries: 10, maxBytes: -1 }],
    ["fractional maxEntries", { maxEntries: 1.5, maxBytes: 100 }],
    ["infinite maxBytes", { maxEntries: 10, maxBytes: Infinity }],
    ["an unknown policy", { maxEntries: 10, maxBytes: 100, policy: "fifo" }],
  ])("refuses to build a cache with %s", (_label, options) => {
    expect(() => new L1Cache(options as unknown as L1CacheOptions<unknown>)).toThrow(L1ArgumentError);
  });

  test("defaults to W-TinyLFU", () => {
    expect(new L1Cache({ maxEntries: 10, maxBytes: 100 }).stats().policy).toBe("w-tinylfu");
  });
});

describe.each(POLICY_NAMES)("L1Cache with the %s policy", (policy) => {
  test("returns what was set and undefined for keys never set", () => {
    const { cache } = buildCache(policy);
    expect(cache.set("a", "alpha", { sizeBytes: 5 })).toBe(true);
    expect(cache.get("a")).toBe("alpha");
    expect(cache.get("b")).toBeUndefined();
  });

  test("never exceeds its entry or byte bound under random operations, and never returns a wrong value", () => {
    const { cache, clock } = buildCache(policy, { maxEntries: 50, maxBytes: 2_000, onEvict: undefined });
    runRandomWorkload(cache, { seed: 0xcafe, steps: 20_000, keys: 200, maxSizeBytes: 400, advance: clock.advance });
    expect(cache.stats()).toMatchObject({ maxEntries: 50, maxBytes: 2_000 });
  });

  test("treats an entry as a miss once its TTL has passed on the injected clock", () => {
    const { cache, clock, events } = buildCache(policy);
    cache.set("a", "alpha", { sizeBytes: 5, ttlMs: 1_000 });
    clock.advance(999);
    expect(cache.get("a")).toBe("alpha");
    clock.advance(1);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.has("a")).toBe(false);
    expect(events).toEqual([["a", "expired"]]);
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0, hits: 1, misses: 1, expirations: 1 });
  });

  test("replacing an entry without a TTL removes its expiry", () => {
    const { cache, clock } = buildCache(policy);
    cache.set("a", "alpha", { sizeBytes: 5, ttlMs: 10 });
    cache.set("a", "beta", { sizeBytes: 4 });
    clock.advance(1_000_000);
    expect(cache.get("a")).toBe("beta");
  });

  test("reclaims expired entries with a sweep bounded per call", () => {
    const { cache, clock, events } = buildCache(policy, { sweepPerWrite: 0 });
    for (let i = 0; i < 40; i++) cache.set(`t${i}`, "v", { sizeBytes: 1, ttlMs: 50 });
    cache.set("forever", "v", { sizeBytes: 1 });
    clock.advance(50);
    expect(cache.sweepExpired(10)).toBe(10);
    expect(cache.size).toBe(31);
    while (cache.sweepExpired(10) > 0);
    expect(cache.size).toBe(1);
    expect(events.filter(([, reason]) => reason === "expired")).toHaveLength(40);
    expect(cache.get("forever")).toBe("v");
  });

  test("writes sweep a few slots each, so expired entries go away without reads", () => {
    const { cache, clock } = buildCache(policy, { sweepPerWrite: 4 });
    for (let i = 0; i < 20; i++) cache.set(`t${i}`, "v", { sizeBytes: 1, ttlMs: 10 });
    clock.advance(10);
    for (let i = 0; i < 20; i++) cache.set(`n${i}`, "v", { sizeBytes: 1 });
    expect(cache.stats()).toMatchObject({ entries: 20, expirations: 20 });
  });

  test("reports the remaining TTL, size, tags and policy standing in info without counting an access", () => {
    const { cache, clock } = buildCache(policy);
    cache.set("a", "alpha", { sizeBytes: 5, ttlMs: 1_000, tags: ["user", "eu"] });
    cache.set("b", "beta", { sizeBytes: 4 });
    cache.get("a");
    cache.get("a");
    clock.advance(250);
    const info = cache.info("a")!;
    expect(info).toMatchObject({ sizeBytes: 5, ttlRemainingMs: 750, tags: ["user", "eu"] });
    expect(info.policy.policy).toBe(policy);
    expect(cache.info("b")).toMatchObject({ ttlRemainingMs: null, tags: [] });
    expect(cache.info("missing")).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 0 });
  });

  test("peek and has answer without counting hits or misses", () => {
    const { cache } = buildCache(policy);
    cache.set("a", "alpha", { sizeBytes: 5 });
    expect(cache.peek("a")).toBe("alpha");
    expect(cache.has("a")).toBe(true);
    expect(cache.peek("b")).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0 });
  });

  test("getIf and getEachIf count what they accept as get does, and leave what they refuse uncounted and in place", () => {
    const { cache, clock, events } = buildCache(policy);
    cache.set("a", "alpha", { sizeBytes: 5 });
    cache.set("b", "beta", { sizeBytes: 4, ttlMs: 10 });
    cache.set("c", "gamma", { sizeBytes: 5 });
    expect(cache.getIf("a", () => false)).toBeUndefined();
    expect(cache.getIf("never-set", () => true)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0 });
    expect(cache.getIf("a", (value) => value === "alpha")).toBe("alpha");
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 0 });
    clock.advance(10);
    expect(cache.getEachIf(["a", "b", "c", "never-set", "a"], (value) => value !== "gamma")).toEqual(["alpha", undefined, undefined, undefined, "alpha"]);
    expect(cache.stats()).toMatchObject({ hits: 3, misses: 0, expirations: 1 });
    expect(events).toContainEqual(["b", "expired"]);
    expect(cache.peek("c")).toBe("gamma");
  });

  test("an accepted getIf or getEachIf tells the policy what get tells it: the same entries survive", () => {
    const reads = (read: (cache: L1Cache<string>, keys: string[]) => void) => {
      const { cache } = buildCache(policy, { maxEntries: 20 });
      for (let i = 0; i < 20; i++) cache.set(`k${i}`, "v", { sizeBytes: 1 });
      for (let round = 0; round < 3; round++) read(cache, ["k3", "k7", "k11", "k19"]);
      for (let i = 0; i < 12; i++) cache.set(`new${i}`, "v", { sizeBytes: 1 });
      return allKeys(cache).sort();
    };
    const byGet = reads((cache, keys) => keys.forEach((key) => cache.get(key)));
    expect(reads(() => undefined)).not.toEqual(byGet); // the reads matter to what survives
    expect(reads((cache, keys) => keys.forEach((key) => cache.getIf(key, () => true)))).toEqual(byGet);
    expect(reads((cache, keys) => cache.getEachIf(keys, () => true))).toEqual(byGet);
  });

  test("delete removes the entry, frees its bytes and reports it as deleted", () => {
    const { cache, events } = buildCache(policy);
    cache.set("a", "alpha", { sizeBytes: 5 });
    cache.set("b", "beta", { sizeBytes: 4 });
    expect(cache.delete("a")).toBe(true);
    expect(cache.delete("a")).toBe(false);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 4 });
    expect(events).toEqual([["a", "deleted"]]);
  });

  test("clear empties the cache, reports every entry as deleted and keeps the counters", () => {
    const { cache, events } = buildCache(policy);
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, "v", { sizeBytes: 10 });
    cache.get("k1");
    cache.clear();
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0, hits: 1 });
    expect(events).toHaveLength(10);
    expect(events.every(([, reason]) => reason === "deleted")).toBe(true);
    expect(allKeys(cache)).toEqual([]);
    cache.set("again", "v", { sizeBytes: 1 });
    expect(cache.get("again")).toBe("v");
  });

  test("counts hits, misses, evictions and expirations in stats", () => {
    const { cache, clock } = buildCache(policy, { maxEntries: 10 });
    for (let i = 0; i < 15; i++) cache.set(`k${i}`, "v", { sizeBytes: 1 });
    cache.set("ttl", "v", { sizeBytes: 1, ttlMs: 5 });
    const resident = allKeys(cache).filter((key) => key !== "ttl");
    for (const key of resident) cache.get(key);
    cache.get("never-set");
    clock.advance(5);
    cache.get("ttl");
    const stats = cache.stats();
    expect(stats).toMatchObject({ entries: 9, maxEntries: 10, maxBytes: 10_000, hits: resident.length, misses: 2, expirations: 1, policy });
    expect(stats.evictions).toBe(16 - 10);
  });

  test("evicts as many entries as a large entry needs to fit the byte bound", () => {
    const { cache, events } = buildCache(policy, { maxBytes: 1_000 });
    for (let i = 0; i < 10; i++) cache.set(`small${i}`, "v", { sizeBytes: 100 });
    // Repeated writes make "big" more popular than the small entries, which W-TinyLFU's admission asks for.
    for (let round = 0; round < 5; round++) cache.set("big", "v", { sizeBytes: 750 });
    expect(cache.get("big")).toBe("v");
    expect(cache.stats().bytes).toBeLessThanOrEqual(1_000);
    expect(cache.stats().entries).toBe(3);
    expect(events.filter(([, reason]) => reason === "capacity").length).toBeGreaterThanOrEqual(8);
  });

  test("rejects an entry larger than maxBytes without evicting anything", () => {
    const { cache, events } = buildCache(policy, { maxBytes: 1_000 });
    for (let i = 0; i < 5; i++) cache.set(`k${i}`, "v", { sizeBytes: 100 });
    expect(cache.set("huge", "v", { sizeBytes: 1_001 })).toBe(false);
    expect(cache.has("huge")).toBe(false);
    expect(cache.stats()).toMatchObject({ entries: 5, bytes: 500, rejections: 1, evictions: 0 });
    expect(events).toEqual([]);
  });

  test("rejecting an oversize replacement removes the stale value it would have replaced", () => {
    const { cache, events } = buildCache(policy, { maxBytes: 1_000 });
    cache.set("a", "old", { sizeBytes: 3 });
    expect(cache.set("a", "new", { sizeBytes: 5_000 })).toBe(false);
    expect(cache.get("a")).toBeUndefined();
    expect(events).toEqual([["a", "replaced"]]);
  });

  test("tells onEvict listeners why each entry left", () => {
    const { cache, clock, events } = buildCache(policy, { maxEntries: 3 });
    cache.set("a", "1", { sizeBytes: 1 });
    cache.set("a", "2", { sizeBytes: 1 });
    cache.set("b", "1", { sizeBytes: 1, ttlMs: 10 });
    clock.advance(10);
    cache.get("b");
    cache.set("c", "1", { sizeBytes: 1 });
    cache.delete("c");
    for (let i = 0; i < 5; i++) cache.set(`fill${i}`, "1", { sizeBytes: 1 });
    expect(events.slice(0, 3)).toEqual([
      ["a", "replaced"],
      ["b", "expired"],
      ["c", "deleted"],
    ]);
    expect(events.slice(3).map(([, reason]) => reason)).toEqual(["capacity", "capacity", "capacity"]);
  });

  test("passes the departing value and size to listeners, and unsubscribing stops them", () => {
    const { cache } = buildCache(policy);
    const heard: unknown[] = [];
    const unsubscribe = cache.onEvict((key, reason, value, sizeBytes) => heard.push({ key, reason, value, sizeBytes }));
    cache.set("a", "alpha", { sizeBytes: 5 });
    cache.set("a", "beta", { sizeBytes: 4 });
    unsubscribe();
    cache.delete("a");
    expect(heard).toEqual([{ key: "a", reason: "replaced", value: "alpha", sizeBytes: 5 }]);
  });

  test("a throwing listener leaves the cache consistent and its error reaches the caller", () => {
    const { cache } = buildCache(policy, {
      maxEntries: 2,
      onEvict: () => {
        throw new Error("listener broke");
      },
    });
    cache.set("a", "1", { sizeBytes: 1 });
    cache.set("b", "1", { sizeBytes: 1 });
    expect(() => cache.set("c", "1", { sizeBytes: 1 })).toThrow("listener broke");
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: 2, evictions: 1 });
    expect(allKeys(cache)).toHaveLength(2);
    expect(() => cache.set("d", "1", { sizeBytes: 1 })).toThrow("listener broke");
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: 2, evictions: 2 });
  });

  test("scan pages through every live key exactly once, examining at most count slots per call", () => {
    const { cache } = buildCache(policy, { maxEntries: 1_000 });
    for (let i = 0; i < 300; i++) cache.set(`k${i}`, "v", { sizeBytes: 1 });
    for (let i = 0; i < 300; i += 3) cache.delete(`k${i}`);
    const first = cache.scan(0, 50);
    expect(first.keys.length).toBeLessThanOrEqual(50);
    expect(first.cursor).toBe(50);
    const keys = allKeys(cache);
    expect(keys).toHaveLength(200);
    expect(new Set(keys).size).toBe(200);
  });

  test("scan filters keys with match and skips expired entries", () => {
    const { cache, clock } = buildCache(policy);
    cache.set("user:1", "v", { sizeBytes: 1 });
    cache.set("user:2", "v", { sizeBytes: 1, ttlMs: 10 });
    cache.set("order:1", "v", { sizeBytes: 1 });
    clock.advance(10);
    expect(cache.scan(0, 100, (key) => key.startsWith("user:"))).toEqual({ cursor: 0, keys: ["user:1"] });
    expect(cache.stats().expirations).toBe(1);
  });

  test("holds its full entry bound after growing past its initial slot arrays", () => {
    const { cache } = buildCache(policy, { maxEntries: 5_000, maxBytes: 1_000_000 });
    for (let i = 0; i < 5_000; i++) expect(cache.set(`k${i}`, `v${i}`, { sizeBytes: 10 })).toBe(true);
    expect(cache.stats()).toMatchObject({ entries: 5_000, bytes: 50_000, evictions: 0 });
    expect(cache.get("k0")).toBe("v0");
    expect(cache.get("k4999")).toBe("v4999");
  });

  test.each([
    ["a negative sizeBytes", { sizeBytes: -1 }],
    ["a fractional sizeBytes", { sizeBytes: 1.5 }],
    ["a NaN sizeBytes", { sizeBytes: NaN }],
    ["a zero ttlMs", { sizeBytes: 1, ttlMs: 0 }],
    ["a negative ttlMs", { sizeBytes: 1, ttlMs: -5 }],
    ["an infinite ttlMs", { sizeBytes: 1, ttlMs: Infinity }],
  ])("refuses a set with %s", (_label, options) => {
    const { cache } = buildCache(policy);
    expect(() => cache.set("a", "v", options)).toThrow(L1ArgumentError);
    expect(cache.size).toBe(0);
  });
});
