/**
 * The cluster-wide snapshot `GET /api/metrics` answers and the live stream sends: totals since
 * the instances started (exact sums), rates and percentiles over a recent window (merged
 * increases), sizes, and one row per instance. Also the instance list of `GET /api/instances`
 * and the merged top keys. Pure.
 */
import {
  CACHE_COUNTERS,
  CACHE_GAUGES,
  CACHE_SKETCHES,
  INVALIDATION_COUNTERS,
  REQUEST_TIERS,
  WARMING_COUNTERS,
  type RequestTier,
} from "../../lib/metrics/names.ts";
import type { MetricsReport } from "../../lib/metrics/report.ts";
import type { LatencyHistogram } from "../../lib/metrics/histogram.ts";
import { byLabel, maximum, mergeReports, readSketch, total, type MergedMetrics } from "./series.ts";
import type { WindowView } from "./window.ts";

export interface Percentiles {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  /** Requests the percentiles are computed from. */
  count: number;
}

export interface TierLatency extends Percentiles {
  tier: RequestTier;
}

export interface TierRate {
  tier: RequestTier;
  opsPerSecond: number;
}

export interface LabelCount {
  label: string;
  count: number;
}

export interface InstanceRow {
  service: string;
  instanceId: string;
  /** ISO time of the instance's last report. */
  lastReportAt: string;
  ageMs: number;
  /** `healthy`, `degraded` (breaker open or a degraded level) or `late` (a report is overdue). */
  health: "healthy" | "degraded" | "late";
  hits: number;
  misses: number;
  hitRatio: number | null;
  l1Bytes: number;
  l1Entries: number;
  breaker: string | null;
  level: string | null;
  /** p99 of this instance's requests since it started, all tiers, ms. */
  p99Ms: number | null;
}

export interface MetricsSnapshot {
  at: string;
  /** The seconds the rates and percentiles cover. */
  windowSeconds: number;
  instances: number;
  /** hits / (hits + misses) over the window; null without traffic. */
  hitRatio: number | null;
  /** The same since the instances started. */
  hitRatioTotal: number | null;
  opsPerSecond: TierRate[];
  totalOpsPerSecond: number;
  /** Request latency by the tier that answered, over the window, ms. */
  latencyMs: TierLatency[];
  totals: {
    hitsL1: number;
    hitsL2: number;
    hitsL3: number;
    misses: number;
    loads: number;
    loadFailures: number;
    sets: number;
    deletes: number;
    evictions: number;
    errors: number;
    invalidations: number;
    invalidatedKeys: number;
    warmingRuns: number;
    warmedKeys: number;
  };
  errorsByType: LabelCount[];
  invalidationsByKind: LabelCount[];
  warmingRunsByStatus: LabelCount[];
  sizes: { l1Bytes: number; l1Entries: number };
  /** Instances whose L2 breaker is not closed. */
  breakerOpenInstances: number;
  writeBehind: { depth: number; lagSeconds: number } | null;
  coherenceLagSeconds: number | null;
  perInstance: InstanceRow[];
}

export const QUANTILES = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 } as const;

export function percentiles(sketch: LatencyHistogram | undefined): Percentiles | null {
  if (!sketch || sketch.count === 0) return null;
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    p50: round(sketch.quantile(QUANTILES.p50)),
    p90: round(sketch.quantile(QUANTILES.p90)),
    p95: round(sketch.quantile(QUANTILES.p95)),
    p99: round(sketch.quantile(QUANTILES.p99)),
    count: sketch.count,
  };
}

const ratio = (hits: number, misses: number) => (hits + misses > 0 ? hits / (hits + misses) : null);

/** Fresh: the report is at most 1.5 intervals (+ 250 ms of transit) old. */
export function instanceHealth(report: MetricsReport, now: number): InstanceRow["health"] {
  if (now - report.at > report.intervalMs * 1.5 + 250) return "late";
  const breaker = report.gauges.find((g) => g.name === CACHE_GAUGES.breakerOpen);
  const level = report.gauges.find((g) => g.name === CACHE_GAUGES.degradationLevel && g.value === 1);
  if ((breaker && breaker.value > 0) || (level && level.labels?.level !== "normal")) return "degraded";
  return "healthy";
}

/** One row per live instance, sorted by service then id. */
export function instanceRows(reports: readonly MetricsReport[], now: number): InstanceRow[] {
  return reports
    .map((report): InstanceRow => {
      const one = mergeReports([report]);
      const hits = total(one.counters, CACHE_COUNTERS.hits);
      const misses = total(one.counters, CACHE_COUNTERS.misses);
      const all = report.sketches
        .filter((s) => s.name === CACHE_SKETCHES.requestDuration)
        .map((s) => readSketch(s.sketch))
        .reduce<LatencyHistogram | undefined>((acc, s) => (s ? (acc ? acc.merge(s) : s) : acc), undefined);
      const state = (name: string, label: string) => report.gauges.find((g) => g.name === name && g.value === 1)?.labels?.[label] ?? null;
      return {
        service: report.service,
        instanceId: report.instanceId,
        lastReportAt: new Date(report.at).toISOString(),
        ageMs: Math.max(0, now - report.at),
        health: instanceHealth(report, now),
        hits,
        misses,
        hitRatio: ratio(hits, misses),
        l1Bytes: total(one.gauges, CACHE_GAUGES.sizeBytes),
        l1Entries: total(one.gauges, CACHE_GAUGES.entries),
        breaker: state(CACHE_GAUGES.breakerState, "state"),
        level: state(CACHE_GAUGES.degradationLevel, "level"),
        p99Ms: all && all.count > 0 ? Math.round(all.quantile(0.99) * 1000) / 1000 : null,
      };
    })
    .sort((a, b) => a.service.localeCompare(b.service) || a.instanceId.localeCompare(b.instanceId));
}

function labelCounts(merged: MergedMetrics, name: string, label: string): LabelCount[] {
  return byLabel(merged.counters, name, label).map(({ value, total: count }) => ({ label: value, count }));
}

/** The snapshot of `reports` (the live ones) with rates from `recent`. */
export function buildSnapshot(reports: readonly MetricsReport[], recent: WindowView, now: number): MetricsSnapshot {
  const merged = mergeReports(reports);
  const c = merged.counters;
  const seconds = recent.seconds;
  const tierSketch = (tier: RequestTier) =>
    [...recent.sketches.values()].find((s) => s.name === CACHE_SKETCHES.requestDuration && s.labels.tier === tier)?.sketch;
  const opsPerSecond = REQUEST_TIERS.map((tier) => ({ tier, opsPerSecond: seconds > 0 ? round2((tierSketch(tier)?.count ?? 0) / seconds) : 0 }));
  const latencyMs = REQUEST_TIERS.flatMap((tier) => {
    const p = percentiles(tierSketch(tier));
    return p ? [{ tier, ...p }] : [];
  });
  const wbDepth = maximum(merged.gauges, CACHE_GAUGES.writeBehindDepth);
  const hits = total(c, CACHE_COUNTERS.hits);
  const misses = total(c, CACHE_COUNTERS.misses);
  return {
    at: new Date(now).toISOString(),
    windowSeconds: round2(seconds),
    instances: reports.length,
    hitRatio: ratio(total(recent.counters, CACHE_COUNTERS.hits), total(recent.counters, CACHE_COUNTERS.misses)),
    hitRatioTotal: ratio(hits, misses),
    opsPerSecond,
    totalOpsPerSecond: round2(opsPerSecond.reduce((sum, r) => sum + r.opsPerSecond, 0)),
    latencyMs,
    totals: {
      hitsL1: total(c, CACHE_COUNTERS.hits, { tier: "l1" }),
      hitsL2: total(c, CACHE_COUNTERS.hits, { tier: "l2" }),
      hitsL3: total(c, CACHE_COUNTERS.hits, { tier: "l3" }),
      misses,
      loads: total(c, CACHE_COUNTERS.loads),
      loadFailures: total(c, CACHE_COUNTERS.loads, { result: "failed" }),
      sets: total(c, CACHE_COUNTERS.sets),
      deletes: total(c, CACHE_COUNTERS.deletes),
      evictions: total(c, CACHE_COUNTERS.evictions),
      errors: total(c, CACHE_COUNTERS.errors),
      invalidations: total(c, INVALIDATION_COUNTERS.invalidations),
      invalidatedKeys: total(c, INVALIDATION_COUNTERS.invalidatedKeys),
      warmingRuns: total(c, WARMING_COUNTERS.runs),
      warmedKeys: total(c, WARMING_COUNTERS.warmedKeys),
    },
    errorsByType: labelCounts(merged, CACHE_COUNTERS.errors, "type"),
    invalidationsByKind: labelCounts(merged, INVALIDATION_COUNTERS.invalidations, "kind"),
    warmingRunsByStatus: labelCounts(merged, WARMING_COUNTERS.runs, "status"),
    sizes: { l1Bytes: total(merged.gauges, CACHE_GAUGES.sizeBytes), l1Entries: total(merged.gauges, CACHE_GAUGES.entries) },
    breakerOpenInstances: reports.filter((r) => r.gauges.some((g) => g.name === CACHE_GAUGES.breakerOpen && g.value > 0)).length,
    writeBehind: wbDepth === null ? null : { depth: wbDepth, lagSeconds: maximum(merged.gauges, CACHE_GAUGES.writeBehindLagSeconds) ?? 0 },
    coherenceLagSeconds: maximum(merged.gauges, CACHE_GAUGES.coherenceLagSeconds),
    perInstance: instanceRows(reports, now),
  };
}

export interface TopKeysView {
  hits: Array<{ key: string; count: number }>;
  misses: Array<{ key: string; count: number }>;
}

/** The instances' top keys merged: counts of the same key added, highest first; only keys `keep` accepts. */
export function mergeTopKeys(reports: readonly MetricsReport[], limit = 20, keep: (key: string) => boolean = () => true): TopKeysView {
  const merge = (pick: (r: MetricsReport) => Array<{ key: string; count: number }> | undefined) => {
    const counts = new Map<string, number>();
    for (const report of reports) for (const { key, count } of pick(report) ?? []) if (keep(key)) counts.set(key, (counts.get(key) ?? 0) + count);
    return [...counts]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, limit)
      .map(([key, count]) => ({ key, count: Math.round(count * 100) / 100 }));
  };
  return { hits: merge((r) => r.topKeys?.hits), misses: merge((r) => r.topKeys?.misses) };
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
