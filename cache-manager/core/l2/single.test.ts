import { describe, expect, test } from "vitest";
import type { Redis } from "ioredis";
import { startRedisServer } from "../../../infra/node-host/embedded/redis.ts";
import { alwaysFailing, delayed, FaultInjector } from "./chaos.ts";
import { registerL2ContractSuite, randomPrefix } from "./contract.ts";
import { L2ArgumentError, L2UnavailableError } from "./errors.ts";
import { escapeGlob, KeySpace, validatePattern } from "./pattern.ts";
import { createSingleL2 } from "./single.ts";

const url = () => process.env.REDIS_URL!;

registerL2ContractSuite("single", (options) => createSingleL2({ url: url(), ...options }));

describe("key space and patterns", () => {
  test("escapeGlob makes every glob character literal", () => {
    expect(escapeGlob("a*b?c[d]e\\f")).toBe("a\\*b\\?c\\[d\\]e\\\\f");
  });

  test("a caller's pattern is appended to the escaped prefix", () => {
    const ks = new KeySpace("app*:v:");
    expect(ks.valuePattern("user:*")).toBe("app\\*:v:user:*");
    expect(ks.tagPrefix).toBe("app*:v#tags:");
  });

  test.each([
    ["no trailing colon", "cachet"],
    ["a hash tag", "{cachet}:v:"],
  ])("rejects a prefix with %s", (_label, prefix) => {
    expect(() => new KeySpace(prefix)).toThrow(L2ArgumentError);
  });

  test("rejects a tag prefix that overlaps the value prefix", () => {
    expect(() => new KeySpace("c:v:", "c:v:tags:")).toThrow(L2ArgumentError);
  });

  test.each([["user:*"], ["[a-z]?"], ["\\*literal"], ["a[\\]]b"]])("accepts the pattern %j", (pattern) => {
    expect(validatePattern(pattern)).toBe(pattern);
  });
});

describe("single mode", () => {
  test("an unreachable server fails creation with L2UnavailableError", async () => {
    await expect(createSingleL2({ url: "redis://127.0.0.1:1", connectTimeoutMs: 300, redisOptions: { retryStrategy: () => null } })).rejects.toBeInstanceOf(
      L2UnavailableError,
    );
  });

  test("a pattern delete loads its script on a server that does not hold it (new server, SCRIPT FLUSH)", async () => {
    const server = await startRedisServer();
    const store = await createSingleL2({ url: server.url, prefix: randomPrefix() });
    try {
      for (const round of [1, 2]) {
        await store.mset(Array.from({ length: 50 }, (_, i) => ({ key: `k:${i}`, value: "v", ttlMs: 60_000 })));
        expect(await store.deleteMatching("k:*", { batchSize: 10 }), `round ${round}`).toMatchObject({ deleted: 50 });
        await store.controlClient("x").script("FLUSH");
      }
    } finally {
      await store.close();
      await server.stop();
    }
  });

  test("an adopted client is left open on close", async () => {
    const owner = await createSingleL2({ url: url(), prefix: randomPrefix() });
    const client = owner.controlClient("x");
    const borrower = await createSingleL2({ client: client as Redis, prefix: randomPrefix() });
    await borrower.close();
    expect(await client.ping()).toBe("PONG");
    await owner.close();
  });
});

describe("batch writes", () => {
  test("mset writes each key with its own TTL, also after the server forgot its scripts", async () => {
    const l2 = await createSingleL2({ url: url(), prefix: randomPrefix() });
    const client = l2.controlClient("x") as Redis;
    try {
      await l2.mset([
        { key: "a", value: "1", ttlMs: 60_000 },
        { key: "b", value: Buffer.from([0, 255, 13, 10]), ttlMs: 5_000 },
      ]);
      await client.script("FLUSH");
      await l2.mset([{ key: "c", value: "3", ttlMs: 30_000 }]);
      expect((await l2.mget(["a", "b", "c"])).map((v) => v && [...v])).toEqual([[...Buffer.from("1")], [0, 255, 13, 10], [...Buffer.from("3")]]);
      expect(await l2.pttl("a")).toBeGreaterThan(55_000);
      expect(await l2.pttl("b")).toBeLessThanOrEqual(5_000);
      expect(await l2.pttl("c")).toBeGreaterThan(25_000);
      expect(await l2.pttl("c")).toBeLessThanOrEqual(30_000);
    } finally {
      await l2.close();
    }
  });
});

describe("chaos wrappers", () => {
  const open = () => createSingleL2({ url: url(), prefix: randomPrefix() });

  test("alwaysFailing rejects every IO call with L2UnavailableError", async () => {
    const inner = await open();
    const store = alwaysFailing(inner);
    await expect(store.get("k")).rejects.toBeInstanceOf(L2UnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(L2UnavailableError);
    expect(store.nodes()).toHaveLength(1);
    await store.close();
  });

  test("delayed adds latency before each call", async () => {
    const store = delayed(await open(), 60);
    const started = performance.now();
    expect(await store.get("k")).toBeNull();
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    await store.close();
  });

  test("FaultInjector fails the next N calls, then recovers", async () => {
    const store = new FaultInjector(await open());
    store.failNext(2);
    await expect(store.get("k")).rejects.toBeInstanceOf(L2UnavailableError);
    await expect(store.set("k", "v", 1_000)).rejects.toBeInstanceOf(L2UnavailableError);
    await store.set("k", "v", 1_000);
    expect((await store.get("k"))!.toString()).toBe("v");
    expect(store.failures).toBe(2);
    expect(store.calls).toMatchObject({ get: 2, set: 2 });
    await store.close();
  });

  test("FaultInjector fails while the flag is set, only for chosen methods", async () => {
    const store = new FaultInjector(await open());
    store.setFailing(true).only(["get"]);
    await expect(store.get("k")).rejects.toThrow(/injected/);
    await store.set("k", "v", 1_000); // writes are not faulted
    store.setFailing(false);
    expect((await store.get("k"))!.toString()).toBe("v");
    await store.close();
  });

  test("FaultInjector can hang calls until reset", async () => {
    const store = new FaultInjector(await open());
    store.setLatency(Number.POSITIVE_INFINITY);
    let settled = false;
    const pending = store.get("k").then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    store.reset();
    await pending;
    expect(settled).toBe(true);
    await store.close();
  });
});
