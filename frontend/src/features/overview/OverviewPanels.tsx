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

const L3_TONES = { ok: "ok", degraded: "warn", off: "neutral" } as const;

/**
 * The L3 backup tier across the cache-manager instances. `off` (no instance has an L3 store) is a
 * normal configuration, said plainly rather than shown as zeros.
 */
export function L3Panel({ l3 }: { l3: MetricsSnapshot["l3"] | undefined }) {
  return (
    <section className="card min-w-0" aria-labelledby="l3-heading" data-testid="l3-panel">
      <h2 id="l3-heading" className="label mb-2">
        L3 backup tier
      </h2>
      {!l3 || l3.state === "off" ? (
        <p className="text-sm text-muted" data-testid="l3-off">
          Off: no instance has an L3 store configured, so reads go L1 → L2 → origin.
        </p>
      ) : (
        <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-5">
          <div>
            <dt className="text-xs text-muted">State</dt>
            <dd data-testid="l3-state">
              <Badge tone={L3_TONES[l3.state]}>{l3.state}</Badge>
              {l3.instancesOff > 0 && <span className="ml-1 text-xs text-muted">({l3.instancesOff} without L3)</span>}
            </dd>
          </div>
          <div>
            <dt className="text-xs text-muted">Breaker</dt>
            <dd data-testid="l3-breaker">{l3.breakerOpenInstances > 0 ? `open on ${formatNumber(l3.breakerOpenInstances)}` : "closed"}</dd>
          </div>
          <div>
            <dt className="text-xs text-muted">Pending invalidations</dt>
            <dd className="tabular-nums" data-testid="l3-pending">
              {formatNumber(l3.pendingInvalidations)}
            </dd>
          </div>
          <div>
            <dt className="text-xs text-muted">Copied from L2</dt>
            <dd className="tabular-nums" data-testid="l3-copied">
              {formatNumber(l3.copied)}
              {l3.copyFailures > 0 && <span className="ml-1 text-xs text-danger">{formatNumber(l3.copyFailures)} failed batches</span>}
            </dd>
          </div>
          <div>
            <dt className="text-xs text-muted">Copier lag</dt>
            <dd
              className="tabular-nums"
              data-testid="l3-copier-lag"
              title="How long the oldest write of the copier's last batch waited to reach L3, the longest across instances: after a Redis loss, writes this recent may be missing from L3."
            >
              {l3.copierLagSeconds === null ? <span className="text-muted">no batch copied yet</span> : formatDuration(l3.copierLagSeconds * 1000)}
            </dd>
          </div>
        </dl>
      )}
    </section>
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
            <th className="hidden sm:table-cell">L3</th>
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
              <td className="hidden sm:table-cell">{i.l3State ?? "—"}</td>
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
