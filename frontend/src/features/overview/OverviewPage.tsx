import { WINDOWS } from "../../api/monitoring";
import { ErrorBox, PageHeader, Stat, Tabs } from "../../components/ui";
import { formatAgo, formatBytes, formatNumber, formatPercent } from "../../lib/format";
import { oneOf } from "../../lib/url-state";
import { useUrlState } from "../../lib/use-url-state";
import { useNow } from "../../lib/visibility";
import { OverviewCharts } from "./OverviewCharts";
import { AlertsPanel, InstancesPanel, L3Panel, LatencyTable } from "./OverviewPanels";
import { useOverviewData } from "./use-overview-data";

const schema = { window: oneOf(WINDOWS, "5m") };

export function OverviewPage() {
  const [{ window }, setState] = useUrlState(schema);
  const now = useNow(1_000);
  const { visible, updatedAt, history, rows, rates, snapshot, instances, alerts, stats } = useOverviewData(window);
  const s = snapshot.data;
  const l2Bytes = stats.data?.l2.reduce((n, node) => n + node.usedMemory, 0);
  const l2Keys = stats.data?.l2.reduce((n, node) => n + node.keys, 0);

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
        <Stat
          label="Hit ratio"
          value={s?.hitRatio != null ? formatPercent(s.hitRatio) : "—"}
          hint={s?.hitRatioTotal != null ? `${formatPercent(s.hitRatioTotal)} since start` : undefined}
          testId="stat-hit-ratio"
        />
        <Stat
          label="Ops/s"
          value={s ? formatNumber(s.totalOpsPerSecond, 1) : "—"}
          hint={s?.opsPerSecond.map((o) => `${o.tier} ${formatNumber(o.opsPerSecond, 1)}`).join(" · ")}
        />
        <Stat label="L1 size" value={s ? formatBytes(s.sizes.l1Bytes) : "—"} hint={s ? `${formatNumber(s.sizes.l1Entries)} entries` : undefined} />
        <Stat
          label="L2 size"
          value={l2Bytes !== undefined ? formatBytes(l2Bytes) : "—"}
          hint={l2Keys !== undefined ? `${formatNumber(l2Keys)} keys (Redis)` : undefined}
        />
        <Stat
          label="Instances"
          value={s?.instances ?? "—"}
          hint={s?.breakerOpenInstances ? `${s.breakerOpenInstances} with L2 breaker open` : "breakers closed"}
        />
        <Stat label="Firing alerts" value={alerts.data?.firing.length ?? "—"} />
      </div>

      {s && <L3Panel l3={s.l3} />}

      {s && s.latencyMs.length > 0 && <LatencyTable latency={s.latencyMs} />}

      <ErrorBox error={history.error} what="History" />
      <OverviewCharts rows={rows} rates={rates} />

      <div className="grid gap-4 xl:grid-cols-2">
        <InstancesPanel instances={instances.data} error={instances.error} now={now} />
        <AlertsPanel alerts={alerts.data} error={alerts.error} now={now} />
      </div>
    </div>
  );
}
