/**
 * The lease against a real redis-server (the suite's shared one, isolated by a random prefix,
 * and a dedicated one for the outage test).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Redis } from "ioredis";
import { connectRedis } from "../../../lib/redis.ts";
import { startRedisServer } from "../../../infra/node-host/embedded/redis.ts";
import { LeaseTimeoutError, LeaseUnavailableError, ResilienceArgumentError } from "./errors.ts";
import { RedisLease } from "./lease.ts";

const realSleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let connections: Redis[] = [];
let prefix: string;

beforeAll(async () => {
  connections = [0, 1, 2].map(() => connectRedis(process.env.REDIS_URL!));
  await Promise.all(connections.map((c) => c.ping()));
  prefix = `test:lease:${randomUUID()}:`;
});

afterAll(async () => {
  for await (const keys of connections[0].scanStream({ match: `${prefix}*`, count: 500 })) {
    if ((keys as string[]).length > 0) await connections[0].unlink(...(keys as string[]));
  }
  await Promise.all(connections.map((c) => c.quit()));
});

/** One lease client per connection, as three instances would have. */
const leases = () => connections.map((redis) => new RedisLease({ redis, prefix }));

describe("RedisLease", () => {
  test("of three instances racing for the same lease 100 times, exactly one wins each time", async () => {
    const [a, b, c] = leases();
    for (let round = 0; round < 100; round++) {
      const key = `race:${round}`;
      const tokens = await Promise.all([a.acquire(key, 5_000), b.acquire(key, 5_000), c.acquire(key, 5_000)]);
      expect(tokens.filter((t) => t !== null)).toHaveLength(1);
    }
  });

  test("acquires and releases made in one turn share a pipeline and still answer each caller alone", async () => {
    const [a] = leases();
    const keys = Array.from({ length: 50 }, (_, i) => `burst:${i}`);
    // Same key twice in one batch: the pipeline runs in order, so exactly one of the two wins.
    const tokens = await Promise.all([...keys, "burst:0"].map((key) => a.acquire(key, 5_000)));
    expect(tokens.slice(1, 50).every((t) => typeof t === "string")).toBe(true);
    expect([tokens[0], tokens[50]].filter((t) => t !== null)).toHaveLength(1);
    const holder = tokens[0] ?? tokens[50]!;
    const released = await Promise.all([a.release("burst:0", "not-the-token"), ...keys.map((key, i) => a.release(key, i === 0 ? holder : tokens[i]!))]);
    expect(released).toEqual([false, ...keys.map(() => true)]);
    expect(await connections[0].exists(...keys.map((key) => `${prefix}${key}`))).toBe(0);
  });

  test("a held lease is refused to others until its holder releases it", async () => {
    const [a, b] = leases();
    const token = await a.acquire("held", 5_000);
    expect(token).toEqual(expect.any(String));
    expect(await b.acquire("held", 5_000)).toBeNull();
    expect(await a.release("held", token!)).toBe(true);
    expect(await b.acquire("held", 5_000)).toEqual(expect.any(String));
  });

  test("release with a wrong token is refused and leaves the lease with its holder", async () => {
    const [a, b] = leases();
    const token = await a.acquire("wrong-token", 5_000);
    expect(await b.release("wrong-token", "not-the-token")).toBe(false);
    expect(await b.acquire("wrong-token", 5_000)).toBeNull();
    expect(await connections[0].get(`${prefix}wrong-token`)).toBe(token);
  });

  test("an expired lease is free again, and its former holder cannot release the new one", async () => {
    const [a, b] = leases();
    const stale = await a.acquire("expiry", 50);
    expect(await b.acquire("expiry", 5_000)).toBeNull();
    await realSleep(80);
    const fresh = await b.acquire("expiry", 5_000);
    expect(fresh).toEqual(expect.any(String));
    expect(await a.release("expiry", stale!)).toBe(false);
    expect(await a.remainingMs("expiry")).toBeGreaterThan(4_000);
  });

  test("extend resets the TTL for the holder only", async () => {
    const [a, b] = leases();
    const token = await a.acquire("extend", 1_000);
    expect(await b.extend("extend", "someone-else", 60_000)).toBe(false);
    expect(await a.remainingMs("extend")).toBeLessThanOrEqual(1_000);
    expect(await a.extend("extend", token!, 60_000)).toBe(true);
    expect(await a.remainingMs("extend")).toBeGreaterThan(59_000);
    await a.release("extend", token!);
    expect(await a.extend("extend", token!, 60_000)).toBe(false);
    expect(await a.remainingMs("extend")).toBeNull();
  });

  test("waitFor resolves at once when nobody holds the lease", async () => {
    const [a] = leases();
    const started = performance.now();
    await a.waitFor("free", { timeoutMs: 1_000 });
    expect(performance.now() - started).toBeLessThan(100);
  });

  test("waitFor resolves soon after the holder releases", async () => {
    const [holder, waiter] = leases();
    const token = await holder.acquire("release-wait", 10_000);
    const waiting = waiter.waitFor("release-wait", { timeoutMs: 2_000, pollMs: 5, maxPollMs: 20 });
    await realSleep(100);
    const releasedAt = performance.now();
    await holder.release("release-wait", token!);
    await waiting;
    expect(performance.now() - releasedAt).toBeLessThan(60);
  });

  test("waitFor wakes when the lease expires, without polling past its TTL", async () => {
    const [holder, waiter] = leases();
    await holder.acquire("expire-wait", 120);
    const started = performance.now();
    // maxPollMs is far above the TTL: the waiter still wakes just after the expiry.
    await waiter.waitFor("expire-wait", { timeoutMs: 2_000, pollMs: 1_000, maxPollMs: 1_000 });
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(100);
    expect(waited).toBeLessThan(400);
  });

  test("waitFor gives up with LeaseTimeoutError after timeoutMs while the lease is held", async () => {
    const [holder, waiter] = leases();
    await holder.acquire("timeout-wait", 10_000);
    const started = performance.now();
    const error = await waiter.waitFor("timeout-wait", { timeoutMs: 150, pollMs: 10, maxPollMs: 40 }).catch((e: unknown) => e);
    const waited = performance.now() - started;
    expect(error).toBeInstanceOf(LeaseTimeoutError);
    expect(error).toMatchObject({ code: "E_LEASE_TIMEOUT", key: "timeout-wait", timeoutMs: 150 });
    expect(LeaseTimeoutError.code).toBe("E_LEASE_TIMEOUT");
    expect(waited).toBeGreaterThanOrEqual(145);
    expect(waited).toBeLessThan(400);
  });

  test("waitFor stops early when its signal aborts", async () => {
    const [holder, waiter] = leases();
    await holder.acquire("abort-wait", 10_000);
    const controller = new AbortController();
    const waiting = waiter.waitFor("abort-wait", { timeoutMs: 5_000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error("request cancelled")), 30);
    await expect(waiting).rejects.toThrow("request cancelled");
  });

  test("release and extend still work after the server forgets its scripts", async () => {
    const [a] = leases();
    const token = await a.acquire("noscript", 5_000);
    await connections[0].script("FLUSH");
    expect(await a.extend("noscript", token!, 6_000)).toBe(true);
    await connections[0].script("FLUSH");
    expect(await a.release("noscript", token!)).toBe(true);
  });

  test.each([
    ["an empty key", (l: RedisLease) => l.acquire("", 1_000)],
    ["a zero TTL", (l: RedisLease) => l.acquire("k", 0)],
    ["a fractional TTL", (l: RedisLease) => l.acquire("k", 1.5)],
    ["a negative wait timeout", (l: RedisLease) => l.waitFor("k", { timeoutMs: -1 })],
    ["maxPollMs below pollMs", (l: RedisLease) => l.waitFor("k", { timeoutMs: 10, pollMs: 50, maxPollMs: 10 })],
  ])("refuses %s with ResilienceArgumentError", async (_label, call) => {
    await expect(call(leases()[0])).rejects.toThrow(ResilienceArgumentError);
  });

  test("a Redis outage surfaces as LeaseUnavailableError with the driver's error as cause", async () => {
    const server = await startRedisServer();
    const redis = connectRedis(server.url, { enableOfflineQueue: false, retryStrategy: () => null });
    try {
      if (redis.status !== "ready") await new Promise((resolve) => redis.once("ready", resolve));
      const lease = new RedisLease({ redis, prefix });
      expect(await lease.acquire("outage", 1_000)).toEqual(expect.any(String));
      await server.stop();
      await realSleep(50);
      const error = await lease.acquire("outage", 1_000).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LeaseUnavailableError);
      expect(error).toMatchObject({ code: "E_LEASE_UNAVAILABLE" });
      expect((error as Error).cause).toBeInstanceOf(Error);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});
