/**
 * Metric history in PostgreSQL, downsampled: a point per second (`1s`), rolled up into 10-second
 * and 1-minute points as each bucket completes, and pruned by age per resolution. A point holds
 * the increases of its interval (counters summed, sketches merged), gauges at its end, and the
 * percentiles computed when it was written, so reading a window never touches a sketch.
 *
 * | resolution | kept for | serves window |
 * | --- | --- | --- |
 * | 1s  | 15 min | 1m (60 points) |
 * | 10s | 3 h    | 5m (30 points), 1h (360 points) |
 * | 1m  | 25 h   | 24h (1,440 points) |
 *
 * Writes are idempotent (`ON CONFLICT`): two monitoring processes writing the same second do no
 * harm, and a rollup recomputed from its sources gives the same row. The clock is injected.
 */
import { LatencyHistogram } from "../../lib/metrics/histogram.ts";
import { CACHE_COUNTERS, CACHE_GAUGES, CACHE_SKETCHES, INVALIDATION_COUNTERS, REQUEST_TIERS, WARMING_COUNTERS } from "../../lib/metrics/names.ts";
import type { MetricsReport } from "../../lib/metrics/report.ts";
import { maximum, mergeReports, total } from "./series.ts";
import { percentiles, type Percentiles } from "./snapshot.ts";
import type { SqlQuery as SqlQuery } from "../../lib/sql.ts";
import type { Step } from "./window.ts";

export type Resolution = "1s" | "10s" | "1m";
export const WINDOWS = ["1m", "5m", "1h", "24h"] as const;
export type HistoryWindow = (typeof WINDOWS)[number];

const RESOLUTION_MS: Record<Resolution, number> = { "1s": 1_000, "10s": 10_000, "1m": 60_000 };
export const RETENTION_MS: Record<Resolution, number> = { "1s": 15 * 60_000, "10s": 3 * 3600_000, "1m": 25 * 3600_000 };
const WINDOW_PLAN: Record<HistoryWindow, { resolution: Resolution; ms: number }> = {
  "1m": { resolution: "1s", ms: 60_000 },
  "5m": { resolution: "10s", ms: 5 * 60_000 },
  "1h": { resolution: "10s", ms: 3600_000 },
  "24h": { resolution: "1m", ms: 24 * 3600_000 },
};
const ROLLUPS: Array<{ to: Resolution; from: Resolution }> = [
  { to: "10s", from: "1s" },
  { to: "1m", from: "10s" },
];
/** On its first run, a rollup looks back this many buckets (older ones are left as they are). */
const ROLLUP_LOOKBACK_BUCKETS = 6;

export function isHistoryWindow(value: string): value is HistoryWindow {
  return (WINDOWS as readonly string[]).includes(value);
}

/** What one point carries besides its sketches. */
export interface PointCounters {
  hitsL1: number;
  hitsL2: number;
  /** Absent from points stored before L3 existed (read as 0). */
  hitsL3: number;
  misses: number;
  requestsL1: number;
  requestsL2: number;
  requestsL3: number;
  requestsOrigin: number;
  loads: number;
  sets: number;
  deletes: number;
  errors: number;
  evictions: number;
  invalidatedKeys: number;
  warmedKeys: number;
}

export interface PointGauges {
  instances: number;
  l1Bytes: number;
  l1Entries: number;
  writeBehindDepth: number | null;
  writeBehindLagSeconds: number | null;
  coherenceLagSeconds: number | null;
  breakerOpenInstances: number;
}

export interface PointSummary {
  seconds: number;
  counters: PointCounters;
  gauges: PointGauges;
  /** `l3` is absent from points stored before L3 existed. */
  latencyMs: { l1: Percentiles | null; l2: Percentiles | null; l3?: Percentiles | null; origin: Percentiles | null };
}

/** One value per answering tier (null: no request that tier answered in the point). */
export interface TierValues {
  l1: number | null;
  l2: number | null;
  l3: number | null;
  origin: number | null;
}

/** What `GET /api/metrics/history` returns per point. */
export interface HistoryPoint {
  at: string;
  hitRatio: number | null;
  opsPerSecond: { l1: number; l2: number; l3: number; origin: number; total: number };
  missesPerSecond: number;
  errorsPerSecond: number;
  evictionsPerSecond: number;
  p50Ms: TierValues;
  p99Ms: TierValues;
  l1Bytes: number;
  l1Entries: number;
  instances: number;
  writeBehindLagSeconds: number | null;
  coherenceLagSeconds: number | null;
}

type TierSketches = Partial<Record<(typeof REQUEST_TIERS)[number], LatencyHistogram>>;

const ZERO_COUNTERS: PointCounters = {
  hitsL1: 0,
  hitsL2: 0,
  hitsL3: 0,
  misses: 0,
  requestsL1: 0,
  requestsL2: 0,
  requestsL3: 0,
  requestsOrigin: 0,
  loads: 0,
  sets: 0,
  deletes: 0,
  errors: 0,
  evictions: 0,
  invalidatedKeys: 0,
  warmedKeys: 0,
};

/** A 1-second point from one observation step and the live reports at its end. */
export function pointFromStep(step: Step, reports: readonly MetricsReport[]): { summary: PointSummary; sketches: TierSketches } {
  const c = step.counters;
  const sketches: TierSketches = {};
  for (const s of step.sketches.values()) {
    if (s.name === CACHE_SKETCHES.requestDuration && (REQUEST_TIERS as readonly string[]).includes(s.labels.tier))
      sketches[s.labels.tier as keyof TierSketches] = s.sketch;
  }
  const merged = mergeReports(reports);
  const counters: PointCounters = {
    hitsL1: total(c, CACHE_COUNTERS.hits, { tier: "l1" }),
    hitsL2: total(c, CACHE_COUNTERS.hits, { tier: "l2" }),
    hitsL3: total(c, CACHE_COUNTERS.hits, { tier: "l3" }),
    misses: total(c, CACHE_COUNTERS.misses),
    requestsL1: sketches.l1?.count ?? 0,
    requestsL2: sketches.l2?.count ?? 0,
    requestsL3: sketches.l3?.count ?? 0,
    requestsOrigin: sketches.origin?.count ?? 0,
    loads: total(c, CACHE_COUNTERS.loads),
    sets: total(c, CACHE_COUNTERS.sets),
    deletes: total(c, CACHE_COUNTERS.deletes),
    errors: total(c, CACHE_COUNTERS.errors),
    evictions: total(c, CACHE_COUNTERS.evictions),
    invalidatedKeys: total(c, INVALIDATION_COUNTERS.invalidatedKeys),
    warmedKeys: total(c, WARMING_COUNTERS.warmedKeys),
  };
  const gauges: PointGauges = {
    instances: reports.length,
    l1Bytes: total(merged.gauges, CACHE_GAUGES.sizeBytes),
    l1Entries: total(merged.gauges, CACHE_GAUGES.entries),
    writeBehindDepth: maximum(merged.gauges, CACHE_GAUGES.writeBehindDepth),
    writeBehindLagSeconds: maximum(merged.gauges, CACHE_GAUGES.writeBehindLagSeconds),
    coherenceLagSeconds: maximum(merged.gauges, CACHE_GAUGES.coherenceLagSeconds),
    breakerOpenInstances: reports.filter((r) => r.gauges.some((g) => g.name === CACHE_GAUGES.breakerOpen && g.value > 0)).length,
  };
  return { summary: summarize(1, counters, gauges, sketches), sketches };
}

function summarize(seconds: number, counters: PointCounters, gauges: PointGauges, sketches: TierSketches): PointSummary {
  return {
    seconds,
    counters,
    gauges,
    latencyMs: { l1: percentiles(sketches.l1), l2: percentiles(sketches.l2), l3: percentiles(sketches.l3), origin: percentiles(sketches.origin) },
  };
}

/** What a stored point reads back as for the API; points stored before L3 existed read 0 / null for it. */
export function toHistoryPoint(atMs: number, s: PointSummary): HistoryPoint {
  const per = (n: number) => Math.round((n / s.seconds) * 100) / 100;
  const c = s.counters;
  const hitsL3 = c.hitsL3 ?? 0;
  const requestsL3 = c.requestsL3 ?? 0;
  const hits = c.hitsL1 + c.hitsL2 + hitsL3;
  const requests = c.requestsL1 + c.requestsL2 + requestsL3 + c.requestsOrigin;
  const byTier = (pick: (p: Percentiles) => number): TierValues => ({
    l1: s.latencyMs.l1 ? pick(s.latencyMs.l1) : null,
    l2: s.latencyMs.l2 ? pick(s.latencyMs.l2) : null,
    l3: s.latencyMs.l3 ? pick(s.latencyMs.l3) : null,
    origin: s.latencyMs.origin ? pick(s.latencyMs.origin) : null,
  });
  return {
    at: new Date(atMs).toISOString(),
    hitRatio: hits + c.misses > 0 ? hits / (hits + c.misses) : null,
    opsPerSecond: { l1: per(c.requestsL1), l2: per(c.requestsL2), l3: per(requestsL3), origin: per(c.requestsOrigin), total: per(requests) },
    missesPerSecond: per(c.misses),
    errorsPerSecond: per(c.errors),
    evictionsPerSecond: per(c.evictions),
    p50Ms: byTier((p) => p.p50),
    p99Ms: byTier((p) => p.p99),
    l1Bytes: s.gauges.l1Bytes,
    l1Entries: s.gauges.l1Entries,
    instances: s.gauges.instances,
    writeBehindLagSeconds: s.gauges.writeBehindLagSeconds,
    coherenceLagSeconds: s.gauges.coherenceLagSeconds,
  };
}

interface Row {
  at_ms: string | number;
  summary: PointSummary | string;
  sketches?: Record<string, unknown> | string | null;
}

const json = <T>(v: T | string): T => (typeof v === "string" ? (JSON.parse(v) as T) : v);

export class HistoryStore {
  private readonly rolledUpTo = new Map<Resolution, number>();
  private lastPruneAt = -Infinity;

  constructor(
    private readonly sql: SqlQuery,
    private readonly now: () => number = Date.now,
  ) {}

  /** Stores the 1-second point of the second that contains `atMs`. */
  async append(atMs: number, point: { summary: PointSummary; sketches: TierSketches }): Promise<void> {
    const at = Math.floor(atMs / 1000) * 1000;
    await this.upsert("1s", at, point.summary, point.sketches);
  }

  /** Rolls up the buckets completed since the last call, and prunes once a minute. */
  async maintain(): Promise<void> {
    const now = this.now();
    for (const { to, from } of ROLLUPS) {
      const size = RESOLUTION_MS[to];
      const end = Math.floor(now / size) * size; // buckets before `end` are complete
      // Every bucket completed since the last call that has source points (gaps cost nothing);
      // on the first call, the last few.
      const from_ = this.rolledUpTo.get(to) ?? end - ROLLUP_LOOKBACK_BUCKETS * size;
      if (end > from_) {
        const starts = await this.sql.query<{ start: string | number }>(
          "SELECT DISTINCT (at_ms / $2) * $2 AS start FROM metric_history WHERE resolution = $1 AND at_ms >= $3 AND at_ms < $4 ORDER BY start",
          [from, size, from_, end],
        );
        for (const { start } of starts) await this.rollup(to, from, Number(start));
      }
      this.rolledUpTo.set(to, end);
    }
    if (now - this.lastPruneAt >= 60_000) {
      await this.prune();
      this.lastPruneAt = now;
    }
  }

  /** Deletes the points older than their resolution's retention. */
  async prune(): Promise<void> {
    const now = this.now();
    for (const resolution of Object.keys(RETENTION_MS) as Resolution[]) {
      await this.sql.query("DELETE FROM metric_history WHERE resolution = $1 AND at_ms < $2", [resolution, now - RETENTION_MS[resolution]]);
    }
  }

  /** The points of `window`, oldest first, at the resolution that serves it. */
  async query(window: HistoryWindow): Promise<{ resolution: Resolution; points: HistoryPoint[] }> {
    const plan = WINDOW_PLAN[window];
    const rows = await this.sql.query<Row>("SELECT at_ms, summary FROM metric_history WHERE resolution = $1 AND at_ms >= $2 ORDER BY at_ms", [
      plan.resolution,
      this.now() - plan.ms,
    ]);
    return { resolution: plan.resolution, points: rows.map((r) => toHistoryPoint(Number(r.at_ms), json(r.summary))) };
  }

  /** How many points each resolution holds (for tests and the README's sizing). */
  async counts(): Promise<Record<Resolution, number>> {
    const rows = await this.sql.query<{ resolution: Resolution; n: string | number }>(
      "SELECT resolution, count(*) AS n FROM metric_history GROUP BY resolution",
    );
    const out: Record<Resolution, number> = { "1s": 0, "10s": 0, "1m": 0 };
    for (const r of rows) out[r.resolution] = Number(r.n);
    return out;
  }

  private async rollup(to: Resolution, from: Resolution, start: number): Promise<void> {
    const rows = await this.sql.query<Row>(
      "SELECT at_ms, summary, sketches FROM metric_history WHERE resolution = $1 AND at_ms >= $2 AND at_ms < $3 ORDER BY at_ms",
      [from, start, start + RESOLUTION_MS[to]],
    );
    if (rows.length === 0) return;
    const counters = { ...ZERO_COUNTERS };
    const sketches: TierSketches = {};
    let gauges: PointGauges | undefined;
    let worst = { writeBehindLagSeconds: null as number | null, coherenceLagSeconds: null as number | null, breakerOpenInstances: 0 };
    for (const row of rows) {
      const s = json(row.summary);
      for (const k of Object.keys(counters) as (keyof PointCounters)[]) counters[k] += s.counters[k] ?? 0;
      gauges = s.gauges; // sizes: the bucket's last value
      worst = {
        writeBehindLagSeconds: maxOrNull(worst.writeBehindLagSeconds, s.gauges.writeBehindLagSeconds),
        coherenceLagSeconds: maxOrNull(worst.coherenceLagSeconds, s.gauges.coherenceLagSeconds),
        breakerOpenInstances: Math.max(worst.breakerOpenInstances, s.gauges.breakerOpenInstances),
      };
      const stored = json(row.sketches ?? {}) as Record<string, unknown>;
      for (const tier of REQUEST_TIERS) {
        if (!stored[tier]) continue;
        const sketch = LatencyHistogram.fromJSON(stored[tier]);
        sketches[tier] = sketches[tier] ? sketches[tier]!.merge(sketch) : sketch;
      }
    }
    // Lags and breakers: the bucket's worst value, so a short spike survives downsampling.
    const summary = summarize(RESOLUTION_MS[to] / 1000, counters, { ...gauges!, ...worst }, sketches);
    await this.upsert(to, start, summary, sketches);
  }

  private async upsert(resolution: Resolution, at: number, summary: PointSummary, sketches: TierSketches): Promise<void> {
    const stored = Object.fromEntries(Object.entries(sketches).map(([tier, s]) => [tier, s.toJSON()]));
    await this.sql.query(
      `INSERT INTO metric_history (resolution, at_ms, summary, sketches) VALUES ($1, $2, $3::jsonb, $4::jsonb)
       ON CONFLICT (resolution, at_ms) DO UPDATE SET summary = EXCLUDED.summary, sketches = EXCLUDED.sketches`,
      [resolution, at, JSON.stringify(summary), JSON.stringify(stored)],
    );
  }
}

function maxOrNull(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
