/**
 * The repository against real PostgreSQL engines: PGlite in-process, and a throwaway PostgreSQL
 * server (when its binaries are installed) where several pool connections race for real.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { findPostgresBinDir, startPostgresServer, type TestPostgresServer } from "../../infra/node-host/testing/postgres.ts";
import { WarmingConflictError } from "./errors.ts";
import { pgliteSql, type Sql } from "../../lib/sql.ts";
import { WarmingRepository } from "./repository.ts";
import { validateJob, type RunSpec } from "./spec.ts";

const migration = readFileSync(join(import.meta.dirname, "../migrations/1_create_jobs.up.sql"), "utf8");
const T0 = Date.parse("2025-06-01T10:00:00Z");
const spec: RunSpec = { source: { type: "keys", keys: ["product:1"] }, namespace: "product:", batchSize: 10, concurrency: 1, ttlSeconds: null };
const progress = (warmed: number) => ({ total: 10, warmed, failed: 0, skipped: 0, batches: 1, retries: 0, errorSamples: [] });

interface Engine {
  sql: Sql;
  reset(): Promise<void>;
  close(): Promise<void>;
}

async function pglite(): Promise<Engine> {
  const db = new PGlite();
  await db.exec(migration);
  return {
    sql: pgliteSql(db),
    reset: () => db.exec("TRUNCATE warming_jobs, warming_runs, warming_hot_observations, warming_snapshots RESTART IDENTITY").then(() => undefined),
    close: () => db.close(),
  };
}

async function server(): Promise<Engine> {
  const instance: TestPostgresServer = await startPostgresServer();
  const pool = new pg.Pool({ connectionString: instance.url, max: 10 });
  // The server's shutdown notice reaches clients that are closing; nothing to handle.
  pool.on("error", () => undefined);
  await pool.query(migration);
  const sql: Sql = {
    query: async (text, params = []) => (await pool.query(text, params as unknown[])).rows,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await fn({ query: async (text, params = []) => (await client.query(text, params as unknown[])).rows });
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      } finally {
        client.release();
      }
    },
  };
  return {
    sql,
    reset: () => pool.query("TRUNCATE warming_jobs, warming_runs, warming_hot_observations, warming_snapshots RESTART IDENTITY").then(() => undefined),
    close: async () => {
      await pool.end();
      await instance.stop();
    },
  };
}

function registerRepositorySuite(name: string, open: () => Promise<Engine>) {
  describe(`warming repository on ${name}`, () => {
    let engine: Engine;
    let repo: WarmingRepository;
    beforeAll(async () => {
      engine = await open();
      repo = new WarmingRepository(engine.sql);
    });
    afterAll(() => engine?.close());
    beforeEach(() => engine.reset());

    const job = (name = "nightly", schedule = "*/5 * * * *") =>
      repo.createJob(validateJob({ name, schedule, source: { type: "origin" }, namespace: "product:" }), T0);

    test("20 concurrent ticks for one due time enqueue exactly one run", async () => {
      const { id } = await job();
      const due = T0 + 5 * 60_000;
      const ids = await Promise.all(Array.from({ length: 20 }, () => repo.enqueueDue(id, due, due + 1_000)));
      expect(ids.filter((x) => x !== null)).toHaveLength(1);
      const runs = await repo.listRuns({ jobId: id, limit: 100 });
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({
        trigger: "schedule",
        status: "queued",
        dueAt: due,
        jobName: "nightly",
        spec: { source: { type: "origin" }, namespace: "product:" },
      });
      expect((await repo.getJob(id))!.scheduledThrough).toBe(due);
    });

    test("the unique constraint refuses a second run for a due time even when the job's guard is bypassed", async () => {
      const { id } = await job();
      const due = T0 + 5 * 60_000;
      expect(await repo.enqueueDue(id, due, due)).not.toBeNull();
      await engine.sql.query(`UPDATE warming_jobs SET scheduled_through = $1::timestamptz WHERE id = $2`, [new Date(T0).toISOString(), id]);
      expect(await repo.enqueueDue(id, due, due)).toBeNull();
      expect(await repo.listRuns({ jobId: id, limit: 10 })).toHaveLength(1);
    });

    test("an older due time is not enqueued once the schedule has moved past it", async () => {
      const { id } = await job();
      expect(await repo.enqueueDue(id, T0 + 10 * 60_000, T0 + 10 * 60_000)).not.toBeNull();
      expect(await repo.enqueueDue(id, T0 + 5 * 60_000, T0 + 10 * 60_000)).toBeNull();
    });

    test("a disabled job is not enqueued; re-enabling it restarts its schedule from now", async () => {
      const created = await job();
      const disabled = await repo.updateJob(created.id, { ...created, enabled: false }, T0 + 60_000);
      expect(await repo.enqueueDue(created.id, T0 + 5 * 60_000, T0 + 5 * 60_000)).toBeNull();
      const enabled = await repo.updateJob(created.id, { ...disabled!, enabled: true }, T0 + 7 * 60_000);
      expect(enabled!.scheduledThrough).toBe(T0 + 7 * 60_000);
    });

    test("job names are unique", async () => {
      await job("a");
      await expect(job("a")).rejects.toThrow(WarmingConflictError);
      const b = await job("b");
      await expect(repo.updateJob(b.id, { ...b, name: "a" }, T0)).rejects.toThrow(WarmingConflictError);
    });

    test("claims take the highest priority first, oldest first within a priority", async () => {
      const ids: Record<string, number> = {};
      for (const [label, priority] of [
        ["low", 2],
        ["high-1", 9],
        ["mid", 5],
        ["high-2", 9],
      ] as const)
        ids[label] = await repo.enqueueRun({ trigger: "manual", priority, spec }, T0);
      const order: number[] = [];
      for (let i = 0; i < 4; i++) order.push(...(await repo.claim("w1", T0, 1, 10)).map((r) => r.id));
      expect(order).toEqual([ids["high-1"], ids["high-2"], ids.mid, ids.low]);
    });

    test("concurrent claims by several workers never exceed the global running limit", async () => {
      for (let i = 0; i < 12; i++) await repo.enqueueRun({ trigger: "manual", priority: 5, spec }, T0);
      const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => repo.claim(`w${i}`, T0, 3, 4)));
      expect(claims.flat()).toHaveLength(4);
      expect(await repo.queueDepth()).toEqual({ queued: 8, running: 4 });
      expect(await repo.claim("w9", T0, 3, 4)).toEqual([]);
    });

    test("a run whose worker stops renewing its lease is failed; its worker then learns it lost the run", async () => {
      await repo.enqueueRun({ trigger: "manual", priority: 5, spec }, T0);
      const [run] = await repo.claim("worker-a", T0, 1, 4);
      expect(await repo.heartbeat(run.id, "worker-a", T0 + 10_000)).toEqual({ owned: true, cancelRequested: false });
      expect(await repo.reapExpired(T0 + 35_000, 30_000)).toEqual([]);
      expect(await repo.reapExpired(T0 + 40_001, 30_000)).toEqual([{ id: run.id, workerId: "worker-a" }]);
      const reaped = await repo.getRun(run.id);
      expect(reaped).toMatchObject({ status: "failed", finishedAt: T0 + 40_001 });
      expect(reaped!.error).toMatch(/worker worker-a stopped renewing its lease \(last heartbeat 2025-06-01T10:00:10\.000Z\)/);
      expect(await repo.saveProgress(run.id, "worker-a", progress(5), T0 + 41_000)).toEqual({ owned: false, cancelRequested: false });
      expect(await repo.finish(run.id, "worker-a", "succeeded", progress(10), null, T0 + 42_000)).toBe(false);
      expect((await repo.getRun(run.id))!.status).toBe("failed");
    });

    test("cancel: a queued run is cancelled at once, a running one is flagged, a finished one is refused", async () => {
      const queued = await repo.enqueueRun({ trigger: "manual", priority: 5, spec }, T0);
      expect(await repo.cancel(queued, T0)).toEqual({ status: "cancelled", changed: true });
      expect(await repo.claim("w", T0, 5, 5)).toEqual([]);

      const running = await repo.enqueueRun({ trigger: "manual", priority: 5, spec }, T0);
      await repo.claim("w", T0, 1, 5);
      expect(await repo.cancel(running, T0)).toEqual({ status: "running", changed: true });
      expect(await repo.saveProgress(running, "w", progress(3), T0 + 1)).toEqual({ owned: true, cancelRequested: true });
      expect(await repo.finish(running, "w", "cancelled", progress(3), null, T0 + 2)).toBe(true);
      expect(await repo.cancel(running, T0 + 3)).toEqual({ status: "cancelled", changed: false });
      expect(await repo.cancel(9999, T0)).toBeNull();
    });

    test("run history pages newest first without gaps or repeats, filtered by job and status", async () => {
      const a = await job("a");
      for (let i = 0; i < 7; i++) await repo.enqueueRun({ jobId: i % 2 ? a.id : null, trigger: "manual", priority: 5, spec }, T0 + i);
      const seen: number[] = [];
      let before: number | undefined;
      for (;;) {
        const page = await repo.listRuns({ beforeId: before, limit: 3 });
        seen.push(...page.map((r) => r.id));
        if (page.length < 3) break;
        before = page[page.length - 1].id;
      }
      expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
      expect((await repo.listRuns({ jobId: a.id, limit: 10 })).map((r) => r.id)).toEqual([6, 4, 2]);
      await repo.cancel(7, T0);
      expect((await repo.listRuns({ status: "cancelled", limit: 10 })).map((r) => r.id)).toEqual([7]);
    });

    test("hot-key observations keep a bucket's highest count and are found by time window and namespace", async () => {
      await repo.recordObservations(T0, [
        { key: "product:1", count: 3 },
        { key: "user:1", count: 9 },
      ]);
      await repo.recordObservations(T0, [{ key: "product:1", count: 8 }]);
      await repo.recordObservations(T0 - 86_400_000, [{ key: "product:2", count: 4 }]);
      const rows = await repo.observationsIn(
        [
          [T0 - 60_000, T0 + 60_000],
          [T0 - 86_400_000 - 60_000, T0 - 86_400_000 + 60_000],
        ],
        "product:",
      );
      expect(rows).toEqual([
        { key: "product:1", count: 8 },
        { key: "product:2", count: 4 },
      ]);
      expect(await repo.pruneObservations(T0 - 3_600_000)).toBe(1);
    });

    test("snapshots store bytes intact and keep the newest few per namespace", async () => {
      const data = Buffer.from([0, 1, 2, 250, 255]);
      for (let i = 0; i < 7; i++)
        await repo.saveSnapshot({ jobId: null, runId: null, namespace: "product:", keyCount: i, rawBytes: 10, compressedBytes: 5, data }, T0 + i, 5);
      await repo.saveSnapshot({ jobId: null, runId: null, namespace: "user:", keyCount: 1, rawBytes: 1, compressedBytes: 1, data }, T0, 5);
      const latest = await repo.loadSnapshot({ namespace: "product:" });
      expect(latest).toMatchObject({ keyCount: 6, namespace: "product:" });
      expect(Buffer.from(latest!.data)).toEqual(data);
      const [{ n }] = await engine.sql.query(`SELECT count(*)::int AS n FROM warming_snapshots WHERE namespace = 'product:'`);
      expect(n).toBe(5);
    });
  });
}

registerRepositorySuite("PGlite", pglite);
if (findPostgresBinDir()) registerRepositorySuite("a PostgreSQL server", server);
