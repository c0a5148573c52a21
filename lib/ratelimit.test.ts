import { Redis } from "ioredis";
import { afterAll, describe, expect, test } from "vitest";
import { freePort } from "../infra/node-host/embedded/ports";
import { RateLimiter } from "./ratelimit";
import { connectRedis } from "./redis";

const redis = new Redis(process.env.REDIS_URL!);
afterAll(() => redis.quit());
const prefix = `test:ratelimit:${Date.now()}:`;

describe("RateLimiter (token bucket in Redis, fake clock)", () => {
  test("allows the burst, refuses the next with the wait until a token, refills at the rate", async () => {
    let now = 1_000_000;
    const limiter = new RateLimiter({ redis, rate: 2, burst: 3, prefix, now: () => now });
    const first = await Promise.all([1, 2, 3].map(() => limiter.take("a")));
    expect(first.map((v) => v?.allowed)).toEqual([true, true, true]);
    expect(await limiter.take("a")).toEqual({ allowed: false, retryAfterMs: 500, remaining: 0 });
    expect((await limiter.take("b"))?.allowed).toBe(true); // buckets are per caller
    now += 500;
    expect((await limiter.take("a"))?.allowed).toBe(true);
    expect((await limiter.take("a"))?.allowed).toBe(false);
    now += 60_000; // refills to the burst, not beyond
    const after = await Promise.all([1, 2, 3, 4].map(() => limiter.take("a")));
    expect(after.map((v) => v?.allowed)).toEqual([true, true, true, false]);
  });

  test("fails open at once while Redis is unreachable, and stays out of the way for the cooldown", async () => {
    const dead = connectRedis(`redis://127.0.0.1:${await freePort()}`, { enableOfflineQueue: false, retryStrategy: () => null });
    const limiter = new RateLimiter({ redis: dead, rate: 1, burst: 1, prefix, timeoutMs: 50, cooldownMs: 60_000 });
    const started = performance.now();
    expect(await limiter.take("a")).toBeNull();
    expect(await limiter.take("a")).toBeNull();
    expect(performance.now() - started).toBeLessThan(500);
    expect(limiter.failedOpen).toBe(2);
    dead.disconnect();
  });

  test("at high rates, tokens come from Redis in chunks; two instances together never exceed the bucket", async () => {
    let now = 2_000_000;
    let evals = 0;
    const counted = { eval: (...args: Parameters<Redis["eval"]>) => (evals++, redis.eval(...args)) } as Pick<Redis, "eval">;
    const [a, b] = [1, 2].map(() => new RateLimiter({ redis: counted, rate: 1000, burst: 1000, prefix, now: () => now }));
    let allowed = 0;
    for (let i = 0; i < 1500; i++) if ((await (i % 2 ? a : b).take("chunky"))?.allowed) allowed++;
    expect(allowed).toBe(1000); // the whole burst, and not one more
    expect(evals).toBeLessThan(200); // 1,000 admissions in chunks of 20, plus the refusals
    now += 100; // 100 tokens refill
    let later = 0;
    for (let i = 0; i < 300; i++) if ((await (i % 2 ? a : b).take("chunky"))?.allowed) later++;
    expect(later).toBeLessThanOrEqual(100);
    expect(later).toBeGreaterThanOrEqual(60);
  });

  test("takeLocal spends a held chunk without Redis, and leaves the decision to take when the chunk is gone", async () => {
    let now = 3_000_000;
    let evals = 0;
    const counted = { eval: (...args: Parameters<Redis["eval"]>) => (evals++, redis.eval(...args)) } as Pick<Redis, "eval">;
    const limiter = new RateLimiter({ redis: counted, rate: 200, burst: 12, prefix, now: () => now });
    expect(limiter.takeLocal("local")).toBeUndefined(); // nothing held yet: only take can decide
    expect((await limiter.take("local"))?.allowed).toBe(true); // reserves a chunk of 3
    expect(evals).toBe(1);
    expect(limiter.takeLocal("local")).toEqual({ allowed: true, retryAfterMs: 0, remaining: 1 });
    expect(limiter.takeLocal("local")).toEqual({ allowed: true, retryAfterMs: 0, remaining: 0 });
    expect(limiter.takeLocal("local")).toBeUndefined();
    expect(evals).toBe(1);
    now += 2_000; // an unspent chunk expires
    expect((await limiter.take("local"))?.allowed).toBe(true);
    now += 2_000;
    expect(limiter.takeLocal("local")).toBeUndefined();
  });

  test("concurrent requests share one reservation: 300 at once within a burst of 4,000 are all admitted", async () => {
    let evals = 0;
    const counted = { eval: (...args: Parameters<Redis["eval"]>) => (evals++, redis.eval(...args)) } as Pick<Redis, "eval">;
    const limiter = new RateLimiter({ redis: counted, rate: 2000, burst: 4000, prefix });
    const verdicts = await Promise.all(Array.from({ length: 300 }, () => limiter.take("concurrent")));
    expect(verdicts.filter((v) => v?.allowed).length).toBe(300);
    expect(evals).toBeLessThanOrEqual(Math.ceil(300 / 40) + 1);
  });
});
