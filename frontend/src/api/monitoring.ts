/** The monitoring service's API (shapes from monitoring/core/snapshot.ts, history.ts, alert-store.ts and its endpoints). */
export type Tier = "l1" | "l2" | "origin";
export const WINDOWS = ["1m", "5m", "1h", "24h"] as const;
export type HistoryWindow = (typeof WINDOWS)[number];

export interface InstanceRow {
  service: string;
  instanceId: string;
  lastReportAt: string;
  ageMs: number;
  health: "healthy" | "degraded" | "late";
  hits: number;
  misses: number;
  hitRatio: number | null;
  l1Bytes: number;
  l1Entries: number;
  breaker: string | null;
  level: string | null;
  p99Ms: number | null;
}

export interface MetricsSnapshot {
  at: string;
  windowSeconds: number;
  instances: number;
  hitRatio: number | null;
  hitRatioTotal: number | null;
  opsPerSecond: Array<{ tier: Tier; opsPerSecond: number }>;
  totalOpsPerSecond: number;
  latencyMs: Array<{ tier: Tier; p50: number; p90: number; p95: number; p99: number; count: number }>;
  totals: {
    hitsL1: number;
    hitsL2: number;
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
  sizes: { l1Bytes: number; l1Entries: number };
  breakerOpenInstances: number;
  writeBehind: { depth: number; lagSeconds: number } | null;
  coherenceLagSeconds: number | null;
  perInstance: InstanceRow[];
}

export interface HistoryPoint {
  at: string;
  hitRatio: number | null;
  opsPerSecond: { l1: number; l2: number; origin: number; total: number };
  missesPerSecond: number;
  errorsPerSecond: number;
  evictionsPerSecond: number;
  p50Ms: { l1: number | null; l2: number | null; origin: number | null };
  p99Ms: { l1: number | null; l2: number | null; origin: number | null };
  /** Not (yet) reported by monitoring: charted when present. */
  p90Ms?: { l1: number | null; l2: number | null; origin: number | null };
  p95Ms?: { l1: number | null; l2: number | null; origin: number | null };
  invalidatedKeysPerSecond?: number;
  warmedKeysPerSecond?: number;
  l1Bytes: number;
  l1Entries: number;
  instances: number;
  writeBehindLagSeconds: number | null;
  coherenceLagSeconds: number | null;
}

export interface MetricsHistory {
  window: string;
  resolution: "1s" | "10s" | "1m";
  points: HistoryPoint[];
}

export interface InstancesView {
  at: string;
  instances: InstanceRow[];
  rejected: Array<{ instance: string; reason: string }>;
}

export interface AlertEpisode {
  id: number;
  ruleId: string;
  ruleName: string;
  severity: string;
  state: "firing" | "resolved";
  threshold: number;
  value: number | null;
  message: string;
  firedAt: string;
  resolvedAt: string | null;
  resolvedValue: number | null;
}

export interface AlertsView {
  firing: AlertEpisode[];
  history: AlertEpisode[];
}

export const monitoringPaths = {
  metrics: "/api/metrics",
  history: (window: HistoryWindow) => `/api/metrics/history?window=${window}`,
  instances: "/api/instances",
  alerts: "/api/alerts",
  topKeys: "/api/metrics/top-keys",
};
