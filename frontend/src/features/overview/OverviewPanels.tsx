import type { AlertsView, InstancesView, MetricsSnapshot } from "../../api/monitoring";
import { Badge, ErrorBox } from "../../components/ui";
import { formatAgo, formatDuration, formatNumber } from "../../lib/format";

/** p50…p99 per tier; on a phone the p90 and p95 columns give way (p50 and p99 bracket them). */
export function LatencyTable({ latency }: { latency: MetricsSnapshot["latencyMs"] }) {
  return (
    <div className="card">
      <table className="w-full text-sm" aria-label="Latency percentiles by tier">
        <thead className="text-left text-xs uppercase text-muted">
          <tr>
            <th className="py-1">Tier</th>
            <th>p50</th>
            <th className="hidden sm:table-cell">p90</th>
            <th className="hidden sm:table-cell">p95</th>
            <th>p99</th>
            <th>requests</th>
          </tr>
        </thead>
        <tbody className="tabular-nums">
          {latency.map((l) => (
            <tr key={l.tier} className="border-t border-line">
              <td className="py-1 font-medium">{l.tier.toUpperCase()}</td>
              <td>{formatDuration(l.p50)}</td>
              <td className="hidden sm:table-cell">{formatDuration(l.p90)}</td>
              <td className="hidden sm:table-cell">{formatDuration(l.p95)}</td>
              <td>{formatDuration(l.p99)}</td>
              <td>{formatNumber(l.count)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Reporting instances; on a phone the service and level move under the instance id. */
export function InstancesPanel({ instances, error, now }: { instances: InstancesView | undefined; error: unknown; now: number }) {
  return (
    <section className="card min-w-0" aria-labelledby="instances-heading">
      <h2 id="instances-heading" className="label mb-2">
        Instances
      </h2>
      <ErrorBox error={error} what="Instances" />
      <table className="w-full table-fixed text-sm sm:table-auto">
        <thead className="text-left text-xs uppercase text-muted">
          <tr>
            <th className="w-1/2 py-1 sm:w-auto">Instance</th>
            <th className="hidden sm:table-cell">Service</th>
            <th>Health</th>
            <th className="hidden sm:table-cell">Level</th>
            <th>Last report</th>
          </tr>
        </thead>
        <tbody>
          {(instances?.instances ?? []).map((i) => (
            <tr key={`${i.service}/${i.instanceId}`} className="border-t border-line">
              <td className="py-1">
                <span className="block truncate font-mono text-xs" title={i.instanceId}>
                  {i.instanceId}
                </span>
                <span className="block text-xs text-muted sm:hidden">
                  {i.service}
                  {i.level ? ` · ${i.level}` : ""}
                </span>
              </td>
              <td className="hidden sm:table-cell">{i.service}</td>
              <td>
                <Badge tone={i.health === "healthy" ? "ok" : i.health === "degraded" ? "warn" : "danger"}>{i.health}</Badge>
              </td>
              <td className="hidden sm:table-cell">{i.level ?? "—"}</td>
              <td className="text-muted">{formatAgo(Date.parse(i.lastReportAt), now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function AlertsPanel({ alerts, error, now }: { alerts: AlertsView | undefined; error: unknown; now: number }) {
  return (
    <section className="card min-w-0" aria-labelledby="alerts-heading">
      <h2 id="alerts-heading" className="label mb-2">
        Firing alerts
      </h2>
      <ErrorBox error={error} what="Alerts" />
      {alerts && alerts.firing.length === 0 && <p className="text-sm text-muted">None firing.</p>}
      <ul className="space-y-2 text-sm">
        {alerts?.firing.map((a) => (
          <li key={a.id} className="flex items-start gap-2">
            <Badge tone={a.severity === "critical" ? "danger" : "warn"}>{a.severity}</Badge>
            <span>
              <strong>{a.ruleName}</strong> — {a.message} <span className="text-muted">since {formatAgo(Date.parse(a.firedAt), now)}</span>
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
