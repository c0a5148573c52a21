/**
 * Batch, key explorer, admin and internal endpoints through a real host process. The host gets a
 * Redis of its own: the flush test deletes every cache key, which must not touch other test files.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startRedisServer, type EmbeddedRedis } from "../infra/node-host/embedded/redis";
import { startHostProcess, type HostProcess } from "../infra/node-host/testing/hosts";
import { callApi, type TestToken as Token } from "../infra/node-host/testing/api";
import { TEST_INTERNAL_SECRET } from "../infra/node-host/testing/tokens";
import { Redis } from "ioredis";
import { markerOf } from "./core/l2/fence";

let redis: EmbeddedRedis;
let host: HostProcess;
beforeAll(async () => {
  redis = await startRedisServer();
  host = await startHostProcess({ services: ["cache-manager"], env: { REDIS_URL: redis.url, CACHE_DEMO_LATENCY_MS: "0" } });
});
afterAll(async () => {
  await host?.stop();
  await redis?.stop();
});

const call = (method: string, path: string, body?: unknown, token: Token = "admin", headers: Record<string, string> = {}) =>
  callApi(host.url, method, path, { body, token, headers });

const internal = (method: string, path: string, body?: unknown) => call(method, path, body, "admin", { "x-cachet-internal": TEST_INTERNAL_SECRET });

const prefix = () => `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}:`;

async function seed(keys: string[], value: (key: string) => unknown = (key) => ({ key }), tags?: string[]) {
  const response = await call("POST", "/api/batch/set", { entries: keys.map((key) => ({ key, value: value(key), ttlSeconds: 600, tags })) }, "operator");
  expect(response.status).toBe(200);
}

describe("batch endpoints", () => {
  test("a batch set, get and delete round trip, with misses reported as found: false", async () => {
    const p = prefix();
    const keys = [`${p}a`, `${p}b`, `${p}c`];
    await seed(keys, (key) => ({ key }), ["batch"]);
    const got = await call("POST", "/api/batch/get", { keys: [...keys, `${p}missing`] }, "viewer");
    expect(got.status).toBe(200);
    expect(got.body.entries).toHaveLength(4);
    expect(got.body.entries[0]).toMatchObject({ key: keys[0], found: true, value: { key: keys[0] }, source: "l1", tags: ["batch"] });
    expect(got.body.entries[0].ttlMs).toBeGreaterThan(0);
    expect(got.body.entries[3]).toEqual({ key: `${p}missing`, found: false });

    expect((await call("POST", "/api/batch/delete", { keys }, "operator")).body).toEqual({ deleted: 3 });
    const after = await call("POST", "/api/batch/get", { keys }, "viewer");
    expect(after.body.entries.map((e: { found: boolean }) => e.found)).toEqual([false, false, false]);
  });

  test("a batch reads demo products through from the origin", async () => {
    const got = await call("POST", "/api/batch/get", { keys: ["product:1", "product:2"] }, "viewer");
    expect(got.body.entries).toMatchObject([
      { found: true, value: { id: 1 } },
      { found: true, value: { id: 2 } },
    ]);
  });

  test.each([
    ["get", { keys: Array.from({ length: 1001 }, (_, i) => `k:${i}`) }],
    ["delete", { keys: Array.from({ length: 1001 }, (_, i) => `k:${i}`) }],
    ["set", { entries: Array.from({ length: 1001 }, (_, i) => ({ key: `k:${i}`, value: i })) }],
  ])("batch %s with 1,001 items → 400", async (kind, body) => {
    const response = await call("POST", `/api/batch/${kind}`, body);
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/at most 1000/);
  });

  test.each([
    ["an empty key list", "get", { keys: [] }, /non-empty/],
    ["a bad key", "get", { keys: ["ok", "bad\u0001"] }, /keys\[1\].*control characters/],
    ["a missing value", "set", { entries: [{ key: "x:1" }] }, /entries\[0\].*value/],
    ["a negative TTL", "set", { entries: [{ key: "x:1", value: 1, ttlSeconds: -1 }] }, /ttlSeconds/],
  ])("%s → 400 with a message", async (_name, kind, body, message) => {
    const response = await call("POST", `/api/batch/${kind}`, body);
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(message);
  });

  test("a viewer cannot write a batch (403)", async () => {
    expect((await call("POST", "/api/batch/set", { entries: [{ key: "x:1", value: 1 }] }, "viewer")).status).toBe(403);
    expect((await call("POST", "/api/batch/delete", { keys: ["x:1"] }, "viewer")).status).toBe(403);
  });
});

describe("key explorer", () => {
  test("listing pages with the cursor until 0 and finds every seeded key with its metadata", async () => {
    const p = prefix();
    const keys = Array.from({ length: 25 }, (_, i) => `${p}${i}`);
    await seed(keys, (key) => ({ key }), ["explorer"]);
    const found = new Map<string, any>();
    let cursor = "0";
    let pages = 0;
    do {
      const page = await call("GET", `/api/keys?match=${encodeURIComponent(`${p}*`)}&count=10&cursor=${cursor}`, undefined, "viewer");
      expect(page.status).toBe(200);
      for (const key of page.body.keys) found.set(key.key, key);
      cursor = page.body.cursor;
      pages += 1;
    } while (cursor !== "0" && pages < 100);
    expect(cursor).toBe("0");
    expect([...found.keys()].sort()).toEqual([...keys].sort());
    const one = found.get(keys[0]);
    expect(one.tiers).toEqual(["l1", "l2"]);
    expect(one.tags).toEqual(["explorer"]);
    expect(one.ttlMs).toBeGreaterThan(0);
    expect(one.sizeBytes).toBeGreaterThan(0);
  });

  test("an exact key skips the scan and returns only that key", async () => {
    const p = prefix();
    await seed([`${p}exact`, `${p}exact2`]);
    const page = await call("GET", `/api/keys?match=${encodeURIComponent(`${p}exact`)}`, undefined, "viewer");
    expect(page.body).toMatchObject({ cursor: "0", scanned: 1 });
    expect(page.body.keys.map((k: { key: string }) => k.key)).toEqual([`${p}exact`]);
  });

  test("a PUT stores in L2 exactly JSON.stringify of its envelope, for values of every JSON kind", async () => {
    const key = `${prefix()}put-bytes`;
    const value = {
      s: 'quote " \\ é 漢字 🎉 \u2028 \ud800',
      n: [0, -0, -1.5, 1e21, 5e-324, 2 ** 53 + 2],
      b: [true, false, null],
      o: { b: 1, 2: "two", 1: "one", nested: [[{}]] },
    };
    const tags = ['t"q', "é"];
    expect((await call("PUT", `/api/cache/${encodeURIComponent(key)}`, { value, ttlSeconds: 60, tags })).status).toBe(200);
    const admin = new Redis(redis.url);
    try {
      const stored = await admin.get(`cachet:v:${key}`);
      const f = (JSON.parse(stored!) as { f: number }).f;
      expect(stored).toBe(JSON.stringify({ v: value, f, t: tags }));
    } finally {
      admin.disconnect();
    }
  });

  test("a key that holds only a fill lease's marker (a load in flight) is not listed or detailed as a value", async () => {
    const key = `${prefix()}loading`;
    const admin = new Redis(redis.url);
    try {
      await admin.set(`cachet:v:${key}`, markerOf("someone-loading"), "PX", 60_000);
      const page = await call("GET", `/api/keys?match=${encodeURIComponent(key)}`, undefined, "viewer");
      expect(page.body.keys).toEqual([]);
      expect((await call("GET", `/api/keys/${encodeURIComponent(key)}`, undefined, "viewer")).status).toBe(404);
    } finally {
      admin.disconnect();
    }
  });

  test("count above 1,000 → 400", async () => {
    const response = await call("GET", "/api/keys?count=1001", undefined, "viewer");
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/count/);
  });

  test("a key's detail previews the first 1 KiB of its JSON and says it was truncated", async () => {
    const p = prefix();
    await seed([`${p}big`], () => ({ text: "é".repeat(2000) }));
    await seed([`${p}small`], () => ({ n: 1 }));
    const big = await call("GET", `/api/keys/${encodeURIComponent(`${p}big`)}`, undefined, "viewer");
    expect(big.status).toBe(200);
    expect(big.body).toMatchObject({ key: `${p}big`, truncated: true, negative: false, tiers: ["l1", "l2"] });
    expect(Buffer.byteLength(big.body.preview)).toBeLessThanOrEqual(1024);
    expect(big.body.preview.startsWith('{"text":"éé')).toBe(true);
    expect(big.body.preview).not.toContain("\uFFFD");
    expect(big.body.valueBytes).toBeGreaterThan(1024);
    const small = await call("GET", `/api/keys/${encodeURIComponent(`${p}small`)}`, undefined, "viewer");
    expect(small.body).toMatchObject({ preview: '{"n":1}', truncated: false });
  });

  test("the detail of a key no tier holds → 404", async () => {
    expect((await call("GET", `/api/keys/${encodeURIComponent(`${prefix()}none`)}`, undefined, "viewer")).status).toBe(404);
  });
});

describe("admin endpoints", () => {
  test("a flush needs the admin role and confirm: true, then every key is gone", async () => {
    const p = prefix();
    await seed([`${p}1`, `${p}2`]);
    expect((await call("POST", "/api/flush", { confirm: true }, "operator")).status).toBe(403);
    const unconfirmed = await call("POST", "/api/flush", { confirm: false });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.body.message).toMatch(/confirm/);
    const flushed = await call("POST", "/api/flush", { confirm: true });
    expect(flushed.status).toBe(200);
    expect(flushed.body.deleted).toBeGreaterThanOrEqual(2);
    const after = await call("POST", "/api/batch/get", { keys: [`${p}1`, `${p}2`] }, "viewer");
    expect(after.body.entries.map((e: { found: boolean }) => e.found)).toEqual([false, false]);
  });

  test("origins can be listed, added, replaced and removed; a bad config → 400", async () => {
    const ns = `o${Date.now().toString(36)}:`;
    const listed = await call("GET", "/api/origins", undefined, "viewer");
    expect(listed.status).toBe(200);
    expect(listed.body.origins.map((o: { namespace: string }) => o.namespace)).toContain("product:");

    const path = `/api/origins/${encodeURIComponent(ns)}`;
    expect((await call("PUT", path, { kind: "http", url: "http://127.0.0.1:1/{id}" }, "operator")).status).toBe(403);
    const put = await call("PUT", path, { kind: "http", url: "http://127.0.0.1:1/{id}", timeoutMs: 500 });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ namespace: ns, kind: "http", source: "runtime" });
    const after = await call("GET", "/api/origins", undefined, "viewer");
    expect(after.body.origins.find((o: { namespace: string }) => o.namespace === ns)).toMatchObject({ kind: "http" });

    const bad = await call("PUT", path, { kind: "http", url: "not a url", timeoutMs: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/url/i);

    expect((await call("DELETE", path)).body).toEqual({ namespace: ns, removed: true });
    expect((await call("DELETE", path)).status).toBe(404);
  });

  test("origin header values are write-only: shown redacted, kept when sent back redacted, never in any response", async () => {
    const ns = `sec${Date.now().toString(36)}:`;
    const path = `/api/origins/${encodeURIComponent(ns)}`;
    const secret = `Bearer upstream-${Date.now()}`;
    const put = await call("PUT", path, { kind: "http", url: "http://127.0.0.1:1/{id}", headers: { authorization: secret, "x-team": "blue" } });
    expect(put.status).toBe(200);
    expect(put.body.config.headers).toEqual({ authorization: "<redacted>", "x-team": "<redacted>" });
    const listed = await call("GET", "/api/origins", undefined, "viewer");
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect(listed.body.origins.find((o: { namespace: string }) => o.namespace === ns).config.headers.authorization).toBe("<redacted>");
    // Sent back as listed (timeout changed): the stored secret is kept, the other header replaced.
    const edited = await call("PUT", path, {
      kind: "http",
      url: "http://127.0.0.1:1/{id}",
      timeoutMs: 700,
      headers: { authorization: "<redacted>", "x-team": "red" },
    });
    expect(edited.status).toBe(200);
    const unknown = await call("PUT", path, { kind: "http", url: "http://127.0.0.1:1/{id}", headers: { "x-new": "<redacted>" } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toMatch(/header "x-new" is <redacted>, but no value is stored/);
    expect((await call("DELETE", path)).status).toBe(200);
  });
});

describe("internal endpoints", () => {
  test.each([
    ["POST", "/internal/cache/count", { pattern: "*" }],
    ["POST", "/internal/cache/store", { entries: [{ key: "x:1", value: 1 }] }],
  ])("%s %s is not reachable from outside (404), even for an admin", async (method, path, body) => {
    expect((await call(method, path, body)).status).toBe(404);
  });

  test("service-to-service calls store and count; what they store is read back through the public API", async () => {
    const p = prefix();
    const stored = await internal("POST", "/internal/cache/store", {
      entries: [
        { key: `${p}a`, value: 1, tags: [`${p}tag`] },
        { key: `${p}b`, value: 2, tags: [`${p}tag`] },
        { key: `${p}c`, value: 3 },
      ],
    });
    expect(stored.body).toEqual({ stored: 3 });
    expect((await internal("POST", "/internal/cache/count", { pattern: `${p}*` })).body).toMatchObject({ count: 3, exact: true });
    const read = await call("POST", "/api/batch/get", { keys: [`${p}a`, `${p}z`] }, "viewer");
    expect(read.body.entries).toMatchObject([
      { key: `${p}a`, found: true, value: 1, tags: [`${p}tag`] },
      { key: `${p}z`, found: false },
    ]);
    expect((await internal("POST", "/internal/cache/count", {})).status).toBe(400);
  });

  test.each([
    ["POST", "/internal/cache/invalidate", { keys: ["x:1"] }],
    ["POST", "/internal/cache/load", { keys: ["x:1"] }],
    ["GET", "/internal/cache/hot-keys", undefined],
  ])("the removed %s %s is gone for service-to-service callers too (404)", async (method, path, body) => {
    expect((await internal(method, path, body)).status).toBe(404);
  });

  test("warming's origin-load returns fill fences; store refuses an entry whose key changed since its fence, and a fence that is not one", async () => {
    const keys = ["product:41", "product:42"];
    await internal("POST", "/internal/cache/invalidate", { keys });
    const loaded = await internal("POST", "/internal/cache/origin-load", { keys });
    const [changed, kept] = loaded.body.entries as Array<{ key: string; found: boolean; value: unknown; fence: string }>;
    expect([changed.found, typeof changed.fence, kept.found, typeof kept.fence]).toEqual([true, "string", true, "string"]);
    expect((await call("PUT", `/api/cache/${changed.key}`, { value: "written meanwhile" }, "operator")).status).toBe(200);
    const stored = await internal("POST", "/internal/cache/store", { entries: [changed, kept].map(({ key, value, fence }) => ({ key, value, fence })) });
    expect(stored.body).toEqual({ stored: 1 });
    expect((await call("GET", `/api/cache/${changed.key}`, undefined, "viewer")).body.value).toBe("written meanwhile");
    const notString = await internal("POST", "/internal/cache/store", { entries: [{ key: kept.key, value: 1, fence: 7 }] });
    expect([notString.status, notString.body.message]).toEqual([400, expect.stringMatching(/fence.*expected a string/)]);
    const tooLong = await internal("POST", "/internal/cache/store", { entries: [{ key: kept.key, value: 1, fence: "#".repeat(200) }] });
    expect([tooLong.status, tooLong.body.message]).toEqual([400, expect.stringMatching(/"fence" must be the string origin-load returned/)]);
  });
});
