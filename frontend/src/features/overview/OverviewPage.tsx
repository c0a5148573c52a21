import { useRef, useState } from "react";
import { Area, AreaChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import useSWR from "swr";
import { paths, type InstanceStats } from "../../api/cache";
import { monitoringPaths, WINDOWS, type AlertsView, type InstancesView, type MetricsHistory, type MetricsSnapshot } from "../../api/monitoring";
import { axisProps, ChartCard, colorAt, gridProps, tooltipProps } from "../../components/charts";
import { Badge, ErrorBox, PageHeader, Stat, Tabs } from "../../components/ui";
import { formatAgo, formatBytes, formatDuration, formatNumber, formatPercent } from "../../lib/format";
import { useSettings } from "../../lib/settings";
import { oneOf } from "../../lib/url-state";
import { useUrlState } from "../../lib/use-url-state";
import { useNow, usePageVisible } from "../../lib/visibility";
import { historyRows, snapshotRates, type SnapshotSample } from "./series";

const schema = { window: oneOf(WINDOWS, "5m") };

export function OverviewPage() {
  const [{ window }, setState] = useUrlState(schema);
  const { pollMs } = useSettings();
  const visible = usePageVisible();
  const now = useNow(1_000);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const samples = useRef<SnapshotSample[]>([]);
  const poll = { refreshInterval: visible ? pollMs : 0, onSuccess: () => setUpdatedAt(Date.now()) };

  const history = useSWR<MetricsHistory>(monitoringPaths.history(window), poll);
  const snapshot = useSWR<MetricsSnapshot>(monitoringPaths.metrics, { ...poll, onSuccess: (s: MetricsSnapshot) => {
      setUpdatedAt(Date.now());
      samples.current = [...samples.current.slice(-300), { at: Date.parse(s.at) || Date.now(), totals: s.totals }];
    },
  });
  const instances = useSWR<InstancesView>(monitoringPaths.instances, poll);
  const alerts = useSWR<AlertsView>(monitoringPaths.alerts, poll);
  const stats = useSWR<InstanceStats>(paths.stats, poll);

  const rows = historyRows(history.data?.points ?? []);
  const rates = snapshotRates(samples.current);
  const s = snapshot.data;
  const l2Bytes = stats.data?.l2.reduce((n, node) => n + node.usedMemory, 0);
  const l2Keys = stats.data?.l2.reduce((n, node) => n + node.keys, 0);
  const hasFlowRates = rows.some((r) => r.invalidatedPerSecond !== undefined || r.warmedPerSecond !== undefined);

  return (
    <div className="space-y-4">
      <PageHeader title="Overview" description="The whole platform: every instance's metrics merged by the monitoring service.">
        <span className="text-xs text-muted" data-testid="updated-ago" aria-live="polite">
          {!visible ? "paused (tab hidden)" : updatedAt ? `updated ${formatAgo(updatedAt, now)}` : "loading…"}
        </span>
      </PageHeader>
      <Tabs label="Time window" tabs={WINDOWS.map((id) => ({ id, label: id }))} value={window} onChange={(id) => setState({ window: id })} />

      <ErrorBox error={snapshot.error} what="Metrics" />

      <div className="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6">
        <Stat label="Hit ratio" value={s?.hitRatio != null ? formatPercent(s.hitRatio) : "—"} hint={s?.hitRatioTotal != null ? `${formatPercent(s.hitRatioTotal)} since start` : undefined} testId="stat-hit-ratio" />
        <Stat label="Ops/s" value={s ? formatNumber(s.totalOpsPerSecond, 1) : "—"} hint={s?.opsPerSecond.map((o) => `${o.tier} ${formatNumber(o.opsPerSecond, 1)}`).join(" · ")} />
        <Stat label="L1 size" value={s ? formatBytes(s.sizes.l1Bytes) : "—"} hint={s ? `${formatNumber(s.sizes.l1Entries)} entries` : undefined} />
        <Stat label="L2 size" value={l2Bytes !== undefined ? formatBytes(l2Bytes) : "—"} hint={l2Keys !== undefined ? `${formatNumber(l2Keys)} keys (Redis)` : undefined} />
        <Stat label="Instances" value={s?.instances ?? "—"} hint={s?.breakerOpenInstances ? `${s.breakerOpenInstances} with L2 breaker open` : "breakers closed"} />
        <Stat label="Firing alerts" value={alerts.data?.firing.length ?? "—"} />
      </div>

      {s && s.latencyMs.length > 0 && (
        <div className="card overflow-x-auto">
          <table className="w-full text-sm" aria-label="Latency percentiles by tier">
            <thead className="text-left text-xs uppercase text-muted">
              <tr>
                <th className="py-1">Tier</th>
                <th>p50</th>
                <th>p90</th>
                <th>p95</th>
                <th>p99</th>
                <th>requests</th>
              </tr>
            </thead>
            <tbody className="tabular-nums">
              {s.latencyMs.map((l) => (
                <tr key={l.tier} className="border-t border-line">
                  <td className="py-1 font-medium">{l.tier.toUpperCase()}</td>
                  <td>{formatDuration(l.p50)}</td>
                  <td>{formatDuration(l.p90)}</td>
                  <td>{formatDuration(l.p95)}</td>
                  <td>{formatDuration(l.p99)}</td>
                  <td>{formatNumber(l.count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <ErrorBox error={history.error} what="History" />
      <div className="grid gap-4 xl:grid-cols-2" data-testid="overview-charts" data-points={rows.length}>
        <ChartCard title="Hit ratio" testId="chart-hit-ratio">
          <ResponsiveContainer>
            <LineChart data={rows}>
              <CartesianGrid {...gridProps} />
              <XAxis dataKey="label" {...axisProps} minTickGap={30} />
              <YAxis {...axisProps} domain={[0, 1]} tickFormatter={(v: number) => `${Math.round(v * 100)}%`} width={44} />
              <Tooltip {...tooltipProps} formatter={(v) => formatPercent(Number(v))} />
              <Line dataKey="hitRatio" name="hit ratio" stroke={colorAt(0)} dot={false} strokeWidth={2} isAnimationActive={false} connectNulls />
            </LineChart>
          </ResponsiveContainer>
        </ChartCard>
        <ChartCard title="Ops/s by tier" testId="chart-ops">
          <ResponsiveContainer>
            <AreaChart data={rows}>
              <CartesianGrid {...gridProps} />
              <XAxis dataKey="label" {...axisProps} minTickGap={30} />
              <YAxis {...axisProps} width={44} />
              <Tooltip {...tooltipProps} />
              <Legend wrapperStyle={{ fontSize: 12 }} />
              {(["l1", "l2", "origin"] as const).map((tier, i) => (
                <Area key={tier} dataKey={`ops_${tier}`} name={tier.toUpperCase()} stackId="ops" stroke={colorAt(i)} fill={colorAt(i)} fillOpacity={0.3} isAnimationActive={false} />
              ))}
            </AreaChart>
          </ResponsiveContainer>
        </ChartCard>
        <ChartCard title="Latency (ms): p50 / p90 / p95 / p99, slowest tier" testId="chart-latency">
          <ResponsiveContainer>
            <LineChart data={rows}>
              <CartesianGrid {...gridProps} />
              <XAxis dataKey="label" {...axisProps} minTickGap={30} />
              <YAxis {...axisProps} width={44} />
              <Tooltip {...tooltipProps} />
              <Legend wrapperStyle={{ fontSize: 12 }} />
              {(["p50", "p90", "p95", "p99"] as const).map((q, i) => (
                <Line key={q} dataKey={q} name={q} stroke={colorAt(i)} dot={false} strokeWidth={2} isAnimationActive={false} connectNulls />
              ))}
            </LineChart>
          </ResponsiveContainer>
        </ChartCard>
        <ChartCard title="L1 size" testId="chart-size">
          <ResponsiveContainer>
            <AreaChart data={rows}>
              <CartesianGrid {...gridProps} />
              <XAxis dataKey="label" {...axisProps} minTickGap={30} />
              <YAxis {...axisProps} width={56} tickFormatter={(v: number) => formatBytes(v)} />
              <Tooltip {...tooltipProps} formatter={(v) => formatBytes(Number(v))} />
              <Area dataKey="l1Bytes" name="L1 bytes" stroke={colorAt(1)} fill={colorAt(1)} fillOpacity={0.3} isAnimationActive={false} />
            </AreaChart>
          </ResponsiveContainer>
        </ChartCard>
        <ChartCard title={hasFlowRates ? "Evictions, invalidated and warmed keys per second" : "Evictions per second (invalidations and warmed keys: live, below)"} testId="chart-flows">
          <ResponsiveContainer>
            <LineChart data={rows}>
              <CartesianGrid {...gridProps} />
              <XAxis dataKey="label" {...axisProps} minTickGap={30} />
              <YAxis {...axisProps} width={44} />
              <Tooltip {...tooltipProps} />
              <Legend wrapperStyle={{ fontSize: 12 }} />
              <Line dataKey="evictionsPerSecond" name="evictions/s" stroke={colorAt(3)} dot={false} isAnimationActive={false} />
              {hasFlowRates && <Line dataKey="invalidatedPerSecond" name="invalidated keys/s" stroke={colorAt(4)} dot={false} isAnimationActive={false} />}
              {hasFlowRates && <Line dataKey="warmedPerSecond" name="warmed keys/s" stroke={colorAt(2)} dot={false} isAnimationActive={false} />}
            </LineChart>
          </ResponsiveContainer>
        </ChartCard>
        <ChartCard title="Invalidated and warmed keys per second (live, this session)" testId="chart-live-rates">
          <ResponsiveContainer>
            <LineChart data={rates}>
              <CartesianGrid {...gridProps} />
              <XAxis dataKey="label" {...axisProps} minTickGap={30} />
              <YAxis {...axisProps} width={44} />
              <Tooltip {...tooltipProps} />
              <Legend wrapperStyle={{ fontSize: 12 }} />
              <Line dataKey="invalidationsPerSecond" name="invalidations/s" stroke={colorAt(0)} dot={false} isAnimationActive={false} />
              <Line dataKey="invalidatedKeysPerSecond" name="invalidated keys/s" stroke={colorAt(4)} dot={false} isAnimationActive={false} />
              <Line dataKey="warmedKeysPerSecond" name="warmed keys/s" stroke={colorAt(2)} dot={false} isAnimationActive={false} />
            </LineChart>
          </ResponsiveContainer>
        </ChartCard>
      </div>

      <div className="grid gap-4 xl:grid-cols-2">
        <section className="card" aria-labelledby="instances-heading">
          <h2 id="instances-heading" className="label mb-2">
            Instances
          </h2>
          <ErrorBox error={instances.error} what="Instances" />
          <table className="w-full text-sm">
            <thead className="text-left text-xs uppercase text-muted">
              <tr>
                <th className="py-1">Instance</th>
                <th>Service</th>
                <th>Health</th>
                <th>Level</th>
                <th>Last report</th>
              </tr>
            </thead>
            <tbody>
              {(instances.data?.instances ?? []).map((i) => (
                <tr key={`${i.service}/${i.instanceId}`} className="border-t border-line">
                  <td className="py-1 font-mono text-xs">{i.instanceId}</td>
                  <td>{i.service}</td>
                  <td>
                    <Badge tone={i.health === "healthy" ? "ok" : i.health === "degraded" ? "warn" : "danger"}>{i.health}</Badge>
                  </td>
                  <td>{i.level ?? "—"}</td>
                  <td className="text-muted">{formatAgo(Date.parse(i.lastReportAt), now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section className="card" aria-labelledby="alerts-heading">
          <h2 id="alerts-heading" className="label mb-2">
            Firing alerts
          </h2>
          <ErrorBox error={alerts.error} what="Alerts" />
          {alerts.data && alerts.data.firing.length === 0 && <p className="text-sm text-muted">None firing.</p>}
          <ul className="space-y-2 text-sm">
            {alerts.data?.firing.map((a) => (
              <li key={a.id} className="flex items-start gap-2">
                <Badge tone={a.severity === "critical" ? "danger" : "warn"}>{a.severity}</Badge>
                <span>
                  <strong>{a.ruleName}</strong> — {a.message} <span className="text-muted">since {formatAgo(Date.parse(a.firedAt), now)}</span>
                </span>
              </li>
            ))}
          </ul>
        </section>
      </div>
    </div>
  );
}
