/** Chart rows for the Overview from monitoring's history points and from consecutive snapshots. */
import { TIERS, type HistoryPoint, type MetricsSnapshot } from "../../api/monitoring";

export interface HistoryRow {
  label: string;
  hitRatio: number | null;
  ops_l1: number;
  ops_l2: number;
  ops_l3: number;
  ops_origin: number;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  l1Bytes: number;
  evictionsPerSecond: number;
  invalidatedPerSecond?: number;
  warmedPerSecond?: number;
}

const slowest = (byTier: HistoryPoint["p50Ms"] | undefined): number | null => {
  if (!byTier) return null;
  const values = TIERS.map((tier) => byTier[tier]).filter((v): v is number => typeof v === "number");
  return values.length ? Math.max(...values) : null;
};

const timeLabel = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function historyRows(points: readonly HistoryPoint[]): HistoryRow[] {
  return points.map((p) => ({
    label: timeLabel(p.at),
    hitRatio: p.hitRatio,
    ops_l1: p.opsPerSecond.l1,
    ops_l2: p.opsPerSecond.l2,
    ops_l3: p.opsPerSecond.l3,
    ops_origin: p.opsPerSecond.origin,
    p50: slowest(p.p50Ms),
    p90: slowest(p.p90Ms),
    p95: slowest(p.p95Ms),
    p99: slowest(p.p99Ms),
    l1Bytes: p.l1Bytes,
    evictionsPerSecond: p.evictionsPerSecond,
    invalidatedPerSecond: p.invalidatedKeysPerSecond,
    warmedPerSecond: p.warmedKeysPerSecond,
  }));
}

export interface SnapshotSample {
  at: number;
  totals: Pick<MetricsSnapshot["totals"], "invalidations" | "invalidatedKeys" | "warmedKeys">;
}

/** Per-second rates between consecutive samples; a counter that went down (a restart) counts as 0. */
export function snapshotRates(samples: readonly SnapshotSample[]) {
  const out: Array<{ label: string; invalidationsPerSecond: number; invalidatedKeysPerSecond: number; warmedKeysPerSecond: number }> = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    const seconds = (b.at - a.at) / 1000;
    if (seconds <= 0) continue;
    const rate = (x: number, y: number) => Math.round((Math.max(0, y - x) / seconds) * 100) / 100;
    out.push({
      label: new Date(b.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }),
      invalidationsPerSecond: rate(a.totals.invalidations, b.totals.invalidations),
      invalidatedKeysPerSecond: rate(a.totals.invalidatedKeys, b.totals.invalidatedKeys),
      warmedKeysPerSecond: rate(a.totals.warmedKeys, b.totals.warmedKeys),
    });
  }
  return out;
}
