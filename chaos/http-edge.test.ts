/**
 * The HTTP edge through host processes: per-token rate limits shared through Redis (429 with
 * Retry-After), CORS only for the origins configured in encore.app, and request body limits.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { callApi } from "../infra/node-host/testing/api";
import { TEST_TOKENS } from "../infra/node-host/testing/tokens";
import { appRoot, Lab, sleep, type Host } from "./harness";

const lab = new Lab();
let a: Host;
let b: Host;

beforeAll(async () => {
  const redis = await lab.redis();
  const env = { REDIS_URL: redis.url, CACHE_RATE_LIMIT: "2", CACHE_RATE_LIMIT_BURST: "4", CACHE_RATE_LIMIT_TIMEOUT_MS: "5000" };
  [a, b] = await lab.hosts(2, { services: ["cache-manager"], env });
}, 180_000);
afterAll(() => lab.close(), 60_000);

describe("rate limiting per token", () => {
  test("past its burst a token gets 429 with Retry-After, on every instance; other tokens are unaffected; it refills", async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await callApi(a.url, "GET", "/api/auth/whoami", { token: "viewer" })).status);
    expect(statuses).toEqual([200, 200, 200, 200]);
    const refused = await callApi(a.url, "GET", "/api/auth/whoami", { token: "viewer" });
    expect([refused.status, refused.body.code]).toEqual([429, "resource_exhausted"]);
    expect(refused.body.message).toMatch(/rate limit of 2 requests\/s/);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(refused.body.details).toEqual({ retryAfterSeconds: retryAfter });
    // The bucket lives in Redis: the other instance refuses the same token too.
    expect((await callApi(b.url, "GET", "/api/auth/whoami", { token: "viewer" })).status).toBe(429);
    expect((await callApi(b.url, "GET", "/api/auth/whoami", { token: "operator" })).status).toBe(200);
    await sleep(retryAfter * 1000);
    expect((await callApi(a.url, "GET", "/api/auth/whoami", { token: "viewer" })).status).toBe(200);
  });

  test("requests without a valid token are refused before they count (401, not 429)", async () => {
    for (let i = 0; i < 6; i++) expect((await callApi(a.url, "GET", "/api/auth/whoami", { token: null })).status).toBe(401);
  });
});

describe("CORS from encore.app's global_cors", () => {
  const cors = JSON.parse(readFileSync(join(appRoot, "encore.app"), "utf8")).global_cors;
  const allowed: string = cors.allow_origins_with_credentials[0];
  const evil = "https://evil.example";
  const preflight = (origin: string) =>
    fetch(`${a.url}/api/cache/product:1`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
    });

  test("a preflight from a configured origin is allowed, with credentials and the Authorization header", async () => {
    const response = await preflight(allowed);
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(allowed);
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    expect(response.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    expect(response.headers.get("access-control-allow-methods")).toMatch(/PUT/);
  });

  test("a preflight from any other origin gets no CORS headers", async () => {
    const response = await preflight(evil);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    expect(response.headers.get("access-control-allow-credentials")).toBeNull();
  });

  test("simple and authenticated requests: CORS headers for the configured origin only", async () => {
    const simple = (origin: string) => fetch(`${a.url}/api/health/cache-manager`, { headers: { origin } });
    expect((await simple(allowed)).headers.get("access-control-allow-origin")).toBe(allowed);
    expect((await simple(evil)).headers.get("access-control-allow-origin")).toBeNull();
    const authed = (origin: string) => fetch(`${a.url}/api/auth/whoami`, { headers: { origin, authorization: `Bearer ${TEST_TOKENS.admin}` } });
    const ok = await authed(allowed);
    expect([ok.headers.get("access-control-allow-origin"), ok.headers.get("access-control-allow-credentials")]).toEqual([allowed, "true"]);
    expect(ok.headers.get("access-control-expose-headers")).toMatch(/retry-after/);
    const refused = await authed(evil);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    expect(refused.headers.get("vary")).toMatch(/Origin/);
  });
});

describe("request size limits", () => {
  const MiB = 1024 * 1024;
  const body = (bytes: number) => JSON.stringify({ value: "x".repeat(bytes - 14) }); // {"value":"…"} is 12 bytes + 2 slack

  test("an endpoint's bodyLimit (PUT /api/cache/:key, 1 MiB) answers 413 above it", async () => {
    const over = await callApi(a.url, "PUT", "/api/cache/limit:over", { raw: body(MiB + 100) });
    expect([over.status, over.body?.code]).toEqual([413, "resource_exhausted"]);
    expect((await callApi(a.url, "PUT", "/api/cache/limit:under", { raw: body(MiB - 100), token: "operator" })).status).toBe(200);
  });

  test("the default limit (2 MiB, POST /api/batch/get) answers 413 above it, and only above it", async () => {
    const keys = (bytes: number) => JSON.stringify({ keys: ["k".repeat(bytes - 20)] });
    const over = await callApi(a.url, "POST", "/api/batch/get", { raw: keys(2 * MiB + 100), token: "scoped" });
    expect(over.status).toBe(413);
    const under = await callApi(a.url, "POST", "/api/batch/get", { raw: keys(2 * MiB - 100), token: "scoped" });
    expect(under.status).toBe(400); // read and decoded; refused by validation, not by size
  });
});
