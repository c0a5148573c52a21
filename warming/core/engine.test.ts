/**
 * The engine over a real PostgreSQL engine (PGlite) and an in-memory stand-in for cache-manager's
 * API (a map of entries with expiry, an origin map and a hot-key list), with a fake clock.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { FakeClock } from "../../lib/clock.ts";
import { compileGlob } from "../../lib/glob.ts";
import { WarmingEngine, type CachePort } from "./engine.ts";
import { pgliteSql } from "../../lib/sql.ts";
import { WarmingRepository } from "./repository.ts";
import { runSpecOf, validateJob, type JobInput } from "./spec.ts";

const migration = readFileSync(join(import.meta.dirname, "../migrations/1_create_jobs.up.sql"), "utf8");
const T0 = Date.parse("2025-06-10T08:00:00Z");
const DAY = 86_400_000;

/** cache-manager as warming sees it: entries with expiry, origins, hot keys, an L3 backup tier. */
class InMemoryCache implements CachePort {
  entries = new Map<string, { value: unknown; expiresAt: number | null }>();
  origin = new Map<string, unknown>();
  hot: Array<{ key: string; count: number }> = [];
  originLoads = 0;
  /** The L3 tier's entries; `undefined`: L3 is off, and restoring fails as the cache's stub does. */
  l3: Map<string, { value: unknown; expiresAt: number }> | undefined;
  /** Every `restoreFromL3` call, as [pattern, cursor, limit]. */
  l3Calls: Array<[string, string | null, number]> = [];
  /** Makes the nth `restoreFromL3` call (1-based) fail. */
  l3FailOnCall: number | undefined;
  constructor(private readonly now: () => number) {}

  async originKeys(namespace: string, cursor: string | null, limit: number) {
    const all = [...this.origin.keys()].filter((k) => k.startsWith(namespace)).sort();
    const start = cursor === null ? 0 : Number(cursor);
    const keys = all.slice(start, start + limit);
    return { keys, cursor: start + limit < all.length ? String(start + limit) : null };
  }
  async originLoad(keys: string[]) {
    this.originLoads += keys.length;
    return keys.map((key) => (this.origin.has(key) ? { key, found: true, value: this.origin.get(key) } : { key, found: false }));
  }
  async store(entries: Array<{ key: string; value: unknown; ttlSeconds?: number }>) {
    for (const e of entries) this.entries.set(e.key, { value: e.value, expiresAt: this.now() + (e.ttlSeconds ?? 300) * 1000 });
  }
  private ttl(key: string): number {
    const entry = this.entries.get(key);
    if (!entry || (entry.expiresAt !== null && entry.expiresAt <= this.now())) return -2;
    return entry.expiresAt === null ? -1 : entry.expiresAt - this.now();
  }
  async hotKeys(limit: number) {
    return this.hot.slice(0, limit).map((h) => ({ ...h, ttlMs: this.ttl(h.key) }));
  }
  async peek(keys: string[], withValues: boolean) {
    return keys.map((key) => {
      const ttlMs = this.ttl(key);
      return ttlMs === -2 ? { key, found: false, ttlMs } : { key, found: true, ttlMs, ...(withValues ? { value: this.entries.get(key)!.value } : {}) };
    });
  }
  /** Like the cache's: entries in key order from `cursor`; expired ones and keys cached already are skipped. */
  async restoreFromL3(pattern: string, cursor: string | null, limit: number) {
    this.l3Calls.push([pattern, cursor, limit]);
    if (this.l3Calls.length === this.l3FailOnCall) throw new Error("L3 store unavailable: connection refused");
    if (!this.l3) throw new Error("L3 is not configured (CACHE_L3)");
    const match = compileGlob(pattern);
    const keys = [...this.l3.keys()].filter(match).sort();
    const start = cursor === null ? 0 : Number(cursor);
    let restored = 0;
    let skipped = 0;
    for (const key of keys.slice(start, start + limit)) {
      const { value, expiresAt } = this.l3.get(key)!;
      if (expiresAt <= this.now() || this.ttl(key) !== -2) skipped++;
      else {
        this.entries.set(key, { value, expiresAt });
        restored++;
      }
    }
    return { restored, skipped, cursor: start + limit < keys.length ? String(start + limit) : null };
  }
}

let db: PGlite;
let repo: WarmingRepository;
beforeAll(async () => {
  db = new PGlite();
  await db.exec(migration);
  repo = new WarmingRepository(pgliteSql(db));
});
afterAll(() => db.close());
beforeEach(() => db.exec("TRUNCATE warming_jobs, warming_runs, warming_hot_observations, warming_snapshots RESTART IDENTITY"));

function setup(workerId = "w1") {
  const clock = new FakeClock(T0);
  const cache = new InMemoryCache(() => clock.now());
  const engine = new WarmingEngine({ repo, cache, clock, workerId, maxRunning: 2, leaseMs: 30_000 });
  return { clock, cache, engine };
}

/** Enqueues a job's run and executes it in this engine; returns the finished run. */
async function runJob(engine: WarmingEngine, input: JobInput, now: number) {
  const job = await repo.createJob(validateJob(input), now);
  const id = await repo.enqueueRun({ jobId: job.id, jobName: job.name, trigger: "manual", priority: job.priority, spec: runSpecOf(job) }, now);
  const [run] = await repo.claim("w1", now, 1, 10);
  expect(run.id).toBe(id);
  await engine.execute(run);
  return (await repo.getRun(id))!;
}

describe("warming engine", () => {
  test("an origin job lists the namespace page by page, warms what the origin has, with the job's TTL", async () => {
    const { cache, engine } = setup();
    for (let i = 1; i <= 2500; i++) cache.origin.set(`product:${i}`, { id: i });
    cache.origin.set("user:1", { id: 1 });
    const run = await runJob(engine, { name: "all", source: { type: "origin" }, namespace: "product:", batchSize: 200, ttlSeconds: 600 }, T0);
    expect(run).toMatchObject({ status: "succeeded", warmed: 2500, failed: 0, skipped: 0, total: 2500, batches: 13 });
    expect(cache.entries.size).toBe(2500);
    expect(cache.entries.get("product:7")).toEqual({ value: { id: 7 }, expiresAt: T0 + 600_000 });
  });

  test("the hot source refreshes hot keys about to expire, and keys hot at this time of day on previous days", async () => {
    const { cache, engine, clock } = setup();
    for (let i = 1; i <= 6; i++) cache.origin.set(`product:${i}`, { id: i });
    // Now: product:1 is hot and expires in 20 s; product:2 is hot and fresh for 10 min.
    await cache.store([
      { key: "product:1", value: "old", ttlSeconds: 20 },
      { key: "product:2", value: "old", ttlSeconds: 600 },
    ]);
    cache.hot = [
      { key: "product:1", count: 50 },
      { key: "product:2", count: 40 },
    ];
    // Yesterday and the day before, around 08:15, product:3..5 were hot; product:4 is still fresh now.
    await repo.recordObservations(T0 - DAY + 15 * 60_000, [
      { key: "product:3", count: 9 },
      { key: "product:4", count: 8 },
    ]);
    await repo.recordObservations(T0 - 2 * DAY + 10 * 60_000, [{ key: "product:5", count: 3 }]);
    // At 20:00 yesterday product:6 was hot: not the same time of day.
    await repo.recordObservations(T0 - DAY + 12 * 3600_000, [{ key: "product:6", count: 99 }]);
    await cache.store([{ key: "product:4", value: "old", ttlSeconds: 3600 }]);

    const spec = runSpecOf(
      validateJob({ name: "hot", source: { type: "hot", refreshAheadSeconds: 60, lookaheadMinutes: 15, windowMinutes: 15, days: 7 }, namespace: "product:" }),
    );
    expect(await engine.predictHot(spec, clock.now())).toEqual({ keys: ["product:1", "product:3", "product:5"], skipped: 1 });

    const run = await runJob(engine, { name: "hot-run", source: { type: "hot", days: 7 }, namespace: "product:", ttlSeconds: 300 }, clock.now());
    expect(run).toMatchObject({ status: "succeeded", warmed: 3, skipped: 1, total: 4 });
    expect(cache.entries.get("product:1")).toEqual({ value: { id: 1 }, expiresAt: T0 + 300_000 });
    expect(cache.entries.get("product:2")!.value).toBe("old");
  });

  test("a snapshot saves the hottest values compressed and restores them into an empty cache without the origin", async () => {
    const { cache, engine, clock } = setup();
    for (let i = 1; i <= 30; i++) await cache.store([{ key: `product:${i}`, value: { id: i, name: `Product ${i}` }, ttlSeconds: 120 }]);
    cache.hot = Array.from({ length: 40 }, (_, i) => ({ key: `product:${i + 1}`, count: 100 - i }));
    const saved = await runJob(engine, { name: "save", source: { type: "snapshot", action: "save", topN: 35 }, namespace: "product:" }, clock.now());
    expect(saved).toMatchObject({ status: "succeeded", warmed: 30, skipped: 5 });

    cache.entries.clear();
    clock.advance(60_000);
    const restored = await runJob(engine, { name: "restore", source: { type: "snapshot", action: "restore" }, namespace: "product:" }, clock.now());
    expect(restored).toMatchObject({ status: "succeeded", warmed: 30, total: 30 });
    expect(cache.entries.size).toBe(30);
    // Saved with 120 s left, restored 60 s later: 60 s left, not a fresh 120 s.
    expect(cache.entries.get("product:3")).toEqual({ value: { id: 3, name: "Product 3" }, expiresAt: clock.now() + 60_000 });
    expect(cache.originLoads).toBe(0);
  });

  test("a snapshot restored after its values' expiry serves none of them; a job TTL never lengthens a value's life", async () => {
    const { cache, engine, clock } = setup();
    await cache.store([
      { key: "product:1", value: "short", ttlSeconds: 30 },
      { key: "product:2", value: "long", ttlSeconds: 600 },
    ]);
    cache.hot = [
      { key: "product:1", count: 2 },
      { key: "product:2", count: 1 },
    ];
    await runJob(engine, { name: "save", source: { type: "snapshot", action: "save" }, namespace: "product:" }, clock.now());
    cache.entries.clear();
    clock.advance(45_000);
    const restored = await runJob(
      engine,
      { name: "restore", source: { type: "snapshot", action: "restore" }, namespace: "product:", ttlSeconds: 3600 },
      clock.now(),
    );
    expect(restored).toMatchObject({ status: "succeeded", warmed: 1, skipped: 1, total: 2 });
    expect(cache.entries.has("product:1")).toBe(false);
    expect(cache.entries.get("product:2")).toEqual({ value: "long", expiresAt: clock.now() + 555_000 });
  });

  test("restoring when no snapshot exists fails the run with a message saying what to do", async () => {
    const { engine } = setup();
    const run = await runJob(engine, { name: "restore", source: { type: "snapshot", action: "restore" }, namespace: "user:" }, T0);
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/no snapshot of the namespace "user:" yet: run a snapshot job with action "save" first/);
  });

  test("an l3 job pages through the backup tier until the cursor is null, one page per batch, counting restored and skipped", async () => {
    const { cache, engine, clock } = setup();
    cache.l3 = new Map();
    for (let i = 1; i <= 250; i++) cache.l3.set(`product:${i}`, { value: { id: i }, expiresAt: clock.now() + 600_000 });
    for (let i = 1; i <= 5; i++) cache.l3.set(`product:old-${i}`, { value: "expired", expiresAt: clock.now() - 1 });
    cache.l3.set("user:1", { value: "other namespace", expiresAt: clock.now() + 600_000 });
    await cache.store([{ key: "product:7", value: "newer", ttlSeconds: 60 }]);

    const run = await runJob(
      engine,
      { name: "recover", source: { type: "l3", pattern: "product:*" }, namespace: "product:", batchSize: 100, concurrency: 8 },
      clock.now(),
    );
    expect(run).toMatchObject({ status: "succeeded", warmed: 249, skipped: 6, failed: 0, total: 255, batches: 3, error: null });
    expect(cache.l3Calls).toEqual([
      ["product:*", null, 100],
      ["product:*", "100", 100],
      ["product:*", "200", 100],
    ]);
    expect(cache.entries.get("product:8")).toEqual({ value: { id: 8 }, expiresAt: clock.now() + 600_000 });
    expect(cache.entries.get("product:7")!.value).toBe("newer");
    expect(cache.entries.has("user:1")).toBe(false);
    expect(cache.originLoads).toBe(0);
  });

  test("an l3 job while L3 is off fails the run, and its history says why", async () => {
    const { cache, engine } = setup();
    const run = await runJob(engine, { name: "recover", source: { type: "l3", pattern: "product:*" }, namespace: "product:" }, T0);
    expect(run).toMatchObject({ status: "failed", warmed: 0, batches: 0 });
    expect(run.error).toBe('restoring "product:*" from L3 failed on page 1: L3 is not configured (CACHE_L3)');
    expect(cache.l3Calls).toHaveLength(1);
  });

  test("an l3 page that fails midway fails the run and keeps the progress of the pages before it", async () => {
    const { cache, engine, clock } = setup();
    cache.l3 = new Map(Array.from({ length: 30 }, (_, i) => [`product:${i}`, { value: i, expiresAt: clock.now() + 60_000 }] as const));
    cache.l3FailOnCall = 2;
    const run = await runJob(engine, { name: "recover", source: { type: "l3", pattern: "product:*" }, namespace: "product:", batchSize: 10 }, clock.now());
    expect(run).toMatchObject({ status: "failed", warmed: 10, batches: 1 });
    expect(run.error).toBe('restoring "product:*" from L3 failed on page 2: L3 store unavailable: connection refused');
    expect(cache.entries.size).toBe(10);
  });

  test("a worker whose run was failed by another instance stops and leaves the failed status alone", async () => {
    const { cache, engine, clock } = setup();
    for (let i = 1; i <= 100; i++) cache.origin.set(`product:${i}`, i);
    const job = await repo.createJob(validateJob({ name: "slow", source: { type: "origin" }, namespace: "product:", batchSize: 10, concurrency: 1 }), T0);
    await repo.enqueueRun({ jobId: job.id, trigger: "manual", priority: 5, spec: runSpecOf(job) }, T0);
    const [run] = await repo.claim("w1", T0, 1, 10);
    const load = cache.originLoad.bind(cache);
    let calls = 0;
    cache.originLoad = async (keys) => {
      // During the third batch, another instance sees no heartbeat for longer than the lease.
      if (++calls === 3) expect(await repo.reapExpired(clock.now() + 31_000, 30_000)).toHaveLength(1);
      return load(keys);
    };
    await engine.execute(run);
    const after = (await repo.getRun(run.id))!;
    expect(after.status).toBe("failed");
    expect(after.error).toMatch(/stopped renewing its lease/);
    expect(cache.entries.size).toBe(30);
  });

  test("two engines ticking at the same due times enqueue each due time once", async () => {
    const a = setup("wa");
    const b = setup("wb");
    const job = await repo.createJob(validateJob({ name: "every-5", schedule: "*/5 * * * *", source: { type: "keys", keys: ["product:1"] } }), T0);
    const enqueued: number[] = [];
    for (let minute = 1; minute <= 30; minute++) {
      const now = T0 + minute * 60_000 + 500;
      const [ra, rb] = await Promise.all([a.engine.tick(now), b.engine.tick(now)]);
      enqueued.push(...ra.enqueued.map((e) => e.dueAt), ...rb.enqueued.map((e) => e.dueAt));
    }
    expect(enqueued).toHaveLength(6);
    expect(new Set(enqueued).size).toBe(6);
    const runs = await repo.listRuns({ jobId: job.id, limit: 100 });
    expect(runs.map((r) => r.dueAt).sort()).toEqual([5, 10, 15, 20, 25, 30].map((m) => T0 + m * 60_000));
    a.engine.stop();
    b.engine.stop();
  });
});
