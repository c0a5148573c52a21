/**
 * The warming API end to end: a host process serving every service (real Redis, PGlite), called
 * over HTTP with the test tokens. Slow and failing origins are HTTP servers run by this file.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { callApi, eventually } from "../infra/node-host/testing/api";
import { startHostProcess, type HostProcess } from "../infra/node-host/testing/hosts";
import { TEST_INTERNAL_SECRET } from "../infra/node-host/testing/tokens";

let host: HostProcess;
let origin: Server;
/** Requests the test origin received, per id. */
const originHits = new Map<string, number>();
const tag = `w${Date.now().toString(36)}`;
const slowNs = `${tag}slow:`;
const flakyNs = `${tag}flaky:`;

const api = (method: string, path: string, body?: unknown, token: "admin" | "operator" | "viewer" | "scoped" | null = "admin") =>
  callApi(host.url, method, path, { body, token });
const internal = (path: string, body: unknown, secret = TEST_INTERNAL_SECRET) =>
  callApi(host.url, "POST", path, { body, token: null, headers: { "x-cachet-internal": secret } });
const finished = (runId: number, timeoutMs = 20_000) =>
  eventually(
    () => api("GET", `/api/warming/runs/${runId}`),
    (r) => ["succeeded", "failed", "cancelled"].includes(r.body?.status),
    timeoutMs,
  ).then((r) => r.body);
let jobSeq = 0;
const jobName = (what: string) => `${tag}-${what}-${++jobSeq}`;

beforeAll(async () => {
  // /slow/{id}: 100 ms per request. /flaky/{id}: "once-*" fail their first request, "bad-*" always fail.
  origin = createServer((req, res) => {
    const [, kind, id] = (req.url ?? "").split("/");
    const hits = (originHits.get(`${kind}/${id}`) ?? 0) + 1;
    originHits.set(`${kind}/${id}`, hits);
    const reply = () => {
      if (kind === "flaky" && (id.startsWith("bad-") || (id.startsWith("once-") && hits === 1))) {
        res.writeHead(500).end("boom");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id, kind }));
    };
    if (kind === "slow") setTimeout(reply, 100);
    else reply();
  });
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
  const port = (origin.address() as AddressInfo).port;
  host = await startHostProcess({
    services: ["cache-manager", "warming"],
    env: { CACHE_DEMO_LATENCY_MS: "0", WARMING_RETRY_DELAY_MS: "20", WARMING_POLL_MS: "200" },
  });
  for (const [ns, path] of [
    [slowNs, "slow"],
    [flakyNs, "flaky"],
  ]) {
    const put = await api("PUT", `/api/origins/${encodeURIComponent(ns)}`, { kind: "http", url: `http://127.0.0.1:${port}/${path}/{id}`, timeoutMs: 5000 });
    expect(put.status).toBe(200);
  }
});

afterAll(async () => {
  for (const ns of [slowNs, flakyNs]) await api("DELETE", `/api/origins/${encodeURIComponent(ns)}`).catch(() => undefined);
  await new Promise((resolve) => origin?.close(resolve));
});

describe("jobs", () => {
  test("an operator creates, reads, changes and deletes a job; the schedule shows its next run", async () => {
    const created = await api(
      "POST",
      "/api/warming/jobs",
      { name: jobName("crud"), schedule: "0 4 * * *", timeZone: "Europe/Berlin", source: { type: "origin", limit: 500 }, namespace: "product:", priority: 7 },
      "operator",
    );
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      enabled: true,
      schedule: "0 4 * * *",
      timeZone: "Europe/Berlin",
      priority: 7,
      batchSize: 100,
      concurrency: 4,
      source: { type: "origin", limit: 500 },
    });
    expect(new Date(created.body.nextRunAt).getUTCHours()).toBeOneOf([2, 3]);
    const id = created.body.id;
    expect((await api("GET", `/api/warming/jobs/${id}`, undefined, "viewer")).body.name).toBe(created.body.name);

    const updated = await api("PUT", `/api/warming/jobs/${id}`, { priority: 2, schedule: "" }, "operator");
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ priority: 2, timeZone: "Europe/Berlin", namespace: "product:", source: { type: "origin", limit: 500 } });
    expect(updated.body.schedule).toBeUndefined();
    expect(updated.body.nextRunAt).toBeUndefined();

    expect((await api("DELETE", `/api/warming/jobs/${id}`, undefined, "operator")).body).toEqual({ id, deleted: true });
    expect((await api("GET", `/api/warming/jobs/${id}`)).status).toBe(404);
    expect((await api("DELETE", `/api/warming/jobs/${id}`)).status).toBe(404);
  });

  test.each([
    [{ schedule: "0 25 * * *" }, /"schedule" field 2 \(hour\) "25" is invalid/],
    [{ schedule: "* * * *" }, /"schedule" must have 5 fields/],
    [{ timeZone: "Nowhere/City" }, /"timeZone": unknown time zone "Nowhere\/City"/],
    // The request decoder checks the union against the declared type before the handler runs.
    [{ source: { type: "everything" } }, /"source.type": expected (?=.*"keys")(?=.*"origin")(?=.*"hot")(?=.*"snapshot")(?=.*"l3").*, got "everything"/],
    [{ source: { type: "origin" }, namespace: undefined }, /the "origin" source lists the keys of a namespace: set "namespace"/],
    [{ priority: 11 }, /"priority" must be a whole number from 1 to 10, got 11/],
    [{ batchSize: 0 }, /"batchSize" must be a whole number from 1 to 1000/],
    [{ namespace: "product" }, /"namespace" must be a key prefix ending in ":"/],
    [{ source: { type: "keys", keys: ["user:1"] } }, /source.keys\[0\] "user:1" is outside the namespace "product:"/],
    [{ source: { type: "snapshot" } }, /"source.action" must be "save" or "restore"/],
    [{ source: { type: "l3" } }, /the "l3" source restores the keys matching "source.pattern": set it to a Redis glob, e.g. "product:\*"/],
    [{ source: { type: "l3", pattern: "product:\\" } }, /"source.pattern": the pattern ends with a lone `\\`/],
    [{ source: { type: "l3", pattern: "user:*" } }, /"source.pattern" "user:\*" reaches outside the namespace "product:"/],
    [{ source: { type: "l3", pattern: "product:*" }, ttlSeconds: 60 }, /"ttlSeconds" does not apply to the "l3" source/],
    [{ name: "" }, /"name" is required/],
  ])("a bad job %j is refused with 400 saying what to fix", async (change, message) => {
    const body = { name: jobName("bad"), source: { type: "origin" }, namespace: "product:", ...change };
    const response = await api("POST", "/api/warming/jobs", body);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("invalid_argument");
    expect(response.body.message).toMatch(message);
  });

  test("a job name is unique (409), and a missing job is 404", async () => {
    const name = jobName("dup");
    expect((await api("POST", "/api/warming/jobs", { name, source: { type: "keys", keys: ["product:1"] } })).status).toBe(200);
    const again = await api("POST", "/api/warming/jobs", { name, source: { type: "keys", keys: ["product:1"] } });
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/already exists/);
    expect((await api("GET", "/api/warming/jobs/987654321")).status).toBe(404);
    expect((await api("PUT", "/api/warming/jobs/987654321", { priority: 3 })).status).toBe(404);
  });

  test("roles: no token 401, viewers read, only operators write, scoped tokens stay in their namespaces", async () => {
    expect((await api("GET", "/api/warming/jobs", undefined, null)).status).toBe(401);
    expect((await api("GET", "/api/warming/jobs", undefined, "viewer")).status).toBe(200);
    expect((await api("GET", "/api/warming/runs", undefined, "viewer")).status).toBe(200);
    const denied = await api("POST", "/api/warming/jobs", { name: jobName("viewer"), source: { type: "keys", keys: ["product:1"] } }, "viewer");
    expect(denied.status).toBe(403);
    expect(denied.body.message).toMatch(/needs the operator role/);
    expect((await api("POST", "/api/warming/trigger", { keys: ["product:1"] }, "viewer")).status).toBe(403);
    expect((await api("POST", "/api/warming/jobs", { name: jobName("scoped"), source: { type: "origin" }, namespace: "user:" }, "scoped")).status).toBe(403);
    expect((await api("POST", "/api/warming/jobs", { name: jobName("scoped"), source: { type: "origin" }, namespace: "product:" }, "scoped")).status).toBe(200);
    expect((await api("POST", "/api/warming/trigger", { keys: ["user:1"] }, "scoped")).status).toBe(403);
  });

  test("the job list is cursor-paged without repeats", async () => {
    for (let i = 0; i < 3; i++) await api("POST", "/api/warming/jobs", { name: jobName("page"), source: { type: "keys", keys: ["product:1"] } });
    const ids: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await api("GET", `/api/warming/jobs?limit=2${cursor ? `&cursor=${cursor}` : ""}`, undefined, "viewer");
      expect(page.body.jobs.length).toBeLessThanOrEqual(2);
      ids.push(...page.body.jobs.map((j: { id: number }) => j.id));
      cursor = page.body.cursor;
    } while (cursor);
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
  });
});

describe("schedule preview", () => {
  test("gives the next 5 run times in the time zone", async () => {
    const response = await api("GET", "/api/warming/schedule-preview?cron=30%209%20*%20*%201-5&tz=America/New_York", undefined, "viewer");
    expect(response.status).toBe(200);
    expect(response.body.next).toHaveLength(5);
    for (const time of response.body.next) {
      const local = new Intl.DateTimeFormat("en-US", {
        timeZone: "America/New_York",
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
        weekday: "short",
      }).format(new Date(time));
      expect(local).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 09:30$/);
    }
  });

  test.each([
    ["cron=61%20*%20*%20*%20*", /"cron" field 1 \(minute\) "61" is invalid: .*0-59/],
    ["cron=*%20*%20*", /"cron" must have 5 fields .* got 3/],
    ["", /"cron" is required/],
    ["cron=0%200%20*%20*%20*&tz=Moon/Base", /unknown time zone "Moon\/Base"/],
  ])("?%s → 400 naming the problem", async (query, message) => {
    const response = await api("GET", `/api/warming/schedule-preview?${query}`, undefined, "viewer");
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(message);
  });
});

describe("runs", () => {
  test("triggering keys warms them into the cache and reports progress; unknown ids are skipped", async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `product:${9000 + i}`);
    const trigger = await api(
      "POST",
      "/api/warming/trigger",
      { keys: [...keys, "product:99999999"], namespace: "product:", ttlSeconds: 900, batchSize: 20 },
      "operator",
    );
    expect(trigger.status).toBe(200);
    const run = await finished(trigger.body.runId);
    expect(run).toMatchObject({
      status: "succeeded",
      trigger: "manual",
      sourceType: "keys",
      total: 51,
      warmed: 50,
      skipped: 1,
      failed: 0,
      batches: 3,
      errorSamples: [],
    });
    expect(run.keysPerSecond).toBeGreaterThan(0);
    expect(run.durationMs).toBeGreaterThanOrEqual(0);
    const detail = await api("GET", `/api/keys/${encodeURIComponent("product:9007")}`);
    expect(detail.body.tiers).toContain("l2");
    expect(detail.body.ttlMs).toBeGreaterThan(800_000);
    expect(JSON.parse(detail.body.preview)).toMatchObject({ id: 9007, name: "Product 9007" });
  });

  test.each([
    [{}, /send "jobId" \(run a job now\) or "keys"/],
    [{ jobId: 1, keys: ["product:1"] }, /either "jobId" or "keys", not both/],
    [{ keys: [] }, /"keys" must be a non-empty array/],
    [{ keys: ["user:1"], namespace: "product:" }, /keys\[0\] "user:1" is outside the namespace "product:"/],
    [{ keys: ["product:1"], priority: 0 }, /"priority" must be a whole number from 1 to 10/],
  ])("a bad trigger %j is 400", async (body, message) => {
    const response = await api("POST", "/api/warming/trigger", body, "operator");
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(message);
  });

  test("triggering a job by id, and the run list filtered by job and status, paged by cursor", async () => {
    const job = await api("POST", "/api/warming/jobs", {
      name: jobName("list"),
      source: { type: "keys", keys: ["product:1", "product:2"] },
      namespace: "product:",
    });
    const runIds: number[] = [];
    for (let i = 0; i < 3; i++) runIds.push((await api("POST", "/api/warming/trigger", { jobId: job.body.id }, "operator")).body.runId);
    for (const id of runIds) expect((await finished(id)).status).toBe("succeeded");
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await api("GET", `/api/warming/runs?jobId=${job.body.id}&limit=2${cursor ? `&cursor=${cursor}` : ""}`, undefined, "viewer");
      expect(page.status).toBe(200);
      seen.push(...page.body.runs.map((r: { id: number; jobId: number }) => (expect(r.jobId).toBe(job.body.id), r.id)));
      cursor = page.body.cursor;
    } while (cursor);
    expect(seen).toEqual([...runIds].reverse());
    const succeeded = await api("GET", `/api/warming/runs?jobId=${job.body.id}&status=succeeded`);
    expect(succeeded.body.runs).toHaveLength(3);
    expect((await api("GET", `/api/warming/runs?jobId=${job.body.id}&status=queued`)).body.runs).toHaveLength(0);
    expect((await api("GET", "/api/warming/runs?status=done")).body.message).toMatch(/"status" must be one of queued, running, succeeded, failed, cancelled/);
    expect((await api("GET", "/api/warming/runs?cursor=abc")).status).toBe(400);
    expect((await api("GET", "/api/warming/runs/987654321")).status).toBe(404);
  });

  test("cancel stops a running run between batches; cancelling a finished run is refused", async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `${slowNs}${i}`);
    const { body } = await api("POST", "/api/warming/trigger", { keys, batchSize: 5, concurrency: 1 }, "operator");
    await eventually(
      () => api("GET", `/api/warming/runs/${body.runId}`),
      (r) => r.body.warmed >= 5,
      15_000,
      50,
    );
    const cancel = await api("POST", `/api/warming/runs/${body.runId}/cancel`, undefined, "operator");
    expect(cancel.status).toBe(200);
    expect(cancel.body).toMatchObject({ status: "running", cancelRequested: true });
    const run = await finished(body.runId);
    expect(run.status).toBe("cancelled");
    expect(run.warmed).toBeLessThan(200);
    expect(run.warmed % 5).toBe(0);
    const again = await api("POST", `/api/warming/runs/${body.runId}/cancel`, undefined, "operator");
    expect(again.status).toBe(400);
    expect(again.body.code).toBe("failed_precondition");
    expect(again.body.message).toMatch(/already finished \(cancelled\)/);
    expect((await api("POST", `/api/warming/runs/${body.runId}/cancel`, undefined, "viewer")).status).toBe(403);
  });

  test("a failed batch is retried; a batch that keeps failing is recorded with an error sample", async () => {
    const keys = [`${flakyNs}ok-1`, `${flakyNs}once-1`, `${flakyNs}ok-2`, `${flakyNs}bad-1`];
    const { body } = await api("POST", "/api/warming/trigger", { keys, batchSize: 1, concurrency: 1 }, "operator");
    const run = await finished(body.runId);
    expect(run).toMatchObject({ status: "succeeded", warmed: 3, failed: 1, skipped: 0, retries: 3 });
    expect(originHits.get("flaky/once-1")).toBe(2);
    expect(originHits.get("flaky/bad-1")).toBe(3);
    expect(run.errorSamples).toHaveLength(1);
    expect(run.errorSamples[0]).toMatchObject({ keys: [`${flakyNs}bad-1`], attempts: 3 });
    expect(run.errorSamples[0].message).toMatch(/500|origin/i);
  });

  test("a run whose every batch fails is failed", async () => {
    const { body } = await api("POST", "/api/warming/trigger", { keys: [`${flakyNs}bad-2`, `${flakyNs}bad-3`], batchSize: 1 }, "operator");
    const run = await finished(body.runId);
    expect(run).toMatchObject({ status: "failed", failed: 2, warmed: 0 });
    expect(run.error).toMatch(/every batch failed/);
  });

  // WARMING_THROUGHPUT_KEYS=10000 measures the whole demo table (10,000 rows).
  const throughputKeys = Number(process.env.WARMING_THROUGHPUT_KEYS ?? 3_000);
  test("an origin job lists and warms the demo namespace and reports its throughput", { timeout: 90_000 }, async () => {
    const job = await api("POST", "/api/warming/jobs", {
      name: jobName("origin"),
      source: { type: "origin", limit: throughputKeys },
      namespace: "product:",
      batchSize: 500,
      concurrency: 4,
    });
    const { body } = await api("POST", "/api/warming/trigger", { jobId: job.body.id }, "operator");
    const run = await finished(body.runId, 80_000);
    expect(run).toMatchObject({ status: "succeeded", warmed: throughputKeys, total: throughputKeys, failed: 0 });
    console.log(
      `warming throughput: ${run.warmed} keys from the demo origin (PGlite, 0 ms added latency) in ${run.durationMs} ms = ${run.keysPerSecond} keys/s`,
    );
  });
});

describe("hot keys and snapshots", () => {
  const ids = Array.from({ length: 12 }, (_, i) => 7000 + i);
  const read = (id: number) => api("GET", `/api/cache/product:${id}`, undefined, "viewer");

  test("a hot job refreshes hot keys whose TTL runs out soon, with the job's TTL", async () => {
    for (let round = 0; round < 3; round++) for (const id of ids) expect((await read(id)).status).toBe(200);
    const job = await api("POST", "/api/warming/jobs", {
      name: jobName("hot"),
      source: { type: "hot", refreshAheadSeconds: 3600, days: 0, topN: 1000 },
      namespace: "product:",
      ttlSeconds: 7200,
    });
    const run = await finished((await api("POST", "/api/warming/trigger", { jobId: job.body.id })).body.runId);
    expect(run.status).toBe("succeeded");
    expect(run.warmed).toBeGreaterThanOrEqual(ids.length);
    const ttl = (await api("GET", `/api/keys/${encodeURIComponent(`product:${ids[3]}`)}`)).body.ttlMs;
    expect(ttl).toBeGreaterThan(3600_000);
  });

  test("a snapshot of the hottest values restores them after they were deleted, without the origin", async () => {
    for (const id of ids) await read(id);
    const save = await api("POST", "/api/warming/jobs", {
      name: jobName("snap-save"),
      source: { type: "snapshot", action: "save", topN: 2000 },
      namespace: "product:",
    });
    const saved = await finished((await api("POST", "/api/warming/trigger", { jobId: save.body.id })).body.runId);
    expect(saved.status).toBe("succeeded");
    expect(saved.warmed).toBeGreaterThanOrEqual(ids.length);

    const keys = ids.map((id) => `product:${id}`);
    expect((await api("POST", "/api/batch/delete", { keys })).status).toBe(200);
    expect((await api("GET", `/api/keys/${encodeURIComponent(keys[0])}`)).status).toBe(404);
    const loadsBefore = (await api("GET", "/api/stats")).body.counters.loads;

    const restore = await api("POST", "/api/warming/jobs", {
      name: jobName("snap-restore"),
      source: { type: "snapshot", action: "restore" },
      namespace: "product:",
    });
    const restored = await finished((await api("POST", "/api/warming/trigger", { jobId: restore.body.id })).body.runId);
    expect(restored).toMatchObject({ status: "succeeded", warmed: saved.warmed });
    for (const key of keys) {
      const detail = await api("GET", `/api/keys/${encodeURIComponent(key)}`);
      expect(detail.status).toBe(200);
      expect(JSON.parse(detail.body.preview).id).toBe(Number(key.split(":")[1]));
    }
    expect((await api("GET", "/api/stats")).body.counters.loads).toEqual(loadsBefore);
  });
});

describe("the l3 source", () => {
  // This host runs without L3 (CACHE_L3 off): these check the path from the job to cache-manager
  // and back, and the refusals. A run over a filled L3 is in `l3.test.ts` (its own host, L3 on).
  test("a run of an l3 job while L3 is off fails, and its history says why", async () => {
    const job = await api(
      "POST",
      "/api/warming/jobs",
      { name: jobName("l3"), source: { type: "l3", pattern: "product:*" }, namespace: "product:" },
      "operator",
    );
    expect(job.status).toBe(200);
    expect(job.body.source).toEqual({ type: "l3", pattern: "product:*" });
    const run = await finished((await api("POST", "/api/warming/trigger", { jobId: job.body.id }, "operator")).body.runId);
    expect(run).toMatchObject({ status: "failed", sourceType: "l3", warmed: 0, batches: 0 });
    expect(run.error).toMatch(/^restoring "product:\*" from L3 failed on page 1: .*L3 is not configured \(CACHE_L3\)/);
  });

  test("cache-manager's l3-restore endpoint: 503 while L3 is off, 400 for a bad pattern or limit, internal only", async () => {
    const off = await internal("/internal/cache/l3-restore", { pattern: "product:*" });
    expect(off.status).toBe(503);
    expect(off.body.message).toMatch(/L3 is not configured \(CACHE_L3\)/);
    const bad = await internal("/internal/cache/l3-restore", { pattern: "product:[0-9" });
    expect(bad.status).toBe(400);
    expect((await internal("/internal/cache/l3-restore", { pattern: "product:*", limit: 1001 })).body.message).toMatch(
      /"limit" must be a whole number from 1 to 1000/,
    );
    expect((await internal("/internal/cache/l3-restore", { pattern: "product:*" }, "wrong-secret")).status).toBe(404);
  });
});

describe("internal endpoints", () => {
  test("rewarm enqueues a high-priority run for invalidated keys, only for service-to-service calls", async () => {
    const response = await internal("/internal/warming/rewarm", { keys: ["product:42", "product:43"], namespace: "product:", reason: "invalidation 17" });
    expect(response.status).toBe(200);
    const run = await finished(response.body.runId);
    expect(run).toMatchObject({ status: "succeeded", trigger: "rewarm", priority: 8, reason: "invalidation 17", warmed: 2 });
    expect((await internal("/internal/warming/rewarm", { keys: ["product:42"] }, "wrong-secret")).status).toBe(404);
    expect((await internal("/internal/warming/rewarm", { keys: [] })).status).toBe(400);
  });

  test("a tick enqueues a due job once per due time and catches up once after downtime", async () => {
    const job = await api("POST", "/api/warming/jobs", {
      name: jobName("tick"),
      schedule: "*/5 * * * *",
      source: { type: "keys", keys: ["product:5"] },
      namespace: "product:",
    });
    // Ticks inside one 5-minute slot (see the same due time), then three hours later.
    const base = Math.ceil(Date.now() / 300_000) * 300_000 + 1_000;
    const first = await internal("/internal/warming/tick", { at: base + 10 * 60_000 });
    expect(first.status).toBe(200);
    const mine = (r: { body: { enqueued: Array<{ jobId: number }> } }) => r.body.enqueued.filter((e) => e.jobId === job.body.id);
    expect(mine(first)).toHaveLength(1);
    expect(mine(await internal("/internal/warming/tick", { at: base + 10 * 60_000 + 30_000 }))).toHaveLength(0);
    // Three hours later: one catch-up run, not 36.
    const later = mine(await internal("/internal/warming/tick", { at: base + 3 * 3600_000 + 10 * 60_000 }));
    expect(later).toHaveLength(1);
    const runs = await api("GET", `/api/warming/runs?jobId=${job.body.id}`);
    expect(runs.body.runs).toHaveLength(2);
    expect(runs.body.runs.every((r: { trigger: string; dueAt: string }) => r.trigger === "schedule" && new Date(r.dueAt).getUTCMinutes() % 5 === 0)).toBe(true);
  });
});
