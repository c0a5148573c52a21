/**
 * The metric names of the report contract (lib/metrics/report.ts), shared by the services that
 * publish them and by monitoring, which merges them and exposes them to Prometheus.
 *
 * Counter names are Prometheus base names without `_total`; monitoring adds the suffix. Every
 * label listed here takes values from a small fixed set (tiers, stable error codes, statuses), so
 * the number of series stays bounded: never put a cache key in a label.
 */

import { listOf } from "../literal-union.ts";

/** Cumulative counters published by cache-manager instances. */
export const CACHE_COUNTERS = {
  /** label `tier`: l1 | l2 | l3 */
  hits: "cache_hits",
  misses: "cache_misses",
  /** label `result`: ok | failed */
  loads: "cache_loads",
  sets: "cache_sets",
  deletes: "cache_deletes",
  /** label `type`: a stable error code */
  errors: "cache_errors",
  evictions: "cache_evictions",
  staleServed: "cache_stale_served",
  coherenceGaps: "cache_coherence_gaps",
  /** Keys this instance copied from L2 into L3. */
  l3Copied: "cache_l3_copied",
  /** Batches of L2 → L3 copies that failed. */
  l3CopyFailures: "cache_l3_copy_failures",
} as const;

/** Current values published by cache-manager instances. */
export const CACHE_GAUGES = {
  /** label `tier`: l1 */
  sizeBytes: "cache_size_bytes",
  /** label `tier`: l1 */
  entries: "cache_entries",
  /** 1 when the L2 circuit breaker is open or half-open, else 0. */
  breakerOpen: "cache_l2_breaker_open",
  /** label `state`: closed | open | half-open; 1 for the current state. */
  breakerState: "cache_l2_breaker_state",
  /** label `level`: one of the degradation levels; 1 for the current level. */
  degradationLevel: "cache_degradation_level",
  writeBehindDepth: "cache_write_behind_depth",
  writeBehindLagSeconds: "cache_write_behind_lag_seconds",
  coherenceLagSeconds: "cache_coherence_lag_seconds",
  coherenceConnected: "cache_coherence_connected",
  /** label `state`: off | ok | degraded; 1 for the instance's current L3 state. */
  l3State: "cache_l3_state",
  /** label `state`: closed | open | half-open; 1 for the L3 breaker's current state. */
  l3BreakerState: "cache_l3_breaker_state",
  /** Invalidations L3 has not received yet (reads skip L3 meanwhile). */
  l3PendingInvalidations: "cache_l3_pending_invalidations",
  /**
   * How long the oldest write of the L3 copier's last batch waited to reach L3, in seconds; left
   * out until the copier finished a first batch (and on instances without L3).
   */
  l3CopierLagSeconds: "cache_l3_copier_lag_seconds",
} as const;

/** Cumulative latency sketches (milliseconds) published by cache-manager instances. */
export const CACHE_SKETCHES = {
  /** label `tier`: l1 | l2 | l3 | origin (where the value came from) */
  requestDuration: "cache_request_duration_ms",
  loadDuration: "cache_load_duration_ms",
} as const;

/** Published by the invalidation service. */
export const INVALIDATION_COUNTERS = {
  /** label `kind`: key | pattern | tag | ... */
  invalidations: "invalidations",
  invalidatedKeys: "invalidated_keys",
} as const;

/** Published by the warming service. */
export const WARMING_COUNTERS = {
  /** label `status`: succeeded | failed | ... */
  runs: "warming_runs",
  warmedKeys: "warmed_keys",
} as const;

export type RequestTier = "l1" | "l2" | "l3" | "origin";
export const REQUEST_TIERS = listOf<RequestTier>()("l1", "l2", "l3", "origin");
