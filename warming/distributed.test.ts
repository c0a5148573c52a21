/**
 * Two host processes serving cache-manager and warming over one Redis and one PostgreSQL server:
 * each due time runs once however both of them tick, and a run whose worker is killed is failed
 * by the other process once its lease expires.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { callApi, eventually } from "../infra/node-host/testing/api";
import { startHostProcesses, type HostProcess } from "../infra/node-host/testing/hosts";
import { findPostgresBinDir, startPostgresServer, type TestPostgresServer } from "../infra/node-host/testing/postgres";
import { TEST_INTERNAL_SECRET } from "../infra/node-host/testing/tokens";

const LEASE_MS = 1_500;
let postgres: TestPostgresServer;
let hosts: HostProcess[];

const api = (host: HostProcess, method: string, path: string, body?: unknown) => callApi(host.url, method, path, { body });
const tick = (host: HostProcess, at: number) =>
  callApi(host.url, "POST", "/internal/warming/tick", { body: { at }, token: null, headers: { "x-cachet-internal": TEST_INTERNAL_SECRET } });

describe.skipIf(!findPostgresBinDir())("two warming processes on one PostgreSQL", () => {
  beforeAll(async () => {
    postgres = await startPostgresServer();
    hosts = await startHostProcesses(2, {
      services: ["cache-manager", "warming"],
      env: {
        DATABASE_URL: postgres.url,
        CACHE_DEMO_LATENCY_MS: "100",
        WARMING_LEASE_MS: String(LEASE_MS),
        WARMING_HEARTBEAT_MS: "250",
        WARMING_POLL_MS: "200",
      },
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all((hosts ?? []).map((h) => h.stop()));
    await postgres?.stop();
  });

  test("both processes ticking at every due time → exactly one run per due time, and one catch-up run", async () => {
    const job = await api(hosts[0], "POST", "/api/warming/jobs", {
      name: `dist-${Date.now()}`,
      schedule: "*/5 * * * *",
      source: { type: "keys", keys: ["product:1"] },
      namespace: "product:",
    });
    expect(job.status).toBe(200);
    const slot = Math.ceil(Date.now() / 300_000) * 300_000;
    const dueTimes: number[] = [];
    for (let k = 1; k <= 6; k++) {
      const at = slot + k * 300_000 + 2_000;
      dueTimes.push(slot + k * 300_000);
      // Three concurrent ticks on each process for the same instant.
      const replies = await Promise.all(hosts.flatMap((h) => [tick(h, at), tick(h, at), tick(h, at + 1)]));
      expect(replies.every((r) => r.status === 200)).toBe(true);
    }
    // Six hours of downtime: one catch-up run for the latest due time.
    const late = slot + 6 * 3600_000 + 2_000;
    await Promise.all(hosts.map((h) => tick(h, late)));
    dueTimes.push(slot + 6 * 3600_000);

    const runs = (await api(hosts[1], "GET", `/api/warming/runs?jobId=${job.body.id}&limit=200`)).body.runs as Array<{ dueAt: string }>;
    expect(runs.map((r) => Date.parse(r.dueAt)).sort((a, b) => a - b)).toEqual(dueTimes);
  });

  test("a run whose worker process is killed is marked failed by the other process after the lease", { timeout: 60_000 }, async () => {
    const keys = Array.from({ length: 400 }, (_, i) => `product:${3000 + i}`);
    const { body } = await api(hosts[0], "POST", "/api/warming/trigger", { keys, batchSize: 8, concurrency: 1 });
    const running = await eventually(
      () => api(hosts[1], "GET", `/api/warming/runs/${body.runId}`),
      (r) => r.body.status === "running" && r.body.warmed >= 8,
      20_000,
      50,
    );
    expect(running.body.status).toBe("running");
    const pid = Number(/^wk-.+-(\d+)-[0-9a-f]{6}$/.exec(running.body.workerId)![1]);
    const worker = hosts.find((h) => h.child.pid === pid)!;
    const survivor = hosts.find((h) => h !== worker)!;
    expect(worker).toBeDefined();

    await worker.kill();
    const killedAt = Date.now();
    const failed = await eventually(
      () => api(survivor, "GET", `/api/warming/runs/${body.runId}`),
      (r) => r.body.status !== "running",
      15_000,
      100,
    );
    const detectedAfterMs = Date.now() - killedAt;
    expect(failed.body.status).toBe("failed");
    expect(failed.body.error).toMatch(/stopped renewing its lease/);
    expect(failed.body.warmed).toBeLessThan(400);
    expect(detectedAfterMs).toBeLessThan(LEASE_MS + 5_000);
    console.log(`worker death detected ${detectedAfterMs} ms after SIGKILL (lease ${LEASE_MS} ms)`);

    // The survivor keeps serving runs.
    const next = await api(survivor, "POST", "/api/warming/trigger", { keys: ["product:1", "product:2"] });
    const done = await eventually(
      () => api(survivor, "GET", `/api/warming/runs/${next.body.runId}`),
      (r) => r.body.status === "succeeded",
      15_000,
    );
    expect(done.body).toMatchObject({ status: "succeeded", warmed: 2 });
  });
});
