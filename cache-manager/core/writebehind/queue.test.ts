import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { connectRedis } from "../../../lib/redis.ts";
import { backoffDelay } from "./backoff.ts";
import {
  WriteBehindArgumentError,
  WriteBehindFullError,
  WriteBehindQueue,
  WriteBehindTimeoutError,
  type WriteBehindEvent,
  type WriteBehindOptions,
} from "./index.ts";
import { gate, queueFactory, randomStreamKey, recordingOrigin, waitUntil } from "./testing.ts";

let redis: Redis;
let queues: ReturnType<typeof queueFactory>;

beforeAll(() => {
  redis = connectRedis(process.env.REDIS_URL!);
  queues = queueFactory(redis);
});
afterEach(() => queues.closeAll());
afterAll(() => redis.quit());

const drained = (queue: WriteBehindQueue) => waitUntil("the queue is drained", async () => (await queue.stats()).depth === 0);

describe("backoffDelay", () => {
  test.each([
    [1, 1, 100],
    [2, 1, 200],
    [3, 1, 400],
    [10, 1, 1_000],
    [3, 0, 200],
    [60, 1, 1_000],
  ])("retry %i with random()=%d waits %i ms (min 100, max 1000, equal jitter)", (attempt, random, expected) => {
    expect(backoffDelay(attempt, { minMs: 100, maxMs: 1_000 }, () => random)).toBe(expected);
  });
});

describe("WriteBehindQueue options and arguments", () => {
  const base = (): WriteBehindOptions => ({ redis, blockingRedis: () => redis, streamKey: "x", consumer: "c", write: async () => {} });

  test.each([
    ["no consumer", { consumer: "" }, /consumer is required/],
    ["a write timeout at the claim idle time", { claimIdleMs: 1_000, writeTimeoutMs: 1_000 }, /writeTimeoutMs \(1000\) must be below claimIdleMs \(1000\)/],
    ["a backoff whose max is below its min", { backoff: { minMs: 100, maxMs: 10 } }, /backoff.maxMs \(10\) must be ≥ backoff.minMs \(100\)/],
    ["zero concurrency", { concurrency: 0 }, /concurrency must be an integer ≥ 1, got 0/],
    ["negative retries", { maxRetries: -1 }, /maxRetries must be an integer ≥ 0/],
  ])("refuses %s", (_label, overrides, message) => {
    expect(() => new WriteBehindQueue({ ...base(), ...overrides })).toThrow(WriteBehindArgumentError);
    expect(() => new WriteBehindQueue({ ...base(), ...overrides })).toThrow(message);
  });

  test.each([
    ["undefined", undefined, /has no JSON form/],
    ["a BigInt", 10n, /cannot be serialised/],
  ])("enqueue refuses %s as a value, and queues nothing", async (_label, value, message) => {
    const queue = queues.make({ write: async () => {} });
    await expect(queue.enqueue("k", value)).rejects.toThrow(message);
    expect((await queue.stats()).enqueued).toBe(0);
  });

  test("a full queue refuses new keys but still coalesces into waiting ones", async () => {
    const queue = queues.make({ write: async () => {}, maxDepth: 2 });
    await queue.enqueue("a", 1);
    await queue.enqueue("b", 1);
    await expect(queue.enqueue("c", 1)).rejects.toBeInstanceOf(WriteBehindFullError);
    await expect(queue.enqueue("a", 2)).resolves.toMatchObject({ coalesced: true, version: 2 });
  });
});

describe("WriteBehindQueue delivery", () => {
  test("every enqueued write reaches the origin exactly once when nothing fails", async () => {
    const origin = recordingOrigin();
    const queue = queues.make({ write: origin.write, concurrency: 8 });
    await queue.start();
    await Promise.all(Array.from({ length: 200 }, (_, i) => queue.enqueue(`item:${i}`, { n: i })));
    await drained(queue);
    expect(origin.attempts).toHaveLength(200);
    for (let i = 0; i < 200; i++) expect(origin.applied.get(`item:${i}`)).toEqual([{ n: i }]);
    expect(await queue.stats()).toMatchObject({ depth: 0, queued: 0, inFlight: 0, retrying: 0, lagMs: 0, enqueued: 200, applied: 200, coalesced: 0 });
  });

  test("writes enqueued before any consumer runs wait durably and are applied on start", async () => {
    const origin = recordingOrigin();
    const queue = queues.make({ write: origin.write });
    await queue.enqueue("a", 1);
    await queue.enqueue("b", 2);
    expect(await queue.stats()).toMatchObject({ depth: 2, queued: 2, inFlight: 0 });
    await queue.start();
    await drained(queue);
    expect([origin.last("a"), origin.last("b")]).toEqual([1, 2]);
  });

  test("never runs more origin writes at once than its concurrency", async () => {
    let running = 0;
    let peak = 0;
    const origin = recordingOrigin(async () => {
      peak = Math.max(peak, ++running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
    });
    const queue = queues.make({ write: origin.write, concurrency: 3 });
    await Promise.all(Array.from({ length: 30 }, (_, i) => queue.enqueue(`k${i}`, i)));
    await queue.start();
    await drained(queue);
    expect(origin.attempts).toHaveLength(30);
    expect(peak).toBe(3);
  });
});

describe("WriteBehindQueue coalescing", () => {
  test("100 rapid writes to one key become at most 2 origin writes, and the last value wins", async () => {
    const origin = recordingOrigin(() => new Promise((resolve) => setTimeout(resolve, 50)));
    const queue = queues.make({ write: origin.write });
    await queue.start();
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => queue.enqueue("hot", { v: i })));
    await drained(queue);
    expect(origin.attempts.length).toBeLessThanOrEqual(2);
    expect(origin.last("hot")).toEqual({ v: 99 });
    expect(results.filter((r) => r.coalesced).length).toBeGreaterThanOrEqual(98);
    expect(await queue.stats()).toMatchObject({ enqueued: 100, coalesced: results.filter((r) => r.coalesced).length });
  });

  test("a value written while the previous one is in flight is applied right after it", async () => {
    const hold = gate();
    const origin = recordingOrigin((_key, value) => (value === "first" ? hold.opened : undefined));
    const queue = queues.make({ write: origin.write });
    await queue.start();
    await queue.enqueue("k", "first");
    await waitUntil("the first write started", () => origin.attempts.length === 1);
    await queue.enqueue("k", "second");
    await queue.enqueue("k", "third");
    hold.open();
    await drained(queue);
    expect(origin.applied.get("k")).toEqual(["first", "third"]);
  });
});

describe("WriteBehindQueue failures", () => {
  test("a failing write is retried with backoff until it succeeds", async () => {
    const events: WriteBehindEvent[] = [];
    const origin = recordingOrigin((_key, _value, attempt) => {
      if (attempt < 3) throw new Error(`origin down (attempt ${attempt})`);
    });
    const queue = queues.make({ write: origin.write, maxRetries: 5, backoff: { minMs: 30, maxMs: 100 } }, events);
    await queue.start();
    await queue.enqueue("k", "v");
    await drained(queue);
    expect(origin.attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(origin.applied.get("k")).toEqual(["v"]);
    const retries = events.filter((e) => e.type === "retry-scheduled");
    expect(retries).toMatchObject([
      { key: "k", attempt: 1, error: "origin down (attempt 1)" },
      { key: "k", attempt: 2, error: "origin down (attempt 2)" },
    ]);
    for (const retry of retries) expect((retry as { delayMs: number }).delayMs).toBeGreaterThanOrEqual(15);
    expect(await queue.stats()).toMatchObject({ retries: 2, applied: 1, deadLettered: 0, depth: 0 });
  });

  test("a write that keeps failing goes to the dead-letter stream after maxRetries, with its error and attempts", async () => {
    const origin = recordingOrigin(() => {
      throw new Error("constraint violated");
    });
    const queue = queues.make({ write: origin.write, maxRetries: 2 });
    await queue.start();
    await queue.enqueue("bad", { price: -1 });
    await waitUntil("the write is dead-lettered", async () => (await queue.stats()).deadLettered === 1);
    expect(origin.attempts).toHaveLength(3);
    const [letter] = await queue.deadLetters();
    expect(letter).toMatchObject({ key: "bad", value: { price: -1 }, attempts: 3, error: "constraint violated" });
    expect(await queue.stats()).toMatchObject({ depth: 0, retries: 2, deadLettered: 1, deadLetterLength: 1, applied: 0, lagMs: 0 });
  });

  test("a retry writes the key's latest value", async () => {
    const origin = recordingOrigin((_key, value) => {
      if (value === "rejected") throw new Error("rejected");
    });
    const queue = queues.make({ write: origin.write, backoff: { minMs: 150, maxMs: 150 } });
    await queue.start();
    await queue.enqueue("k", "rejected");
    await waitUntil("the first attempt failed", async () => (await queue.stats()).retrying === 1);
    await queue.enqueue("k", "accepted");
    await drained(queue);
    expect(origin.attempts.map((a) => a.value)).toEqual(["rejected", "accepted"]);
  });

  test("a value written during a failing attempt survives that attempt's dead-lettering", async () => {
    const hold = gate();
    const origin = recordingOrigin(async (_key, value) => {
      if (value === "poison") {
        await hold.opened;
        throw new Error("poison");
      }
    });
    const queue = queues.make({ write: origin.write, maxRetries: 0 });
    await queue.start();
    await queue.enqueue("k", "poison");
    await waitUntil("the poison write started", () => origin.attempts.length === 1);
    await queue.enqueue("k", "fine");
    hold.open();
    await drained(queue);
    expect(origin.applied.get("k")).toEqual(["fine"]);
    expect((await queue.deadLetters()).map((l) => l.value)).toEqual(["poison"]);
  });

  test("a write that outlives writeTimeoutMs counts as a failed attempt", async () => {
    const origin = recordingOrigin(() => new Promise(() => {}));
    const queue = queues.make({ write: origin.write, maxRetries: 1, writeTimeoutMs: 60, claimIdleMs: 500 });
    await queue.start();
    await queue.enqueue("k", 1);
    await waitUntil("the write is dead-lettered", async () => (await queue.stats()).deadLettered === 1);
    expect((await queue.deadLetters())[0].error).toMatch(/took longer than 60 ms/);
  });
});

describe("WriteBehindQueue crash recovery", () => {
  test("writes in flight and queued at a consumer that dies are applied by another consumer; none are lost", async () => {
    const dying = recordingOrigin(
      (_key, _value, _attempt, signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    );
    const streamKey = randomStreamKey();
    const a = queues.make({ write: dying.write, streamKey, consumer: "a", concurrency: 3, claimIdleMs: 300 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => a.enqueue(`item:${i}`, `v${i}`)));
    await a.start();
    await waitUntil("a has 3 writes in flight", () => dying.attempts.length === 3);
    a.abort();
    expect(await a.stats()).toMatchObject({ depth: 20, inFlight: 3, queued: 17 });

    const survivor = recordingOrigin();
    const b = queues.make({ write: survivor.write, streamKey, consumer: "b", claimIdleMs: 300 });
    await b.start();
    await drained(b);
    expect(survivor.applied.size).toBe(20);
    for (let i = 0; i < 20; i++) expect(survivor.last(`item:${i}`)).toBe(`v${i}`);
    expect(dying.applied.size).toBe(0);
    expect(await b.stats()).toMatchObject({ depth: 0, inFlight: 0, applied: 20 });
  });

  test("a consumer restarted under the same name resumes its own pending writes without waiting for claimIdleMs", async () => {
    const dying = recordingOrigin(
      (_key, _value, _attempt, signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    );
    const streamKey = randomStreamKey();
    const first = queues.make({ write: dying.write, streamKey, consumer: "web-1", concurrency: 2, claimIdleMs: 60_000, writeTimeoutMs: 10_000 });
    await first.enqueue("x", 1);
    await first.enqueue("y", 2);
    await first.start();
    await waitUntil("both writes are in flight", () => dying.attempts.length === 2);
    first.abort();

    const origin = recordingOrigin();
    const again = queues.make({ write: origin.write, streamKey, consumer: "web-1", claimIdleMs: 60_000, writeTimeoutMs: 10_000 });
    const started = Date.now();
    await again.start();
    await drained(again);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect([origin.last("x"), origin.last("y")]).toEqual([1, 2]);
  });

  test("stop() lets writes in flight finish and leaves the rest queued for the next consumer", async () => {
    const origin = recordingOrigin(() => new Promise((resolve) => setTimeout(resolve, 100)));
    const streamKey = randomStreamKey();
    const a = queues.make({ write: origin.write, streamKey, concurrency: 2 });
    await Promise.all(Array.from({ length: 6 }, (_, i) => a.enqueue(`k${i}`, i)));
    await a.start();
    await waitUntil("two writes are in flight", () => origin.attempts.length === 2);
    await a.stop();
    const afterStop = await a.stats();
    expect(origin.applied.size).toBe(afterStop.applied);
    expect(afterStop).toMatchObject({ inFlight: 0, depth: 6 - afterStop.applied });
    expect(afterStop.applied).toBeGreaterThanOrEqual(2);

    const b = queues.make({ write: origin.write, streamKey, consumer: "b" });
    await b.start();
    await drained(b);
    expect(origin.applied.size).toBe(6);
    expect(origin.attempts).toHaveLength(6);
  });
});

describe("WriteBehindQueue stop", () => {
  test("stop() returns promptly while the consumer is blocked reading an empty stream", async () => {
    const queue = queues.make({ write: async () => {}, blockMs: 5_000 });
    await queue.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await queue.stop();
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  test("stop(timeout) does not wait past its bound for a write that hangs; the entry stays pending for a claim", async () => {
    const origin = recordingOrigin(() => new Promise(() => {}));
    const queue = queues.make({ write: origin.write, claimIdleMs: 20_000, writeTimeoutMs: 10_000 });
    await queue.enqueue("k", 1);
    await queue.start();
    await waitUntil("the write started", () => origin.attempts.length === 1);
    const started = performance.now();
    await queue.stop(150);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await queue.stats()).toMatchObject({ depth: 1, inFlight: 1 });
  });
});

describe("WriteBehindQueue stats", () => {
  test("depth and lag follow the oldest write not yet applied", async () => {
    let now = 1_000;
    const clock = { now: () => now };
    const holdFirst = gate();
    const holdSecond = gate();
    const origin = recordingOrigin((key, value) => (key !== "a" ? undefined : value === 2 ? holdFirst.opened : holdSecond.opened));
    const queue = queues.make({ write: origin.write, clock, concurrency: 1, claimIdleMs: 20_000 });

    await queue.enqueue("a", 1);
    now = 3_000;
    await queue.enqueue("b", 1);
    now = 4_000;
    await queue.enqueue("a", 2);
    now = 6_000;
    expect(await queue.stats()).toMatchObject({ depth: 2, queued: 2, inFlight: 0, retrying: 0, lagMs: 5_000, enqueued: 3, coalesced: 1 });

    await queue.start();
    await waitUntil("a is in flight", () => origin.attempts.length === 1);
    expect(await queue.stats()).toMatchObject({ depth: 2, queued: 1, inFlight: 1, lagMs: 5_000 });

    now = 7_000;
    await queue.enqueue("a", 3); // arrives during a's write: once that write lands, this is a's oldest unapplied write
    holdFirst.open();
    await waitUntil("b is applied and a's newer value is in flight", () => origin.attempts.length === 3);
    now = 8_000;
    expect(await queue.stats()).toMatchObject({ depth: 1, applied: 2, inFlight: 1, lagMs: 1_000 });
    holdSecond.open();
    await drained(queue);
    expect(await queue.stats()).toMatchObject({ depth: 0, lagMs: 0, applied: 3 });
    expect(origin.applied.get("a")).toEqual([2, 3]);
  });
});

describe("WriteBehindQueue.supersede (before a write-through)", () => {
  test("drops a queued value not yet taken: the origin never receives it", async () => {
    const origin = recordingOrigin();
    const queue = queues.make({ write: origin.write });
    await queue.enqueue("k", "queued");
    await queue.supersede("k");
    await queue.start();
    await drained(queue);
    expect(origin.attempts).toEqual([]);
  });

  test("waits for a write in flight to settle, so the write-through lands after it", async () => {
    const hold = gate();
    const taken = gate();
    const origin = recordingOrigin(async () => {
      taken.open();
      await hold.opened;
    });
    const queue = queues.make({ write: origin.write });
    await queue.start();
    await queue.enqueue("k", "queued");
    await taken.opened; // the queued value is being written now
    let superseded = false;
    const superseding = queue.supersede("k").then(() => (superseded = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(superseded).toBe(false);
    hold.open();
    await superseding;
    expect(origin.last("k")).toBe("queued"); // applied before supersede returned
  });

  test("gives up with a timeout while the write in flight does not settle", async () => {
    const hold = gate();
    const taken = gate();
    const queue = queues.make({ write: recordingOrigin(async () => (taken.open(), await hold.opened)).write });
    await queue.start();
    await queue.enqueue("k", "queued");
    await taken.opened;
    await expect(queue.supersede("k", 50)).rejects.toBeInstanceOf(WriteBehindTimeoutError);
    hold.open();
  });
});
