/** Builders for monitoring tests: reports as an instance would publish them. */
import { LatencyHistogram } from "../../lib/metrics/histogram.ts";
import { REQUEST_TIERS, type RequestTier } from "../../lib/metrics/names.ts";
import type { MetricsReport } from "../../lib/metrics/report.ts";

export interface FakeInstance {
  hitsL1?: number;
  hitsL2?: number;
  hitsL3?: number;
  misses?: number;
  errors?: Record<string, number>;
  l1Bytes?: number;
  l1Entries?: number;
  breakerOpen?: boolean;
  writeBehindLagSeconds?: number;
  /** Request latencies (ms) by tier. */
  latencies?: Partial<Record<RequestTier, number[]>>;
  /** The instance's L3 as `TieredCache.l3Status()` reports it; left out of the report when absent (an older build). */
  l3?: {
    state: "off" | "ok" | "degraded";
    breaker?: "closed" | "open" | "half-open";
    pendingInvalidations?: number;
    copied?: number;
    copyFailures?: number;
    /** Left out of the report when absent, as before the copier's first batch. */
    copierLagMs?: number;
  };
  topHits?: Array<{ key: string; count: number }>;
  topMisses?: Array<{ key: string; count: number }>;
}

/** A cache-manager report with the given cumulative totals. */
export function cacheReport(instanceId: string, at: number, f: FakeInstance): MetricsReport {
  const sketch = (values: number[] = []) => {
    const h = new LatencyHistogram();
    for (const v of values) h.record(v);
    return h.toJSON();
  };
  return {
    service: "cache-manager",
    instanceId,
    at,
    intervalMs: 1000,
    counters: [
      { name: "cache_hits", labels: { tier: "l1" }, value: f.hitsL1 ?? 0 },
      { name: "cache_hits", labels: { tier: "l2" }, value: f.hitsL2 ?? 0 },
      { name: "cache_hits", labels: { tier: "l3" }, value: f.hitsL3 ?? 0 },
      { name: "cache_misses", value: f.misses ?? 0 },
      ...Object.entries(f.errors ?? {}).map(([type, value]) => ({ name: "cache_errors", labels: { type }, value })),
      ...(f.l3
        ? [
            { name: "cache_l3_copied", value: f.l3.copied ?? 0 },
            { name: "cache_l3_copy_failures", value: f.l3.copyFailures ?? 0 },
          ]
        : []),
    ],
    gauges: [
      { name: "cache_size_bytes", labels: { tier: "l1" }, value: f.l1Bytes ?? 0 },
      { name: "cache_entries", labels: { tier: "l1" }, value: f.l1Entries ?? 0 },
      { name: "cache_l2_breaker_open", value: f.breakerOpen ? 1 : 0 },
      ...(f.writeBehindLagSeconds !== undefined ? [{ name: "cache_write_behind_lag_seconds", value: f.writeBehindLagSeconds }] : []),
      ...(f.l3 ? l3Gauges(f.l3) : []),
    ],
    sketches: REQUEST_TIERS.map((tier) => ({ name: "cache_request_duration_ms", labels: { tier }, sketch: sketch(f.latencies?.[tier]) })),
    topKeys: { hits: f.topHits ?? [], misses: f.topMisses ?? [] },
  };
}

function l3Gauges(l3: NonNullable<FakeInstance["l3"]>): MetricsReport["gauges"] {
  return [
    ...(["off", "ok", "degraded"] as const).map((state) => ({ name: "cache_l3_state", labels: { state }, value: state === l3.state ? 1 : 0 })),
    ...(["closed", "open", "half-open"] as const).map((state) => ({
      name: "cache_l3_breaker_state",
      labels: { state },
      value: state === (l3.breaker ?? "closed") ? 1 : 0,
    })),
    { name: "cache_l3_pending_invalidations", value: l3.pendingInvalidations ?? 0 },
    ...(l3.copierLagMs !== undefined ? [{ name: "cache_l3_copier_lag_seconds", value: l3.copierLagMs / 1000 }] : []),
  ];
}
