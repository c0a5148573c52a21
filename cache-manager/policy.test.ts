/**
 * The cache policy from Settings across two host processes over one Redis: a change made on one
 * is applied by the other (L1 reconfigured, namespace TTLs used), the entries L1 holds stay
 * readable from L1, every change is audited, and only admins may make one.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startRedisServer, type EmbeddedRedis } from "../infra/node-host/embedded/redis";
import { startHostProcesses, type HostProcess } from "../infra/node-host/testing/hosts";
import { callApi, eventually, type TestToken } from "../infra/node-host/testing/api";

let a: HostProcess;
let b: HostProcess;
let redis: EmbeddedRedis;
beforeAll(async () => {
  // Its own Redis: the policy is shared by every host on a Redis, and the other test files' hosts
  // share the suite's (an L1 bound set here would shrink their L1s mid-test).
  redis = await startRedisServer();
  const env = {
    REDIS_URL: redis.url,
    CACHET_KEY_PREFIX: `policy-${randomBytes(4).toString("hex")}:`,
    CACHE_L1_POLICY: "w-tinylfu",
    CACHE_L1_MAX_ENTRIES: "10000",
  };
  [a, b] = await startHostProcesses(2, { services: ["cache-manager"], env });
}, 180_000);
afterAll(() => redis?.stop());

const call = (host: HostProcess, method: string, path: string, body?: unknown, token: TestToken = "admin") => callApi(host.url, method, path, { body, token });
const l1Of = async (host: HostProcess) => (await call(host, "GET", "/api/stats")).body.l1;

describe("the cache policy across two instances", () => {
  test("an L1 change made on one instance is applied by the other, whose L1 keeps serving what it held", async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `test:held-${i}`);
    for (const key of keys) expect((await call(a, "PUT", `/api/cache/${key}`, { value: key })).status).toBe(200);
    for (const key of keys) await call(b, "GET", `/api/cache/${key}`); // fills b's L1 from L2
    expect((await call(b, "GET", `/api/cache/${keys[0]}`)).body.source).toBe("l1");

    const put = await call(a, "PUT", "/api/cache-policy/l1", { policy: "lru", maxEntries: 5_000, maxBytes: 8 * 1024 * 1024 });
    expect(put.status).toBe(200);
    expect(put.body.change).toMatchObject({ target: "l1", before: null, after: { policy: "lru", maxEntries: 5_000, maxBytes: 8 * 1024 * 1024 } });
    expect(put.body.policy.instance.l1).toMatchObject({ policy: "lru", maxEntries: 5_000 });

    const applied = await eventually(
      () => l1Of(b),
      (l1) => l1.policy === "lru",
    );
    expect(applied).toMatchObject({ policy: "lru", maxEntries: 5_000, maxBytes: 8 * 1024 * 1024 });
    expect(applied.entries).toBeGreaterThanOrEqual(keys.length);
    for (const key of keys) expect((await call(b, "GET", `/api/cache/${key}`)).body).toMatchObject({ value: key, source: "l1" });

    const view = (await call(b, "GET", "/api/cache-policy")).body;
    expect(view.l1).toEqual({ policy: "lru", maxEntries: 5_000, maxBytes: 8 * 1024 * 1024, source: "runtime" });
    expect(view.defaults).toEqual({ defaultTtlMs: 300_000, l3: expect.any(Boolean), l3RetentionMs: 168 * 3_600_000 }); // the environment's

    expect((await call(b, "DELETE", "/api/cache-policy/l1")).status).toBe(200);
    expect(
      await eventually(
        () => l1Of(a),
        (l1) => l1.policy === "w-tinylfu",
      ),
    ).toMatchObject({ policy: "w-tinylfu", maxEntries: 10_000 });
    expect((await call(a, "DELETE", "/api/cache-policy/l1")).status).toBe(404);
  });

  test("a namespace's default TTL set on one instance applies to writes on the other", async () => {
    const put = await call(a, "PUT", "/api/cache-policy/namespaces/brief:", { defaultTtlMs: 3_000, l3: false });
    expect(put.status).toBe(200);
    await eventually(
      async () => (await call(b, "GET", "/api/cache-policy")).body.namespaces,
      (namespaces) => namespaces.some((n: { namespace: string }) => n.namespace === "brief:"),
    );
    await call(b, "PUT", "/api/cache/brief:1", { value: 1 });
    await call(b, "PUT", "/api/cache/long:1", { value: 1 });
    const brief = (await call(b, "GET", "/api/cache/brief:1")).body.ttlMs;
    expect(brief).toBeGreaterThan(1_000);
    expect(brief).toBeLessThanOrEqual(3_000 * 1.1); // the cache's TTL jitter
    expect((await call(b, "GET", "/api/cache/long:1")).body.ttlMs).toBeGreaterThan(60_000);
    expect((await call(b, "DELETE", "/api/cache-policy/namespaces/brief:")).status).toBe(200);
    expect((await call(b, "DELETE", "/api/cache-policy/namespaces/brief:")).status).toBe(404);
  });

  test("every change is in the audit with the admin's token name, newest first", async () => {
    const who = (await call(a, "GET", "/api/auth/whoami")).body.userID;
    await call(a, "PUT", "/api/cache-policy/namespaces/audited:", { l3: true, l3RetentionMs: 86_400_000 });
    const page = await call(a, "GET", "/api/cache-policy/audit?limit=1");
    expect(page.status).toBe(200);
    expect(page.body.entries).toEqual([
      expect.objectContaining({ actor: who, target: "namespace audited:", before: null, after: { l3: true, l3RetentionMs: 86_400_000 } }),
    ]);
    const older = await call(a, "GET", `/api/cache-policy/audit?limit=50&beforeId=${page.body.entries[0].id}`);
    expect(older.body.entries.map((e: { target: string }) => e.target)).toContain("l1");
  });

  test.each(["viewer", "operator"] as const)("a %s token may neither read nor change the policy (403)", async (token) => {
    expect((await call(a, "GET", "/api/cache-policy", undefined, token)).status).toBe(403);
    expect((await call(a, "PUT", "/api/cache-policy/l1", { policy: "lfu", maxEntries: 10, maxBytes: 4096 }, token)).status).toBe(403);
    expect((await call(a, "PUT", "/api/cache-policy/namespaces/x:", { l3: true }, token)).status).toBe(403);
    expect((await call(a, "GET", "/api/cache-policy/audit", undefined, token)).status).toBe(403);
    expect((await l1Of(a)).policy).not.toBe("lfu");
  });

  test.each([
    ["an unknown policy", "/api/cache-policy/l1", { policy: "fifo", maxEntries: 10, maxBytes: 4096 }, /"policy" must be one of lru, lfu, w-tinylfu/],
    ["a missing bound", "/api/cache-policy/l1", { policy: "lru", maxEntries: 10 }, /"maxBytes" must be an integer from 1024/],
    ["a namespace without ':'", "/api/cache-policy/namespaces/product", { l3: true }, /namespace must be a key prefix up to and including its first ':'/],
    ["a negative TTL", "/api/cache-policy/namespaces/p:", { defaultTtlMs: -1 }, /"defaultTtlMs" must be an integer from 1000/],
    ["an empty policy", "/api/cache-policy/namespaces/p:", {}, /set at least one of/],
  ])("refuses %s with 400 saying what to fix", async (_label, path, body, message) => {
    const response = await call(a, "PUT", path, body);
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(message);
  });

  test("refuses an audit page size out of range with 400", async () => {
    const response = await call(a, "GET", "/api/cache-policy/audit?limit=0");
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/limit must be an integer from 1 to 200/);
  });
});
