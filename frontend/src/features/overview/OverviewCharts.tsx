import { TIERS } from "../../api/monitoring";
import { formatBytes, formatDuration, formatNumber, formatPercent } from "../../lib/format";
import type { HistoryRow, snapshotRates } from "./series";
import { TimeChart, type TimeSeries } from "./TimeChart";

const perSecond = (v: number) => `${formatNumber(v, 1)}/s`;
const ms = (v: number) => formatDuration(v);

const OPS: TimeSeries[] = TIERS.map((tier, i) => ({ key: `ops_${tier}`, name: tier.toUpperCase(), format: perSecond, color: i }));
const LATENCY: TimeSeries[] = (["p50", "p90", "p95", "p99"] as const).map((q, i) => ({ key: q, name: q, format: ms, color: i }));
const LIVE_RATES: TimeSeries[] = [
  { key: "invalidationsPerSecond", name: "invalidations/s", format: perSecond, color: 0 },
  { key: "invalidatedKeysPerSecond", name: "invalidated keys/s", format: perSecond, color: 4 },
  { key: "warmedKeysPerSecond", name: "warmed keys/s", format: perSecond, color: 2 },
];

/** The Overview's six charts: history for the chosen window, and the rates measured live in this session. */
export function OverviewCharts({ rows, rates }: { rows: HistoryRow[]; rates: ReturnType<typeof snapshotRates> }) {
  const hasFlowRates = rows.some((r) => r.invalidatedPerSecond !== undefined || r.warmedPerSecond !== undefined);
  const flows: TimeSeries[] = [
    { key: "evictionsPerSecond", name: "evictions/s", format: perSecond, color: 3 },
    ...(hasFlowRates
      ? [
          { key: "invalidatedPerSecond", name: "invalidated keys/s", format: perSecond, color: 4 },
          { key: "warmedPerSecond", name: "warmed keys/s", format: perSecond, color: 2 },
        ]
      : []),
  ];
  const data = rows as unknown as Array<Record<string, unknown>>;
  return (
    <div className="grid gap-4 xl:grid-cols-2" data-testid="overview-charts" data-points={rows.length}>
      <TimeChart
        title="Hit ratio"
        testId="chart-hit-ratio"
        kind="line"
        rows={data}
        series={[{ key: "hitRatio", name: "hit ratio", format: formatPercent, color: 0 }]}
        yDomain={[0, 1]}
      />
      <TimeChart title="Ops/s by tier" testId="chart-ops" kind="area" rows={data} series={OPS} stacked />
      <TimeChart title="Latency (ms): p50 / p90 / p95 / p99, slowest tier" testId="chart-latency" kind="line" rows={data} series={LATENCY} yWidth={56} />
      <TimeChart
        title="L1 size"
        testId="chart-size"
        kind="area"
        rows={data}
        series={[{ key: "l1Bytes", name: "L1 bytes", format: formatBytes, color: 1 }]}
        yWidth={64}
      />
      <TimeChart
        title={hasFlowRates ? "Evictions, invalidated and warmed keys per second" : "Evictions per second (invalidations and warmed keys: live, below)"}
        testId="chart-flows"
        kind="line"
        rows={data}
        series={flows}
        yWidth={56}
      />
      <TimeChart
        title="Invalidated and warmed keys per second (live, this session)"
        testId="chart-live-rates"
        kind="line"
        rows={rates}
        series={LIVE_RATES}
        yWidth={56}
      />
    </div>
  );
}
