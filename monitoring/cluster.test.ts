/**
 * The monitoring service against real cache-manager processes: three host processes serving
 * cache-manager and one serving monitoring, over a Redis of this file's own (so no other test's
 * instances report into it), real HTTP throughout. Also a real Prometheus server scraping
 * `/metrics`, and `promtool check metrics` on the exposition.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { freePort } from "../infra/node-host/embedded/ports.ts";
import { startRedisServer, type EmbeddedRedis } from "../infra/node-host/embedded/redis.ts";
import { callApi, eventually } from "../infra/node-host/testing/api.ts";
import { startHostProcess, type HostProcess } from "../infra/node-host/testing/hosts.ts";
import { TEST_TOKENS } from "../infra/node-host/testing/tokens.ts";
import { publishReport, type ReportContent } from "../lib/metrics/report.ts";
import { connectRedis } from "../lib/redis.ts";

let redis: EmbeddedRedis;
let caches: HostProcess[];
let monitoring: HostProcess;

beforeAll(async () => {
  redis = await startRedisServer();
  const env = { REDIS_URL: redis.url, CACHE_DEMO_LATENCY_MS: "2" };
  // The first process also serves monitoring (one process fewer to start on a busy machine).
  // The first alone, then two together: three cold starts at once overrun the host's start
  // timeout on a busy 2-core machine.
  monitoring = await startHostProcess({ services: ["cache-manager", "monitoring"], env: { ...env, CACHET_ALERT_WINDOW_SECONDS: "3" } });
  caches = [monitoring, ...(await Promise.all([0, 1].map(() => startHostProcess({ services: ["cache-manager"], env }))))];
}, 180_000);

afterAll(async () => {
  await Promise.all((caches ?? []).map((h) => h.stop()));
  await redis?.stop();
});

const call = (host: HostProcess, method: string, path: string, body?: unknown, token: "admin" | "viewer" | "operator" = "admin") =>
  callApi(host.url, method, path, { body, token });

/** What instance `i` does: known numbers of writes, L1 hits and origin misses. */
const plan = [
  { sets: 20, readsPerKey: 2, misses: 7 },
  { sets: 35, readsPerKey: 3, misses: 11 },
  { sets: 12, readsPerKey: 1, misses: 4 },
];
const expected = {
  sets: plan.reduce((s, p) => s + p.sets, 0),
  hitsL1: plan.reduce((s, p) => s + p.sets * p.readsPerKey, 0),
  misses: plan.reduce((s, p) => s + p.misses, 0),
};

async function runPlan(): Promise<void> {
  await Promise.all(
    caches.map(async (host, i) => {
      const { sets, readsPerKey, misses } = plan[i];
      for (let k = 0; k < sets; k++) expect((await call(host, "PUT", `/api/cache/test:mon-${i}-${k}`, { value: k })).status).toBe(200);
      for (let k = 0; k < sets; k++) {
        for (let r = 0; r < readsPerKey; r++) expect((await call(host, "GET", `/api/cache/test:mon-${i}-${k}`)).body.source).toBe("l1");
      }
      for (let k = 0; k < misses; k++) expect((await call(host, "GET", `/api/cache/product:${1 + i * 1000 + k}`)).body.source).toBe("origin");
    }),
  );
}

const snapshot = async () => (await call(monitoring, "GET", "/api/metrics", undefined, "viewer")).body;

describe("monitoring over three cache-manager processes", () => {
  beforeAll(runPlan, 60_000);

  test("the merged totals equal the operations performed, exactly", async () => {
    const s = await eventually(
      snapshot,
      (b) => b?.instances === 3 && b.totals.sets === expected.sets && b.totals.misses === expected.misses && b.totals.hitsL1 === expected.hitsL1,
    );
    expect(s.totals).toMatchObject({ sets: expected.sets, hitsL1: expected.hitsL1, hitsL2: 0, misses: expected.misses, loads: expected.misses });
    // The same as each instance's own counters, summed.
    const own = await Promise.all(caches.map((h) => call(h, "GET", "/api/stats")));
    expect(own.reduce((sum, r) => sum + r.body.counters.hits.l1, 0)).toBe(expected.hitsL1);
    expect(s.perInstance.map((r: any) => r.hits).sort((a: number, b: number) => a - b)).toEqual(plan.map((p) => p.sets * p.readsPerKey).sort((a, b) => a - b));
    expect(s.hitRatioTotal).toBeCloseTo(expected.hitsL1 / (expected.hitsL1 + expected.misses), 6);
    expect(s.sizes.l1Entries).toBe(expected.sets + expected.misses);
    expect(s.latencyMs.map((t: any) => t.tier).sort()).toEqual(expect.arrayContaining([]));
  });

  test("L3, not configured on these processes, is reported as off everywhere: stats, instances, snapshot, /metrics", async () => {
    const own = await Promise.all(caches.map((h) => call(h, "GET", "/api/stats")));
    for (const r of own) expect(r.body.l3).toEqual({ state: "off", breaker: "closed", pendingInvalidations: 0, copied: 0, copyFailures: 0, copierLagMs: null });
    expect(own.every((r) => r.body.counters.hits.l3 === 0)).toBe(true);
    const s = await eventually(snapshot, (b) => b?.l3?.instancesOff === 3);
    expect(s.l3).toMatchObject({ state: "off", instancesOk: 0, instancesDegraded: 0, copied: 0, pendingInvalidations: 0, copierLagSeconds: null });
    const rows = (await call(monitoring, "GET", "/api/instances", undefined, "viewer")).body.instances.filter((r: any) => r.service === "cache-manager");
    expect(rows.map((r: any) => [r.l3State, r.l3PendingInvalidations, r.l3CopierLagSeconds])).toEqual([
      ["off", 0, null],
      ["off", 0, null],
      ["off", 0, null],
    ]);
    const samples = parseExposition(await (await fetch(`${monitoring.url}/metrics`)).text());
    const off = samples.filter((x) => x.name === "cache_l3_state" && x.labels.state === "off");
    expect(off.map((x) => x.value)).toEqual([1, 1, 1]);
    expect(samples.filter((x) => x.name === "cache_l3_copied_total").map((x) => x.value)).toEqual([0, 0, 0]);
    expect(samples.filter((x) => x.name === "cache_l3_copier_lag_seconds")).toEqual([]); // no copier, no lag series
  });

  test("/metrics is valid Prometheus exposition with per-instance series and the required names", async () => {
    const response = await fetch(`${monitoring.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    for (const name of [
      "cache_hits_total",
      "cache_misses_total",
      "cache_request_duration_seconds",
      "cache_size_bytes",
      "cache_entries",
      "cache_evictions_total",
      "cache_invalidations_total",
      "cache_invalidated_keys_total",
      "cache_warming_runs_total",
      "cache_warmed_keys_total",
      "cache_errors_total",
    ])
      expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, "m"));
    const samples = parseExposition(text);
    const hits = samples.filter((s) => s.name === "cache_hits_total" && s.labels.tier === "l1");
    expect(new Set(hits.map((s) => s.labels.instance)).size).toBe(3);
    expect(hits.reduce((sum, s) => sum + s.value, 0)).toBe(expected.hitsL1);
    const counts = samples.filter((s) => s.name === "cache_request_duration_seconds_count" && s.labels.tier === "l1");
    expect(counts.reduce((sum, s) => sum + s.value, 0)).toBe(expected.hitsL1);
    const inf = samples.filter((s) => s.name === "cache_request_duration_seconds_bucket" && s.labels.le === "+Inf" && s.labels.tier === "l1");
    expect(inf.reduce((sum, s) => sum + s.value, 0)).toBe(expected.hitsL1);
    // No key ever becomes a label.
    expect(text).not.toMatch(/test:mon-/);
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.error, "promtool (Debian package prometheus) must be installed").toBeUndefined();
    expect(`${check.stdout}${check.stderr}`.trim()).toBe("");
    expect(check.status).toBe(0);
  });

  test("invalidation and warming reports are merged into their totals", async () => {
    const client = connectRedis(redis.url);
    const content = (n: number): ReportContent => ({
      counters: [
        { name: "invalidations", labels: { kind: "pattern" }, value: n },
        { name: "invalidated_keys", value: 10 * n },
        { name: "warming_runs", labels: { status: "succeeded" }, value: n + 1 },
        { name: "warmed_keys", value: 100 * n },
      ],
      gauges: [],
      sketches: [],
    });
    await publishReport({ redis: client, service: "invalidation", instanceId: "inv-a", intervalMs: 60_000, collect: () => content(2) });
    await publishReport({ redis: client, service: "warming", instanceId: "warm-a", intervalMs: 60_000, collect: () => content(3) });
    const s = await eventually(snapshot, (b) => b.totals.invalidations === 5);
    expect(s.totals).toMatchObject({ invalidations: 5, invalidatedKeys: 50, warmingRuns: 7, warmedKeys: 500 });
    expect(s.invalidationsByKind).toEqual([{ label: "pattern", count: 5 }]);
    const text = await (await fetch(`${monitoring.url}/metrics`)).text();
    expect(text).toMatch(/^cache_invalidations_total\{kind="pattern",instance="inv-a",service="invalidation"\} 2$/m);
    await client.del("cachet:metrics:report:invalidation:inv-a", "cachet:metrics:report:warming:warm-a");
    client.disconnect();
  });

  test("a real Prometheus server scrapes /metrics and PromQL returns the hit count", async () => {
    const prometheus = await startPrometheus(monitoring.port);
    try {
      const query = async () => {
        const r = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent('sum(cache_hits_total{tier="l1"})')}`).catch(() => null);
        const body = (await r?.json().catch(() => null)) as any;
        return body?.data?.result?.[0]?.value?.[1] as string | undefined;
      };
      expect(await eventually(query, (v) => v === String(expected.hitsL1), 20_000, 250)).toBe(String(expected.hitsL1));
    } finally {
      await prometheus.stop();
    }
  });

  test("top keys list the most hit and most missed keys across instances", async () => {
    const top = (await call(monitoring, "GET", "/api/metrics/top-keys", undefined, "viewer")).body;
    // Instance 1 read each of its keys 3 times: those lead the hit list.
    expect(top.hits[0].key).toMatch(/^test:mon-1-/);
    expect(top.hits[0].count).toBe(3);
    expect(top.misses.every((e: any) => e.key.startsWith("product:"))).toBe(true);
  });

  test("the live stream sends a snapshot every second", async () => {
    const ws = new WebSocket(`${monitoring.url.replace("http", "ws")}/api/metrics/live`, { headers: { authorization: `Bearer ${TEST_TOKENS.viewer}` } });
    const received: any[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on("message", (data) => {
        received.push(JSON.parse(data.toString()));
        if (received.length === 3) resolve();
      });
      ws.on("error", reject);
      setTimeout(() => reject(new Error(`only ${received.length} messages in 5 s`)), 5_000);
    });
    ws.close();
    const times = received.map((s) => Date.parse(s.at));
    expect(times[2] - times[0]).toBeGreaterThanOrEqual(1500);
    expect(times[2] - times[0]).toBeLessThan(4000);
    expect(received[2].totals.sets).toBe(expected.sets);
  });

  test("history serves the last minute at 1 s resolution", async () => {
    const body = await eventually(
      async () => (await call(monitoring, "GET", "/api/metrics/history?window=1m", undefined, "viewer")).body,
      (b) => b?.points?.length >= 3,
    );
    expect(body.resolution).toBe("1s");
    expect(body.points.at(-1)).toMatchObject({ instances: expect.any(Number), l1Entries: expect.any(Number) });
  });

  test("bad input is a 400 that says what to fix", async () => {
    const window = await call(monitoring, "GET", "/api/metrics/history?window=2h", undefined, "viewer");
    expect(window.status).toBe(400);
    expect(window.body).toMatchObject({ code: "invalid_argument", message: '"window" must be one of 1m, 5m, 1h, 24h; got "2h"' });
    const rule = await call(monitoring, "PUT", "/api/alerts/rules", { rules: [{ id: "r", metric: "miss_rate", op: ">", threshold: 50 }] });
    expect(rule.status).toBe(400);
    expect(rule.body.message).toMatch(/between 0 and 1 \(0\.5 = 50%\)/);
    expect((await call(monitoring, "PUT", "/api/alerts/rules", { rules: [] }, "viewer")).status).toBe(403);
    expect((await callApi(monitoring.url, "GET", "/api/metrics", { token: null })).status).toBe(401);
  });

  test("an alert rule fires under a miss-heavy workload and resolves when hits return", async () => {
    const rules = [{ id: "miss-test", name: "misses above half", metric: "miss_rate", op: ">", threshold: 0.5, forSeconds: 1, severity: "warning" }];
    expect((await call(monitoring, "PUT", "/api/alerts/rules", { rules })).status).toBe(200);
    const host = caches[0];
    const drive = async (ms: number, read: (n: number) => string) => {
      const until = Date.now() + ms;
      for (let n = 0; Date.now() < until; n++) await call(host, "GET", `/api/cache/${read(n)}`);
    };
    const alerts = () => call(monitoring, "GET", "/api/alerts", undefined, "viewer").then((r) => r.body);
    await drive(3_500, (n) => `product:${5000 + n}`); // every read a miss
    const firing = await eventually(alerts, (b) => b.firing.some((e: any) => e.ruleId === "miss-test"), 8_000);
    expect(firing.firing.find((e: any) => e.ruleId === "miss-test").value).toBeGreaterThan(0.5);
    await drive(5_000, () => "test:mon-0-0"); // every read an L1 hit
    const resolved = await eventually(alerts, (b) => b.history.some((e: any) => e.ruleId === "miss-test" && e.state === "resolved"), 8_000);
    expect(resolved.firing.filter((e: any) => e.ruleId === "miss-test")).toEqual([]);
  }, 40_000);

  test("a killed instance drops out of /api/instances within three intervals", async () => {
    const list = async () =>
      (await call(monitoring, "GET", "/api/instances", undefined, "viewer")).body.instances.filter((i: any) => i.service === "cache-manager");
    expect((await list()).length).toBe(3);
    expect((await list()).every((i: any) => i.health === "healthy" && Date.now() - Date.parse(i.lastReportAt) < 2000)).toBe(true);
    await caches[2].kill();
    const killedAt = Date.now();
    const after = await eventually(list, (rows) => rows.length === 2, 6_000, 50);
    const tookMs = Date.now() - killedAt;
    console.log(`killed instance dropped from /api/instances after ${tookMs} ms`);
    expect(after.length).toBe(2);
    // The report key expires three intervals (3 s) after its last write, which preceded the kill; 500 ms for polling on a busy machine.
    expect(tookMs).toBeLessThanOrEqual(3_500);
  });
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the text format's sample lines (names, label syntax, numeric values). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? []) {
      const eq = pair.indexOf("=");
      labels[pair.slice(0, eq)] = JSON.parse(pair.slice(eq + 1));
    }
    const value = match[3] === "+Inf" ? Infinity : Number(match[3]);
    if (Number.isNaN(value)) throw new Error(`not a number: ${line}`);
    samples.push({ name: match[1], labels, value });
  }
  return samples;
}

/** Starts `prometheus` scraping 127.0.0.1:`targetPort`/metrics every second, in a temp directory. */
async function startPrometheus(targetPort: number): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "cachet-prom-"));
  const port = await freePort();
  writeFileSync(
    join(dir, "prometheus.yml"),
    `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: cachet\n    honor_labels: true\n    static_configs: [{ targets: ["127.0.0.1:${targetPort}"] }]\n`,
  );
  const child: ChildProcess = spawn(
    "prometheus",
    [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("error", () => undefined);
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
