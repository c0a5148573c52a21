/**
 * The first hour (issue 23): each configuration mistake a new user made, started as `npm start`
 * runs it, must stop the process before it listens with a line naming the variable, the value
 * and what is accepted — or, for values written with units, just work.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { EXIT_CODES } from "../../../lib/config/index.ts";
import { freePort } from "../embedded/ports.ts";
import { startRedisServer, type EmbeddedRedis } from "../embedded/redis.ts";
import { callApi, eventually } from "../testing/api.ts";
import { startHostProcess } from "../testing/hosts.ts";
import { runHostExpectingExit } from "../testing/spawn.ts";

describe("a setting the process cannot use stops it before it listens, naming the variable, the value and what is accepted", () => {
  test.concurrent.each([
    [{ CACHE_L2_MODE: "bogus" }, EXIT_CODES.config, 'CACHE_L2_MODE="bogus": not one of them; expected one of single, cluster, ring'],
    [
      { CACHE_L1_MAX_BYTES: "64 megs" },
      EXIT_CODES.config,
      'CACHE_L1_MAX_BYTES="64 megs": not a byte size; expected bytes as an integer or with a unit (64MiB, 512KiB, 1GB)',
    ],
    [
      { CACHE_DEFAULT_TTL_MS: "5 minutes" },
      EXIT_CODES.config,
      'CACHE_DEFAULT_TTL_MS="5 minutes": not a duration; expected a duration: ms as a bare number, or with a unit (500ms, 30s, 5m, 1h)',
    ],
    [
      { CACHE_TOKENS: "reader:reader=abc" },
      EXIT_CODES.config,
      'CACHE_TOKENS=<secret, 17 characters>: CACHE_TOKENS entry "reader": role must be one of viewer, operator, admin, got "reader"',
    ],
    [
      { REDIS_URL: "redis://127.0.0.1:1", CACHET_DEPENDENCY_WAIT_MS: "1s" },
      EXIT_CODES.dependency,
      "cannot reach Redis at redis://127.0.0.1:1 (REDIS_URL): ECONNREFUSED (tried for 1 s)",
    ],
    [
      { REDIS_URL: "redis://no-such-host.invalid:6379" },
      EXIT_CODES.dependency,
      "cannot reach Redis at redis://no-such-host.invalid:6379 (REDIS_URL): ENOTFOUND",
    ],
    [
      { DATABASE_URL: "postgres://cachet:pw@127.0.0.1:1/cachet", CACHET_DEPENDENCY_WAIT_MS: "1s" },
      EXIT_CODES.dependency,
      "cannot reach PostgreSQL at postgres://cachet:***@127.0.0.1:1/cachet (DATABASE_URL): ECONNREFUSED",
    ],
  ])(
    "%o → exit %i: %s",
    async (env, code, line) => {
      const result = await runHostExpectingExit({ env, timeoutMs: 90_000 });
      expect(result.code, result.output).toBe(code);
      expect(result.output).toContain(line);
      expect(result.output).not.toContain("Cachet is running");
      expect(result.output).not.toContain("Reached the max retries");
    },
    120_000,
  );

  test("every problem is reported at once, one line each", async () => {
    const result = await runHostExpectingExit({ env: { CACHE_L2_MODE: "bogus", CACHE_GRACE_MS: "-1", WARMING_POLL_MS: "soon" }, timeoutMs: 90_000 });
    expect(result.code).toBe(EXIT_CODES.config);
    const lines = result.output.split("\n").filter((l) => /^ {2}[A-Z0-9_]+=/.test(l));
    expect(lines.map((l) => l.trim().split("=")[0])).toEqual(["CACHE_L2_MODE", "CACHE_GRACE_MS", "WARMING_POLL_MS"]);
  }, 120_000);
});

describe("values written with units work, a cache-manager-only process has /api/health, an origin that is down is a warning", () => {
  test("CACHE_L1_MAX_BYTES=64MiB and CACHE_DEFAULT_TTL_MS=5m, with an origin nobody answers for", async () => {
    const closed = await freePort();
    const originsFile = join(mkdtempSync(join(tmpdir(), "cachet-origins-")), "origins.json");
    writeFileSync(originsFile, JSON.stringify([{ namespace: "api:", kind: "http", url: `http://127.0.0.1:${closed}/items/{id}` }]));
    const host = await startHostProcess({
      services: ["cache-manager"],
      env: { CACHE_L1_MAX_BYTES: "64MiB", CACHE_DEFAULT_TTL_MS: "5m", CACHE_ORIGINS_FILE: originsFile },
    });
    await eventually(
      async () => host.output(),
      (out) => out.includes('origin "api:"'),
      10_000,
    );
    expect(host.output()).toContain(`origin "api:" does not answer at http://127.0.0.1:${closed}: ECONNREFUSED`);
    const health = await callApi(host.url, "GET", "/api/health", { token: null });
    expect(health.status).toBe(200);
    expect(health.body.services.map((s: { service: string }) => s.service)).toEqual(["cache-manager"]);

    const stats = await callApi(host.url, "GET", "/api/stats");
    expect(stats.body.l1.maxBytes).toBe(64 * 1024 * 1024);
    const key = `first-hour:${Date.now()}`;
    expect((await callApi(host.url, "PUT", `/api/cache/${key}`, { body: { value: 1 } })).status).toBe(200);
    const read = await callApi(host.url, "GET", `/api/cache/${key}`);
    expect(read.status).toBe(200);
    expect(read.body.ttlMs).toBeGreaterThan(4 * 60_000);
    expect(read.body.ttlMs).toBeLessThanOrEqual(5.5 * 60_000); // 5 min ± the TTL jitter
  }, 180_000);
});

describe("instances that share a Redis but not the databases", () => {
  let redis: EmbeddedRedis;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(() => redis?.stop());

  test("the second refuses to start, naming the first and what differs", async () => {
    const env = { REDIS_URL: redis.url, CACHET_DEPLOYMENT_CHECK: "refuse", CACHE_DEMO_LATENCY_MS: "0" };
    const first = await startHostProcess({ services: ["cache-manager", "invalidation"], env });
    const second = await runHostExpectingExit({ services: ["cache-manager", "invalidation"], env, timeoutMs: 90_000 });
    expect(second.code, second.output).toBe(EXIT_CODES.config);
    expect(second.output).toContain(`this process cannot share Redis at ${redis.url} with instance host-${first.pid}-`);
    expect(second.output).toMatch(/its databases are pglite:memory \(instance host-\d+-\w+\), this one's pglite:memory/);
    expect(second.output).toContain("set the same DATABASE_URL and CACHET_DATABASE_PREFIX");
    expect(first.alive()).toBe(true);
  }, 180_000);
});
