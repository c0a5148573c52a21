/** The cache endpoints through a real host process: read-through, writes, deletes, bad input. */
import { beforeAll, describe, expect, test } from "vitest";
import { startHostProcess, type HostProcess } from "../infra/node-host/testing/hosts";
import { callApi } from "../infra/node-host/testing/api";

let host: HostProcess;
beforeAll(async () => {
  host = await startHostProcess({ services: ["cache-manager"], env: { CACHE_DEMO_LATENCY_MS: "30" } });
});

const call = (method: string, key: string, body?: unknown, raw?: string) => callApi(host.url, method, `/api/cache/${encodeURIComponent(key)}`, { body, raw });

const unique = () => `test:${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

describe("cache endpoints", () => {
  test("a demo product is read through from the origin, then served from L1", async () => {
    const id = 1 + Math.floor(Math.random() * 10_000);
    // Other test files share this Redis and warm product keys: start from a miss.
    expect((await call("DELETE", `product:${id}`)).status).toBe(200);
    const first = await call("GET", `product:${id}`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ key: `product:${id}`, source: "origin", value: { id, name: `Product ${id}` } });
    expect(first.body.fetchTimeMs).toBeGreaterThanOrEqual(30);
    const second = await call("GET", `product:${id}`);
    expect(second.body).toMatchObject({ source: "l1", value: { id } });
    expect(second.body.ttlMs).toBeGreaterThan(0);
  });

  test("a key with no origin that is not cached → 404 not_found", async () => {
    const { status, body } = await call("GET", unique());
    expect(status).toBe(404);
    expect(body.code).toBe("not_found");
  });

  test("a product id the origin does not have → 404", async () => {
    expect((await call("GET", "product:99999999")).status).toBe(404);
  });

  test("put, get and delete a key with tags", async () => {
    const key = unique();
    expect((await call("PUT", key, { value: { a: 1 }, ttlSeconds: 60, tags: ["t1"] })).body).toEqual({ key, stored: true, writeMode: "cache-only" });
    expect((await call("GET", key)).body).toMatchObject({ value: { a: 1 }, tags: ["t1"], source: "l1" });
    expect((await call("DELETE", key)).body).toEqual({ key, deleted: true });
    expect((await call("GET", key)).status).toBe(404);
  });

  test("write-through updates the origin, so a read after a delete loads the new value", async () => {
    const key = `product:${1 + Math.floor(Math.random() * 10_000)}`;
    const current = (await call("GET", key)).body.value;
    const updated = { ...current, name: "Renamed" };
    expect((await call("PUT", key, { value: updated, writeMode: "write-through" })).status).toBe(200);
    await call("DELETE", key);
    expect((await call("GET", key)).body).toMatchObject({ source: "origin", value: { name: "Renamed" } });
  });

  test.each([
    ["a key over 1 KiB", "GET", "k".repeat(1100), undefined, undefined, /1024 bytes/],
    ["a key with control characters", "GET", "bad\u0001key", undefined, undefined, /control characters/],
    ["invalid JSON", "PUT", "test:x", undefined, "{nope", /not valid JSON/],
    ["a negative TTL", "PUT", "test:x", { value: 1, ttlSeconds: -5 }, undefined, /ttlSeconds/],
    ["an unknown write mode", "PUT", "test:x", { value: 1, writeMode: "sideways" }, undefined, /expected "cache-only" or "write-through" or "write-behind"/],
    ["a missing value", "PUT", "test:x", { ttlSeconds: 5 }, undefined, /value/],
    ["too many tags", "PUT", "test:x", { value: 1, tags: Array.from({ length: 40 }, (_, i) => `t${i}`) }, undefined, /at most 32 tags/],
    ["write-through without a writer", "PUT", "test:x", { value: 1, writeMode: "write-through" }, undefined, /needs an origin with a writer/],
  ])("%s → 400 with a message", async (_name, method, key, body, raw, message) => {
    const response = await call(method, key, body, raw);
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(message);
  });

  test("a value nested too deep for JSON to encode → 400 saying it cannot be stored, and nothing is written", async () => {
    const key = unique();
    const deep = "[".repeat(200_000) + "]".repeat(200_000);
    const response = await call("PUT", key, undefined, `{"value":${deep}}`);
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/^"value" cannot be stored: /);
    expect((await call("GET", key)).status).toBe(404);
  });

  test("a body over the limit → 413", async () => {
    const response = await call("PUT", "test:big", { value: "x".repeat(2 * 1024 * 1024) });
    expect(response.status).toBe(413);
  });

  test("an empty key never reaches the endpoint (404 from the router)", async () => {
    expect((await call("GET", "")).status).toBe(404);
  });
});
