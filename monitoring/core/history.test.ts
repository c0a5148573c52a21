/** History in a real PostgreSQL (PGlite), driven by a fake clock: downsampling, windows, retention. */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { HistoryStore, RETENTION_MS } from "./history.ts";
import { migratedDatabase } from "./pglite.ts";
import type { SqlQuery as SqlQuery } from "../../lib/sql.ts";
import { cacheReport } from "./testing.ts";
import { RecentWindow } from "./window.ts";

let db: Awaited<ReturnType<typeof migratedDatabase>>;
beforeAll(async () => {
  db = await migratedDatabase();
});
afterAll(async () => {
  await db?.close();
});

const T0 = Date.UTC(2025, 0, 1, 0, 0, 0);

/** One instance doing `hitsPerSecond` L1 hits (latency `ms`) and one miss a second, ticked each second. */
function traffic(sql: SqlQuery, clock: { now: number }) {
  const store = new HistoryStore(sql, () => clock.now);
  const window = new RecentWindow();
  let hits = 0;
  let misses = 0;
  const latencies: number[] = [];
  return {
    store,
    async second(hitsPerSecond: number, ms: number) {
      hits += hitsPerSecond;
      misses += 1;
      for (let i = 0; i < hitsPerSecond; i++) latencies.push(ms);
      const report = cacheReport("a", clock.now, { hitsL1: hits, misses, latencies: { l1: latencies } });
      const step = window.observe([report], clock.now);
      if (step.ms > 0) await store.append(clock.now, (await import("./history.ts")).pointFromStep(step, [report]));
      await store.maintain();
      clock.now += 1000;
    },
  };
}

describe("metric history", () => {
  test("1 s points roll up into 10 s and 1 min points whose counts and percentiles cover their buckets", async () => {
    await db.sql.query("DELETE FROM metric_history");
    const clock = { now: T0 };
    const t = traffic(db.sql, clock);
    // Two minutes and a bit: 100 hits/s at 2 ms in the first minute, 10 hits/s at 40 ms in the second.
    for (let s = 0; s <= 60; s++) await t.second(100, 2);
    for (let s = 0; s < 62; s++) await t.second(10, 40);
    const counts = await t.store.counts();
    expect(counts["1s"]).toBe(122); // the first tick is a baseline
    expect(counts["10s"]).toBe(12);
    expect(counts["1m"]).toBe(2);

    const minute = await t.store.query("24h");
    expect(minute.resolution).toBe("1m");
    expect(minute.points.map((p) => p.at)).toEqual([new Date(T0).toISOString(), new Date(T0 + 60_000).toISOString()]);
    // First minute: seconds 1..59 of traffic at 100/s (second 0 is the baseline; second 60 belongs to the next minute).
    expect(minute.points[0].opsPerSecond.l1).toBeCloseTo((59 * 100) / 60, 2);
    expect(minute.points[0].p99Ms.l1).toBeCloseTo(2, 1);
    expect(minute.points[1].p99Ms.l1).toBeCloseTo(40, 0);
    expect(minute.points[1].p50Ms.l1).toBeCloseTo(40, 0);
    expect(minute.points[1].missesPerSecond).toBe(1);

    const fine = await t.store.query("1m");
    expect(fine.resolution).toBe("1s");
    expect(fine.points.length).toBe(60);
    expect(fine.points.at(-1)!.opsPerSecond.l1).toBe(10);
    expect(fine.points.at(-1)!.hitRatio).toBeCloseTo(10 / 11, 6);

    const tens = await t.store.query("5m");
    expect(tens.resolution).toBe("10s");
    expect(tens.points.length).toBe(12);
    expect(tens.points.at(-1)!.opsPerSecond.l1).toBe(10);
  });

  test("points are kept per resolution for their retention (1 min kept ≥ 24 h) and pruned after", async () => {
    await db.sql.query("DELETE FROM metric_history");
    const clock = { now: T0 };
    const t = traffic(db.sql, clock);
    // A burst of two seconds every 10 minutes, for 26 hours.
    for (let burst = 0; burst < 26 * 6; burst++) {
      await t.second(5, 1);
      await t.second(5, 1);
      await t.second(5, 1);
      clock.now += 10 * 60_000 - 3000;
    }
    await t.store.maintain(); // the last burst's buckets complete
    await t.store.prune();
    const now = clock.now;
    const oldest = async (resolution: string) =>
      Number((await db.sql.query<{ m: string }>("SELECT min(at_ms) AS m FROM metric_history WHERE resolution = $1", [resolution]))[0].m);
    expect(now - (await oldest("1s"))).toBeLessThanOrEqual(RETENTION_MS["1s"]);
    expect(now - (await oldest("10s"))).toBeLessThanOrEqual(RETENTION_MS["10s"]);
    expect(now - (await oldest("1m"))).toBeLessThanOrEqual(RETENTION_MS["1m"]);
    expect(now - (await oldest("1m"))).toBeGreaterThan(24 * 3600_000);
    const day = await t.store.query("24h");
    // One 1-minute point per burst in the last 24 h.
    expect(day.points.length).toBe(24 * 6);
    expect(Date.parse(day.points[0].at)).toBeGreaterThanOrEqual(now - 24 * 3600_000);
    expect((await t.store.counts())["1s"]).toBeLessThanOrEqual(2 * 2);
  });

  test("writing the same second twice (two monitoring processes) keeps one point", async () => {
    await db.sql.query("DELETE FROM metric_history");
    const clock = { now: T0 };
    const a = traffic(db.sql, clock);
    await a.second(1, 1);
    await a.second(1, 1);
    clock.now -= 1000;
    await a.second(1, 1);
    expect((await a.store.counts())["1s"]).toBe(1);
  });

  test("L3 hits and requests are their own series, rolled up like the others, and count in the hit ratio", async () => {
    await db.sql.query("DELETE FROM metric_history");
    const clock = { now: T0 };
    const store = new HistoryStore(db.sql, () => clock.now);
    const window = new RecentWindow();
    const { pointFromStep } = await import("./history.ts");
    const l3: number[] = [];
    for (let s = 0; s <= 20; s++) {
      for (let i = 0; i < 4; i++) l3.push(15);
      const report = cacheReport("a", clock.now, { hitsL3: 4 * (s + 1), misses: s + 1, latencies: { l3 } });
      const step = window.observe([report], clock.now);
      if (step.ms > 0) await store.append(clock.now, pointFromStep(step, [report]));
      await store.maintain();
      clock.now += 1000;
    }
    const fine = await store.query("1m");
    expect(fine.points.at(-1)!.opsPerSecond).toEqual({ l1: 0, l2: 0, l3: 4, origin: 0, total: 4 });
    expect(fine.points.at(-1)!.hitRatio).toBeCloseTo(4 / 5, 6);
    expect(fine.points.at(-1)!.p99Ms.l3).toBeCloseTo(15, 0);
    expect(fine.points.at(-1)!.p99Ms.l1).toBeNull();
    const tens = await store.query("5m");
    expect(tens.points.at(-1)!.opsPerSecond.l3).toBe(4);
    expect(tens.points.at(-1)!.p50Ms.l3).toBeCloseTo(15, 0);
  });

  test("a point stored before L3 existed reads back with no L3 traffic", async () => {
    await db.sql.query("DELETE FROM metric_history");
    const clock = { now: T0 + 5_000 };
    const store = new HistoryStore(db.sql, () => clock.now);
    const p50 = { p50: 1, p90: 1, p95: 1, p99: 2, count: 10 };
    const legacy = {
      seconds: 1,
      counters: {
        hitsL1: 10,
        hitsL2: 0,
        misses: 10,
        requestsL1: 10,
        requestsL2: 0,
        requestsOrigin: 10,
        loads: 10,
        sets: 0,
        deletes: 0,
        errors: 0,
        evictions: 0,
        invalidatedKeys: 0,
        warmedKeys: 0,
      },
      gauges: {
        instances: 1,
        l1Bytes: 0,
        l1Entries: 0,
        writeBehindDepth: null,
        writeBehindLagSeconds: null,
        coherenceLagSeconds: null,
        breakerOpenInstances: 0,
      },
      latencyMs: { l1: p50, l2: null, origin: p50 },
    };
    await db.sql.query("INSERT INTO metric_history (resolution, at_ms, summary, sketches) VALUES ('1s', $1, $2::jsonb, '{}'::jsonb)", [
      T0,
      JSON.stringify(legacy),
    ]);
    const [point] = (await store.query("1m")).points;
    expect(point.opsPerSecond).toEqual({ l1: 10, l2: 0, l3: 0, origin: 10, total: 20 });
    expect(point.hitRatio).toBe(0.5);
    expect(point.p99Ms).toEqual({ l1: 2, l2: null, l3: null, origin: 2 });
  });
});
