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
  /** `healthy`, `degraded` (breaker open, a degraded level, or L3 degraded) or `late` (a report is overdue). */
  health: "healthy" | "degraded" | "late";
  hits: number;
  misses: number;
  hitRatio: number | null;
  l1Bytes: number;
  l1Entries: number;
  breaker: string | null;
  level: string | null;
  /** The instance's L3 state (`off`, `ok`, `degraded`); null when it does not report one (not a cache-manager, or an older build). */
  l3State: string | null;
  /** Invalidations this instance has not applied to L3 yet; null as for `l3State`. */
  l3PendingInvalidations: number | null;
  /** How long the oldest write of this instance's last L3 copy batch waited, s; null before its first batch or without L3. */
  l3CopierLagSeconds: number | null;
  /** p99 of this instance's requests since it started, all tiers, ms. */
  p99Ms: number | null;
}

/** The L3 backup tier across the cache-manager instances. */
export interface L3Summary {
  /** `degraded` when any instance's L3 is, else `ok` when any instance has L3, else `off` (also when none reports it). */
  state: "off" | "ok" | "degraded";
  /** Cache-manager instances by L3 state. */
  instancesOk: number;
  instancesDegraded: number;
  instancesOff: number;
  /** Instances whose L3 breaker is not closed. */
  breakerOpenInstances: number;
  /**
   * The largest backlog of invalidations an instance has not applied to L3: the largest, not the
   * sum, so a backlog the instances share is not counted once per instance.
   */
  pendingInvalidations: number;
  /** Keys copied from L2 into L3, and failed copy batches, since the instances started (summed). */
  copied: number;
  copyFailures: number;
  /**
   * The longest copier lag of the instances, seconds: how long the oldest write of an instance's
   * last copy batch waited to reach L3 (after Redis loses its data, writes younger than this may
   * be missing from L3). The largest, as the oldest write not yet in L3 is what an operator
   * loses. Null until an instance's copier finished a batch.
   */
  copierLagSeconds: number | null;
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
  l3: L3Summary;
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
  if ((breaker && breaker.value > 0) || (level && level.labels?.level !== "normal") || l3StateOf(report) === "degraded") return "degraded";
  return "healthy";
}

/** The label `label` of the one-hot gauge `name` that is 1 in `report`, or null. */
function oneHot(report: MetricsReport, name: string, label: string): string | null {
  return report.gauges.find((g) => g.name === name && g.value === 1)?.labels?.[label] ?? null;
}

const l3StateOf = (report: MetricsReport) => oneHot(report, CACHE_GAUGES.l3State, "state");

/** The L3 summary of the reports (only cache-manager instances report L3). */
export function l3Summary(reports: readonly MetricsReport[]): L3Summary {
  const states = reports.map(l3StateOf).filter((s): s is string => s !== null);
  const count = (state: string) => states.filter((s) => s === state).length;
  const merged = mergeReports(reports);
  const degraded = count("degraded");
  const ok = count("ok");
  return {
    state: degraded > 0 ? "degraded" : ok > 0 ? "ok" : "off",
    instancesOk: ok,
    instancesDegraded: degraded,
    instancesOff: count("off"),
    breakerOpenInstances: reports.filter((r) => {
      const breaker = oneHot(r, CACHE_GAUGES.l3BreakerState, "state");
      return breaker !== null && breaker !== "closed";
    }).length,
    pendingInvalidations: maximum(merged.gauges, CACHE_GAUGES.l3PendingInvalidations) ?? 0,
    copied: total(merged.counters, CACHE_COUNTERS.l3Copied),
    copyFailures: total(merged.counters, CACHE_COUNTERS.l3CopyFailures),
    copierLagSeconds: maximum(merged.gauges, CACHE_GAUGES.l3CopierLagSeconds),
  };
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
        breaker: oneHot(report, CACHE_GAUGES.breakerState, "state"),
        level: oneHot(report, CACHE_GAUGES.degradationLevel, "level"),
        l3State: l3StateOf(report),
        l3PendingInvalidations: l3StateOf(report) === null ? null : maximum(one.gauges, CACHE_GAUGES.l3PendingInvalidations),
        l3CopierLagSeconds: maximum(one.gauges, CACHE_GAUGES.l3CopierLagSeconds),
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
    l3: l3Summary(reports),
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
