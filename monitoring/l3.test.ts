/**
 * The L3 figures and alert rules against real parts: a cache-manager process with the L3 tier on
 * (a PostgreSQL server reached through a fault proxy, so L3 can be cut) and a monitoring process,
 * over a Redis of this file's own. The copier's real lag travels from `/api/stats` through the
 * per-second report to `/metrics`, the snapshot and the instance row; cutting L3 fires the L3
 * rules (and the copier-lag rule reads the real lag), and letting it back resolves them.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startRedisServer, type EmbeddedRedis } from "../infra/node-host/embedded/redis.ts";
import { callApi, eventually } from "../infra/node-host/testing/api.ts";
import { startFaultProxy, type FaultProxy } from "../infra/node-host/testing/fault-proxy.ts";
import { startHostProcess, type HostProcess } from "../infra/node-host/testing/hosts.ts";
import { startPostgresServer, type TestPostgresServer } from "../infra/node-host/testing/postgres.ts";
import { generateKeyPair } from "../lib/l3-keyring.ts";
import { DEFAULT_ALERT_RULES } from "./core/alerts.ts";

let redis: EmbeddedRedis;
let postgres: TestPostgresServer;
let l3Link: FaultProxy;
let cache: HostProcess;
let monitoring: HostProcess;

beforeAll(async () => {
  [redis, postgres] = await Promise.all([startRedisServer(), startPostgresServer()]);
  l3Link = await startFaultProxy({ target: { host: "127.0.0.1", port: postgres.port } });
  const throughLink = postgres.url.replace(`:${postgres.port}/`, `:${l3Link.port}/`);
  cache = await startHostProcess({
    services: ["cache-manager"],
    env: { REDIS_URL: redis.url, DATABASE_URL: throughLink, CACHE_L3: "on", CACHE_L3_KEY: generateKeyPair("o1") },
    startTimeoutMs: 300_000,
  });
  // Monitoring keeps its own database (in memory), so cutting L3 does not cut it.
  monitoring = await startHostProcess({
    services: ["monitoring"],
    env: { REDIS_URL: redis.url, DATABASE_URL: "", CACHET_ALERT_WINDOW_SECONDS: "3" },
    startTimeoutMs: 300_000,
  });
}, 600_000);

afterAll(async () => {
  await Promise.all([cache?.stop(), monitoring?.stop()]);
  await l3Link?.close();
  await Promise.all([redis?.stop(), postgres?.stop()]);
});

const put = async (key: string) =>
  expect((await callApi(cache.url, "PUT", `/api/cache/${key}`, { body: { value: { key }, ttlSeconds: 600 } })).status).toBe(200);
const stats = async () => (await callApi(cache.url, "GET", "/api/stats", { token: "viewer" })).body;
const snapshot = async () => (await callApi(monitoring.url, "GET", "/api/metrics", { token: "viewer" })).body;
const alerts = async () => (await callApi(monitoring.url, "GET", "/api/alerts", { token: "viewer" })).body;
/** The value of `name`'s series for `instance` in monitoring's `/metrics`, or undefined. */
async function exposed(name: string, instance: string, labels = ""): Promise<number | undefined> {
  const text = await (await fetch(`${monitoring.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}instance="${instance}",`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("L3 in monitoring, with a real copier and a real L3 cut", () => {
  test(
    "the copier's lag reaches /metrics, the snapshot and the instance row as /api/stats reports it (under the alert threshold, then 0 once caught up)",
    { timeout: 60_000 },
    async () => {
      for (let i = 0; i < 20; i++) await put(`obs:${i}`);
      const own = await eventually(stats, (s) => typeof s?.l3?.copierLagMs === "number" && s.l3.copied >= 20, 30_000);
      expect(own.l3).toMatchObject({ state: "ok", copyFailures: 0 });
      expect(own.l3.copierLagMs).toBeGreaterThan(0);
      // A healthy copier (a 100 ms to 1 s wait, then the copy) stays far below the l3-copier-lag rule's threshold.
      const lagRule = DEFAULT_ALERT_RULES.find((r) => r.id === "l3-copier-lag")!;
      expect(own.l3.copierLagMs / 1000).toBeLessThan(lagRule.threshold);

      // Once the copier has caught up (a blocking read found nothing new) its lag is 0, and stays
      // 0 while nothing is written: every view must show that value, read after /api/stats (the
      // snapshot is built once a second, so it may trail).
      const views = async () => {
        const lagSeconds = (await stats()).l3.copierLagMs / 1000;
        const row = (await callApi(monitoring.url, "GET", "/api/instances", { token: "viewer" })).body?.instances?.find(
          (r: any) => r.service === "cache-manager",
        );
        const summary = (await snapshot())?.l3;
        return { lagSeconds, row, summary, metric: row && (await exposed("cache_l3_copier_lag_seconds", row.instanceId)) };
      };
      const seen = await eventually(
        views,
        (v) => v.lagSeconds === 0 && [v.row?.l3CopierLagSeconds, v.summary?.copierLagSeconds, v.metric].every((x) => x === 0),
      );
      expect(seen.row).toMatchObject({ l3State: "ok", l3PendingInvalidations: 0, l3CopierLagSeconds: 0 });
      expect(seen.summary).toMatchObject({ state: "ok", copierLagSeconds: 0 });
      expect(seen.metric).toBe(0);

      // The l3-copier-lag rule reads that lag (a missing lag raises nothing): "below 0.5 s" fires
      // with the value 0, "above 0.5 s" resolves.
      const withRule = (op: "<" | ">") =>
        callApi(monitoring.url, "PUT", "/api/alerts/rules", { body: { rules: [{ ...lagRule, op, threshold: 0.5, forSeconds: 0 }] } });
      expect((await withRule("<")).status).toBe(200);
      const fired = await eventually(alerts, (v) => v?.firing?.length === 1);
      expect(fired.firing.map((e: any) => [e.ruleId, e.value])).toEqual([["l3-copier-lag", 0]]);
      expect((await withRule(">")).status).toBe(200);
      expect((await eventually(alerts, (v) => v?.firing?.length === 0)).firing).toEqual([]);
    },
  );

  test("cutting L3 fires l3-degraded and l3-copy-failures; letting it back resolves them", { timeout: 120_000 }, async () => {
    // The default L3 rules, with durations a test can wait for.
    const rules = DEFAULT_ALERT_RULES.filter((r) => r.id === "l3-degraded" || r.id === "l3-copy-failures").map((r) => ({ ...r, forSeconds: 2 }));
    expect((await callApi(monitoring.url, "PUT", "/api/alerts/rules", { body: { rules } })).status).toBe(200);
    // The rules keep their descriptions (why the rule, why the threshold) through the API.
    expect((await callApi(monitoring.url, "GET", "/api/alerts/rules", { token: "viewer" })).body.rules.map((r: any) => r.description)).toEqual(
      rules.map((r) => r.description),
    );
    const instanceId = (await snapshot()).perInstance.find((r: any) => r.service === "cache-manager").instanceId;
    const firing = (view: any) => (view?.firing ?? []).map((e: any) => e.ruleId).sort();

    l3Link.setMode("refuse");
    for (let i = 0; i < 5; i++) await put(`obs:cut:${i}`);
    const cut = await eventually(stats, (s) => s?.l3?.copyFailures > 0 && s.l3.state === "degraded", 30_000);
    expect(cut.l3).toMatchObject({ state: "degraded" });
    expect(cut.l3.pendingInvalidations).toBeGreaterThan(0);
    // Failures keep coming while L3 is cut, so the 3 s window sees them for the rule's 2 s.
    const writer = setInterval(() => void put(`obs:cut:${Date.now()}`).catch(() => undefined), 300);
    try {
      expect(firing(await eventually(alerts, (v) => firing(v).length === 2, 30_000))).toEqual(["l3-copy-failures", "l3-degraded"]);
      expect(await exposed("cache_l3_state", instanceId, 'state="degraded",')).toBe(1);
      expect(await exposed("cache_l3_copy_failures_total", instanceId)).toBeGreaterThan(0);
    } finally {
      clearInterval(writer);
    }

    l3Link.setMode("pass");
    const back = await eventually(stats, (s) => s?.l3?.state === "ok", 60_000);
    expect(back.l3.pendingInvalidations).toBe(0);
    const resolved = await eventually(alerts, (v) => firing(v).length === 0, 30_000);
    expect(firing(resolved)).toEqual([]);
    expect(
      resolved.history
        .filter((e: any) => e.state === "resolved" && e.ruleId !== "l3-copier-lag")
        .map((e: any) => e.ruleId)
        .sort(),
    ).toEqual(["l3-copy-failures", "l3-degraded"]);
  });
});
