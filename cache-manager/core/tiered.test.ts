/**
 * The tiered cache against real Redis and a real HTTP origin: several cache "instances" in one
 * process, each with its own L1, L2 connection, lease and coherence bus, as separate processes
 * would have.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { connectRedis } from "../../lib/redis";
import { eventually } from "../../infra/node-host/testing/api";
import type { Envelope } from "./envelope";
import { L1Cache } from "./l1/cache";
import { FaultInjector, type L2IoMethod } from "./l2/chaos";
import { createSingleL2 } from "./l2/single";
import { OriginRegistry } from "./origins/registry";
import { startTestOrigin, type TestOrigin } from "./origins/test-origin";
import { markerOf } from "./l2/fence";
import { FakeClock } from "../../lib/clock";
import { RedisLease } from "./resilience/lease";
import { WriteBehindQueue } from "./writebehind/queue";
import { CacheMissError, CacheUnavailableError, type CacheTracer, type TieredCache, type TieredCacheOptions } from "./tiered";
import { createTieredCache } from "./tiered/factory";

const url = process.env.REDIS_URL!;
let origin: TestOrigin;
let originUrl = "";
let originCalls: Map<string, number>;
let originValues: Map<string, unknown>;
const holdNextLoad = () => origin.holdNextLoad();

beforeAll(async () => {
  origin = await startTestOrigin();
  ({ url: originUrl, calls: originCalls, values: originValues } = origin);
});
afterAll(() => origin.close());

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((fn) => fn()));
  origin.reset();
});

/**
 * Resolves when `target` has applied an announcement of `key` (or a pattern or flush, which
 * covers every key): the exact point a test waits for, instead of a sleep.
 */
type Heard = (key: string) => Promise<void>;

function announcementGate() {
  const waiting = new Map<string, Array<() => void>>();
  const release = (key: string) => {
    for (const resolve of waiting.get(key) ?? []) resolve();
    waiting.delete(key);
  };
  const releaseAll = () => [...waiting.keys()].forEach(release);
  const heard: Heard = (key) => new Promise((resolve) => (waiting.get(key) ?? waiting.set(key, []).get(key)!).push(resolve));
  return { heard, listeners: { onInvalidate: (keys: string[]) => keys.forEach(release), onInvalidatePattern: releaseAll, onFlush: releaseAll } };
}

/** Builds N instances sharing one Redis namespace (fresh per test). */
async function instances(
  count: number,
  options: { faults?: boolean; graceMs?: number; defaultTtlMs?: number; clock?: FakeClock; tuning?: Partial<TieredCacheOptions>; writeBehind?: boolean } = {},
) {
  const ns = `t${randomUUID().slice(0, 8)}`;
  const made = [];
  for (let i = 0; i < count; i++) {
    const redis = connectRedis(url);
    const baseL2 = await createSingleL2({ client: redis, prefix: `${ns}:v:` });
    const faults = new FaultInjector(baseL2);
    const registry = await OriginRegistry.open({
      redis,
      deps: {},
      keyPrefix: `${ns}:origins`,
      configs: [{ namespace: "item:", kind: "http", url: originUrl, writeUrl: originUrl }],
    });
    const gate = announcementGate();
    const clock = options.clock;
    // Not started: a test starts it when the queued writes may reach the origin.
    const queue = options.writeBehind
      ? new WriteBehindQueue({
          redis,
          blockingRedis: () => connectRedis(url),
          streamKey: `${ns}:write-behind`,
          consumer: `c${i}`,
          write: (key, value) => registry.write(key, value),
          blockMs: 50,
        })
      : undefined;
    const { cache, bus } = createTieredCache({
      l1: new L1Cache<Envelope>({ maxEntries: 10_000, maxBytes: 16 * 1024 * 1024, ...(clock ? { now: () => clock.now() } : {}) }),
      l2: options.faults ? faults : baseL2,
      origins: registry,
      bus: { url, streamKey: `${ns}:coherence`, ignoreOwn: true },
      listeners: gate.listeners,
      lease: new RedisLease({ redis, prefix: `${ns}:lease:` }),
      clock,
      graceMs: options.graceMs ?? 0,
      defaultTtlMs: options.defaultTtlMs,
      jitter: 0,
      breakerThreshold: 2,
      breakerOpenMs: 200,
      ...(queue
        ? {
            enqueueWrite: async (key: string, value: unknown) => void (await queue.enqueue(key, value)),
            supersedeQueuedWrite: (key: string) => queue.supersede(key),
          }
        : {}),
      ...options.tuning,
    });
    queue?.onApplied(async (key) => void (await cache.delete([key])));
    await bus.start();
    cleanups.push(async () => {
      await queue?.stop();
      await bus.stop();
      redis.disconnect();
    });
    made.push({ cache, faults, bus, heard: gate.heard, queue: queue! });
  }
  return made;
}

/** Resolves once `method` reached the fault injector (where a hung call now waits). */
async function calledOnce(faults: FaultInjector, method: L2IoMethod): Promise<void> {
  const calls = await eventually(
    async () => faults.calls[method] ?? 0,
    (count) => count >= 1,
    2000,
    1,
  );
  if (calls < 1) throw new Error(`${method} was never called`);
}

const id = () => `item:${randomUUID().slice(0, 8)}`;
const originId = (key: string) => key.slice("item:".length);

describe("reads through the tiers", () => {
  test("a miss loads from the origin, then L2 serves other instances and L1 serves repeats", async () => {
    const [a, b] = await instances(2);
    const key = id();
    originValues.set(originId(key), { n: 1 });
    const bHeardFill = b.heard(key);
    expect(await a.cache.get(key)).toMatchObject({ value: { n: 1 }, source: "origin" });
    expect(await a.cache.get(key)).toMatchObject({ source: "l1" });
    // b hears a's announcement of the fill; a read that overlaps it (conservatively) skips L1.
    await bHeardFill;
    expect(await b.cache.get(key)).toMatchObject({ value: { n: 1 }, source: "l2" });
    expect(await b.cache.get(key)).toMatchObject({ source: "l1" });
    expect(originCalls.get(originId(key))).toBe(1);
  });

  test("a key the origin does not have is a miss, and the miss is cached (negative caching)", async () => {
    const [a] = await instances(1);
    const key = id();
    await expect(a.cache.get(key)).rejects.toBeInstanceOf(CacheMissError);
    await expect(a.cache.get(key)).rejects.toBeInstanceOf(CacheMissError);
    expect(originCalls.get(originId(key))).toBe(1);
  });

  test("100 concurrent misses on one key in one instance → 1 origin call", async () => {
    const [a] = await instances(1);
    const key = id();
    originValues.set(originId(key), "v");
    origin.delayMs = 50;
    const reads = await Promise.all(Array.from({ length: 100 }, () => a.cache.get(key)));
    expect(new Set(reads.map((r) => r.value))).toEqual(new Set(["v"]));
    expect(originCalls.get(originId(key))).toBe(1);
  });

  test("3 instances × 100 concurrent misses on one key → 1 origin call (Redis lease)", async () => {
    const all = await instances(3);
    const key = id();
    originValues.set(originId(key), "shared");
    origin.delayMs = 100;
    const reads = await Promise.all(all.flatMap(({ cache }) => Array.from({ length: 100 }, () => cache.get(key))));
    expect(reads.every((r) => r.value === "shared")).toBe(true);
    expect(originCalls.get(originId(key))).toBe(1);
  });

  test("an expired value within the grace period is served stale while one refresh runs", async () => {
    const clock = new FakeClock(Date.now());
    const [a] = await instances(1, { graceMs: 60_000, defaultTtlMs: 100, clock });
    const key = id();
    originValues.set(originId(key), "old");
    await a.cache.get(key);
    originValues.set(originId(key), "new");
    clock.advance(150);
    expect(await a.cache.get(key)).toMatchObject({ value: "old", stale: true });
    // The one background refresh lands without further reads (polled: timing varies under load).
    const refreshed = await eventually(
      () => a.cache.get(key),
      (read) => !read.stale,
      5000,
      20,
    );
    expect(refreshed).toMatchObject({ value: "new", stale: false });
    expect(originCalls.get(originId(key))).toBe(2);
  });
});

describe("fresh L1 hits without a promise (getFresh)", () => {
  test("answers what get answers for a fresh L1 hit, counted the same; anything else is left to get, uncounted", async () => {
    const clock = new FakeClock(Date.now());
    const [a, b] = await instances(2, { clock, defaultTtlMs: 1_000, graceMs: 10_000 });
    const [inL1, inL2] = [id(), id()];
    await a.cache.set(inL1, "l1 value");
    await b.cache.set(inL2, "l2 value");
    const hits: string[] = [];
    a.cache.events.on("hit", ({ key, tier }) => hits.push(`${tier}:${key}`));

    const fresh = a.cache.getFresh(inL1);
    expect(fresh).toEqual(await a.cache.get(inL1));
    expect(fresh).toMatchObject({ value: "l1 value", source: "l1", stale: false });
    expect(a.cache.getFresh(inL2)).toBeUndefined(); // in L2 only
    expect(a.cache.getFresh(id())).toBeUndefined(); // nowhere
    expect(hits).toEqual([`l1:${inL1}`, `l1:${inL1}`]);
    expect(a.cache.hot.estimate(inL1)?.count).toBe(2);
    expect(a.cache.hot.estimate(inL2)).toBeUndefined();

    clock.advance(1_500); // expired, within the grace period: get serves it stale, getFresh does not
    expect(a.cache.getFresh(inL1)).toBeUndefined();
    expect(await a.cache.get(inL1)).toMatchObject({ value: "l1 value", stale: true });
  });

  test("a traced cache leaves every read to get, which records the spans", async () => {
    const spans: string[] = [];
    const tracer: CacheTracer = { span: (name, _attributes, run) => (spans.push(name), run(() => undefined)) };
    const [a] = await instances(1, { tuning: { tracer } });
    const key = id();
    await a.cache.set(key, "v");
    expect(a.cache.getFresh(key)).toBeUndefined();
    expect(await a.cache.get(key)).toMatchObject({ value: "v", source: "l1" });
    expect(spans).toEqual(["cache.get", "cache.l1"]);
  });
});

describe("batch reads", () => {
  test("getMany answers L1 hits, L2 hits, origin loads and unknown keys in input order, each read counted once", async () => {
    const [a, b] = await instances(2);
    const [inL1, inL2, inOrigin, unknown] = [id(), id(), id(), id()];
    await a.cache.set(inL1, "l1 value");
    await b.cache.set(inL2, "l2 value");
    originValues.set(originId(inOrigin), "origin value");
    const hits: string[] = [];
    a.cache.events.on("hit", ({ key, tier }) => hits.push(`${tier}:${key}`));

    const reads = await a.cache.getMany([unknown, inL1, inOrigin, inL2, inL1]);
    expect(reads.map((r) => [r.key, r.found, r.read?.source, r.read?.value])).toEqual([
      [unknown, false, undefined, undefined],
      [inL1, true, "l1", "l1 value"],
      [inOrigin, true, "origin", "origin value"],
      [inL2, true, "l2", "l2 value"],
      [inL1, true, "l1", "l1 value"],
    ]);
    expect(hits.sort()).toEqual([`l1:${inL1}`, `l1:${inL1}`, `l2:${inL2}`].sort());
    expect(a.cache.hot.estimate(inL1)?.count).toBe(2);
  });
});

describe("writes and coherence", () => {
  test("after a write on one instance is acknowledged, the others never read the old value", async () => {
    const all = await instances(3);
    const key = id();
    await all[0].cache.set(key, 1);
    for (const { cache } of all) expect((await cache.get(key)).value).toBe(1);
    for (let round = 2; round < 40; round++) {
      const writer = all[round % 3];
      const others = all.filter((instance) => instance !== writer);
      const applied = Promise.all(others.map((other) => other.heard(key)));
      await writer.cache.set(key, round);
      // The propagation bound: announcements are durable before set() resolves; the followers
      // apply them as they arrive.
      await applied;
      for (const { cache } of all) expect((await cache.get(key)).value).toBe(round);
    }
  });

  test("a delete removes the key from every instance's L1", async () => {
    const [a, b] = await instances(2);
    const key = id();
    originValues.set(originId(key), "from-origin");
    await a.cache.set(key, "cached");
    expect((await b.cache.get(key)).value).toBe("cached");
    const applied = b.heard(key);
    await a.cache.delete([key]);
    await applied;
    expect(await b.cache.get(key)).toMatchObject({ value: "from-origin", source: "origin" });
  });

  test("a pattern delete drops exactly the matching keys from every instance's L1", async () => {
    const [a, b] = await instances(2);
    const ns = id();
    const keys = [`${ns}:1`, `${ns}:12`, `${ns}:2`, `${ns}:x1`];
    for (const key of keys) await a.cache.set(key, key);
    for (const key of keys) expect((await b.cache.get(key)).source).toBe("l2"); // now in b's L1
    const applied = b.heard(`${ns}:1`);
    const result = await a.cache.deleteMatching(`${ns}:1*`);
    expect(result.deleted).toBe(2);
    await applied;
    for (const cache of [a.cache, b.cache]) {
      await expect(cache.get(`${ns}:1`)).rejects.toBeInstanceOf(CacheMissError);
      await expect(cache.get(`${ns}:12`)).rejects.toBeInstanceOf(CacheMissError);
    }
    // The others stay in b's L1: a pattern is not a flush.
    expect((await b.cache.get(`${ns}:2`)).source).toBe("l1");
    expect((await b.cache.get(`${ns}:x1`)).source).toBe("l1");
  });

  test("a tag delete drops exactly the tagged keys from every instance's L1", async () => {
    const [a, b] = await instances(2);
    const ns = id();
    await a.cache.set(`${ns}:red1`, 1, { tags: ["red"] });
    await a.cache.set(`${ns}:red2`, 2, { tags: ["red", "blue"] });
    await a.cache.set(`${ns}:plain`, 3);
    for (const key of [`${ns}:red1`, `${ns}:red2`, `${ns}:plain`]) expect((await b.cache.get(key)).source).toBe("l2");
    const applied = b.heard(`${ns}:red2`);
    expect(await a.cache.deleteByTags(["red"])).toBe(2);
    await applied;
    for (const cache of [a.cache, b.cache]) await expect(cache.get(`${ns}:red1`)).rejects.toBeInstanceOf(CacheMissError);
    await expect(b.cache.get(`${ns}:red2`)).rejects.toBeInstanceOf(CacheMissError);
    expect((await b.cache.get(`${ns}:plain`)).source).toBe("l1"); // not a flush
  });

  test("a read racing an invalidation does not fill L1 with the value it read", async () => {
    const [a] = await instances(1, { faults: true });
    const key = id();
    await a.cache.set(key, "old");
    a.cache.applyInvalidation([key]);
    a.faults.setLatency(Infinity); // L2 calls hang until reset()
    const racing = a.cache.get(key);
    await calledOnce(a.faults, "fenceRead"); // a key an origin serves is read with its fill lease
    a.cache.applyInvalidation([key]); // arrives before the L2 reply
    a.faults.reset();
    expect((await racing).value).toBe("old");
    expect(await a.cache.get(key)).toMatchObject({ source: "l2" });
  });

  test("setMany writes every entry to L2 and L1: the writer reads them from L1, the others from L2", async () => {
    const [a, b] = await instances(2);
    const ns = id();
    await a.cache.setMany([
      { key: `${ns}:1`, value: { n: 1 } },
      { key: `${ns}:2`, value: "two", tags: ["even"] },
    ]);
    expect(await a.cache.get(`${ns}:1`)).toMatchObject({ value: { n: 1 }, source: "l1" });
    expect(await a.cache.get(`${ns}:2`)).toMatchObject({ value: "two", source: "l1", tags: ["even"] });
    expect(await b.cache.get(`${ns}:2`)).toMatchObject({ value: "two", source: "l2", tags: ["even"] });
  });

  test("a setMany racing another instance's write of one of its keys does not fill L1 with that key", async () => {
    const [a] = await instances(1, { faults: true });
    const ns = id();
    a.faults.setLatency(Infinity);
    const writing = a.cache.setMany([
      { key: `${ns}:raced`, value: "mine" },
      { key: `${ns}:quiet`, value: "mine" },
    ]);
    await calledOnce(a.faults, "mset");
    a.cache.applyInvalidation([`${ns}:raced`]); // another instance's announcement, before our write is done
    a.faults.reset();
    await writing;
    expect(await a.cache.get(`${ns}:raced`)).toMatchObject({ source: "l2" });
    expect(await a.cache.get(`${ns}:quiet`)).toMatchObject({ source: "l1" });
  });

  test("a set racing another instance's write of its key does not fill L1 with its own value", async () => {
    const [a] = await instances(1, { faults: true });
    const key = id();
    a.faults.setLatency(Infinity);
    const writing = a.cache.set(key, "mine");
    await calledOnce(a.faults, "set");
    a.cache.applyInvalidation([key]); // another instance's announcement, before our write is done
    a.faults.reset();
    await writing;
    expect(await a.cache.get(key)).toMatchObject({ source: "l2" });
    await a.cache.set(key, "again");
    expect(await a.cache.get(key)).toMatchObject({ source: "l1", value: "again" });
  });

  test("write-through writes the origin first; write-behind needs a queue", async () => {
    const [a] = await instances(1);
    const key = id();
    await a.cache.set(key, { price: 3 }, { mode: "write-through" });
    expect(originValues.get(originId(key))).toEqual({ price: 3 });
    await expect(a.cache.set(key, 1, { mode: "write-behind" })).rejects.toThrow(/write-behind needs/);
  });
});

describe("L2 failures", () => {
  test("with L2 failing, L1 hits still answer, the level drops to l1-only, and it recovers", async () => {
    const clock = new FakeClock(Date.now());
    const [a] = await instances(1, { faults: true, clock });
    const key = id();
    await a.cache.set(key, "kept");
    expect((await a.cache.get(key)).source).toBe("l1");
    a.faults.setFailing(true);
    const other = id();
    originValues.set(originId(other), "o");
    await a.cache.get(other); // L2 read fails → origin
    await a.cache.get(id()).catch(() => undefined);
    expect(a.cache.level).toBe("l1-only");
    expect(await a.cache.get(key)).toMatchObject({ value: "kept", source: "l1" });
    await expect(a.cache.set(key, "x")).rejects.toThrow(/L2 is unavailable/);
    a.faults.setFailing(false);
    clock.advance(250); // past breakerOpenMs: the breaker lets a trial call through
    await a.cache.get(id()).catch(() => undefined);
    expect(a.cache.level).toBe("normal");
  });

  test("a key no origin serves is 'unavailable', never 'not found', while L2 cannot be read", async () => {
    const [a] = await instances(1, { faults: true });
    const key = `noorigin:${randomUUID().slice(0, 8)}`;
    await a.cache.set(key, "in L2");
    a.cache.applyInvalidation([key]); // gone from L1, as after another instance's write
    a.faults.failNext(1);
    await expect(a.cache.get(key)).rejects.toBeInstanceOf(CacheUnavailableError);
    expect(await a.cache.get(key)).toMatchObject({ value: "in L2", source: "l2" });
    await expect(a.cache.get(`noorigin:${randomUUID().slice(0, 8)}`)).rejects.not.toBeInstanceOf(CacheUnavailableError);
  });
});

describe("fill fencing: an acknowledged change is never undone by a load that began before it", () => {
  type Change = (cache: TieredCache, key: string) => Promise<unknown>;
  const changes: Array<[string, Change, string]> = [
    ["a delete", (cache, key) => cache.delete([key]), "V2"],
    ["a pattern invalidation", (cache, key) => cache.deleteMatching(`${key}*`), "V2"],
    ["a flush", (cache) => cache.flush(), "V2"],
    ["a cache-only PUT", (cache, key) => cache.set(key, "put"), "put"],
    ["a write-through PUT", (cache, key) => cache.set(key, "V2", { mode: "write-through" }), "V2"],
  ];

  test.each(changes)("%s on another instance while a read-through loads V1: no instance serves V1 afterwards", async (_, change, expected) => {
    const [a, b] = await instances(2);
    const key = id();
    originValues.set(originId(key), "V1");
    const load = holdNextLoad();
    const reading = a.cache.get(key);
    await load.arrived; // a's load has read V1 at the origin
    originValues.set(originId(key), "V2");
    await change(b.cache, key); // acknowledged
    load.release();
    expect((await reading).value).toBe("V1"); // that read overlapped the change: either value is allowed
    for (const { cache } of [a, b, a, b]) expect((await cache.get(key)).value).toBe(expected);
  });

  test("a read that starts after an acknowledged delete does not wait for the old load: it loads the new value", async () => {
    const [a, b] = await instances(2);
    const key = id();
    originValues.set(originId(key), "V1");
    const load = holdNextLoad();
    const old = a.cache.get(key);
    await load.arrived;
    originValues.set(originId(key), "V2");
    await a.cache.delete([key]);
    expect((await b.cache.get(key)).value).toBe("V2"); // while the old load is still held
    load.release();
    await old;
    expect((await a.cache.get(key)).value).toBe("V2");
  });

  test("a tag invalidation during a stale-while-revalidate refresh: the refresh does not bring the old value back", async () => {
    const clock = new FakeClock(Date.now());
    const [a, b] = await instances(2, { graceMs: 60_000, defaultTtlMs: 1_000, clock });
    const key = id();
    await a.cache.set(key, "V0", { tags: ["group"] });
    originValues.set(originId(key), "V1");
    clock.advance(2_000); // V0 is stale now, within grace
    const load = holdNextLoad();
    const refreshed = new Promise<boolean>((resolve) => b.cache.events.on("fill", (fill) => fill.key === key && resolve(fill.stored)));
    expect(await b.cache.get(key)).toMatchObject({ value: "V0", stale: true }); // and a refresh starts
    await load.arrived;
    originValues.set(originId(key), "V2");
    expect(await a.cache.deleteByTags(["group"])).toBe(1);
    load.release();
    expect(await refreshed).toBe(false); // refused: V0 is gone from L2
    for (const { cache } of [a, b]) expect((await cache.get(key)).value).toBe("V2");
  });

  test("a warming store fenced before its load is refused when a delete lands first, and stored otherwise", async () => {
    const [a, b] = await instances(2);
    const [deleted, untouched] = [id(), id()];
    const fences = await a.cache.beginFills([deleted, untouched]);
    expect(fences.every((fence) => typeof fence === "string")).toBe(true);
    originValues.set(originId(deleted), "V2");
    await b.cache.delete([deleted]);
    const stored = await a.cache.setMany([
      { key: deleted, value: "V1", fence: fences[0] },
      { key: untouched, value: "warm", fence: fences[1] },
    ]);
    expect(stored).toEqual([false, true]);
    expect((await b.cache.get(deleted)).value).toBe("V2");
    expect(await b.cache.get(untouched)).toMatchObject({ value: "warm", source: "l2" });
  });
});

describe("stampede protection for slow origins", () => {
  test("3 instances × 10 readers of a key whose origin takes 6× leaseWaitMs → 1 origin call (the lease is renewed)", async () => {
    // The lease outlives event-loop stalls of a loaded machine (a TTL of 150 ms did not): renewed
    // or not is what this test tells apart, and the load outlasts the TTL either way.
    const tuning = { leaseWaitMs: 250, leaseTtlMs: 1_000, hardTimeoutMs: 5_000 };
    const all = await instances(3, { tuning });
    const key = id();
    originValues.set(originId(key), "slow");
    origin.delayMs = 1_500;
    const reads = await Promise.all(all.flatMap(({ cache }) => Array.from({ length: 10 }, () => cache.get(key))));
    expect(reads.every((read) => read.value === "slow")).toBe(true);
    expect(originCalls.get(originId(key))).toBe(1);
  });

  test("a lease whose holder died frees the key after its TTL: a waiting reader then loads", async () => {
    const [a] = await instances(1, { faults: true, tuning: { leaseTtlMs: 200 } });
    const key = id();
    originValues.set(originId(key), "v");
    const dead = await a.faults.fenceRead(key, markerOf("dead-holder"), 200); // never filled, never renewed
    expect(dead.kind).toBe("granted");
    const started = Date.now();
    expect((await a.cache.get(key)).value).toBe("v");
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(originCalls.get(originId(key))).toBe(1);
  });

  test("a holder whose load fails drops its lease: a waiter takes it at once instead of waiting out the TTL", async () => {
    const [a, b] = await instances(2, { tuning: { leaseTtlMs: 30_000, hardTimeoutMs: 300 } });
    const key = id();
    originValues.set(originId(key), "v");
    const load = holdNextLoad(); // a's load never answers: its hard timeout fails it
    const failing = a.cache.get(key);
    await load.arrived;
    const started = Date.now();
    const waiting = b.cache.get(key);
    await expect(failing).rejects.toThrow();
    expect((await waiting).value).toBe("v");
    expect(Date.now() - started).toBeLessThan(5_000); // far below the 30 s lease TTL
    load.release();
  });
});

describe("write-through and write-behind keep one order per key", () => {
  /** Resolves once every queued write has been applied (or dropped). */
  const drained = (queue: WriteBehindQueue) =>
    eventually(
      () => queue.stats(),
      (stats) => stats.depth === 0,
      10_000,
      10,
    );

  test("an older write-behind value still queued never lands at the origin after a newer write-through", async () => {
    const [a, b] = await instances(2, { writeBehind: true });
    const key = id();
    await a.cache.set(key, "V1", { mode: "write-behind" }); // acknowledged, queued (no consumer yet)
    await b.cache.set(key, "V2", { mode: "write-through" }); // acknowledged later
    await a.queue.start();
    expect((await drained(a.queue)).depth).toBe(0);
    expect(originValues.get(originId(key))).toBe("V2");
    for (const { cache } of [a, b]) expect((await cache.get(key)).value).toBe("V2");
  });

  test("applying a queued write invalidates what the cache loaded from the origin during the lag", async () => {
    const [a, b] = await instances(2, { writeBehind: true });
    const key = id();
    originValues.set(originId(key), "V0");
    await a.cache.set(key, "V1", { mode: "write-behind" });
    await a.cache.delete([key]); // during the queue's lag
    expect((await b.cache.get(key)).value).toBe("V0"); // loaded from the origin, cached
    const applied = b.heard(key);
    await a.queue.start();
    await drained(a.queue);
    await applied; // b heard the invalidation the apply made
    expect(originValues.get(originId(key))).toBe("V1");
    for (const { cache } of [a, b]) expect((await cache.get(key)).value).toBe("V1");
  });
});

describe("per-namespace policy", () => {
  test("a value written or loaded without a TTL lives for its namespace's default TTL, other namespaces for the cache's", async () => {
    const clock = new FakeClock();
    const policy = { forKey: (key: string) => (key.startsWith("item:") ? { defaultTtlMs: 2_000 } : {}) };
    const [a] = await instances(1, { defaultTtlMs: 60_000, clock, tuning: { policy } });
    const written = id();
    const loaded = id();
    originValues.set(originId(loaded), "from the origin");
    await a.cache.set(written, "set");
    await a.cache.set("other:1", "set");
    await a.cache.setMany([{ key: `${written}-many`, value: "many" }]);
    expect((await a.cache.get(written)).ttlMs).toBe(2_000);
    expect((await a.cache.get(`${written}-many`)).ttlMs).toBe(2_000);
    expect((await a.cache.get(loaded)).ttlMs).toBe(2_000);
    expect((await a.cache.get("other:1")).ttlMs).toBe(60_000);
  });
});
