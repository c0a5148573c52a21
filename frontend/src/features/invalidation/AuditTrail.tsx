import { ShieldAlert, ShieldCheck } from "lucide-react";
import useSWR from "swr";
import { invalidationPaths, type AuditVerification, type InvalidationPage as AuditPage } from "../../api/invalidation";
import { Badge, Empty, ErrorBox } from "../../components/ui";
import { formatDuration, formatNumber } from "../../lib/format";
import type { ConsoleState, SetConsoleState } from "./state";

/** An audit row's target for display: the pattern, or the keys/tags listed. */
function targetText(target: Record<string, unknown>): string {
  const value = target.pattern ?? target.keys ?? target.tags;
  return Array.isArray(value) ? value.join(", ") : typeof value === "string" ? value : JSON.stringify(target);
}

/** The Audit trail tab: chain verification, filters, the requests newest first, paging. */
export function AuditTrail({ state, setState }: { state: ConsoleState; setState: SetConsoleState }) {
  const filter = { actor: state.actor, kind: state.kind, status: state.status, from: state.from, to: state.to, cursor: state.cursor };
  const page = useSWR<AuditPage>(invalidationPaths.list(filter));
  const verify = useSWR<AuditVerification>(invalidationPaths.verify, { refreshInterval: 30_000 });
  const items = page.data?.items ?? [];
  const intact = verify.data?.intact;
  return (
    <div className="space-y-3">
      <div className="card flex items-center gap-2 text-sm" data-testid="audit-verify">
        {verify.error ? (
          <ErrorBox error={verify.error} what="Chain verification" />
        ) : intact === undefined ? (
          <span className="text-muted">Verifying the audit chain…</span>
        ) : intact ? (
          <>
            <ShieldCheck aria-hidden className="size-5 text-ok" /> Audit chain intact{verify.data ? ` (${formatNumber(verify.data.checked)} rows checked)` : ""}
          </>
        ) : (
          <>
            <ShieldAlert aria-hidden className="size-5 text-danger" /> Audit chain broken — first bad row: <code>{JSON.stringify(verify.data?.firstBad)}</code>
          </>
        )}
      </div>
      <form className="flex flex-wrap items-end gap-2" aria-label="Audit filters" onSubmit={(e) => e.preventDefault()}>
        {(["actor", "kind", "status"] as const).map((f) => (
          <label key={f} className="flex flex-col text-xs text-muted">
            {f}
            <input
              className="input mt-1 w-36"
              aria-label={`Filter by ${f}`}
              value={state[f]}
              onChange={(e) => setState({ [f]: e.target.value, cursor: "" }, { replace: true })}
            />
          </label>
        ))}
        {(["from", "to"] as const).map((f) => (
          <label key={f} className="flex flex-col text-xs text-muted">
            {f}
            <input
              type="datetime-local"
              className="input mt-1"
              aria-label={`Filter ${f}`}
              value={state[f] ? state[f].slice(0, 16) : ""}
              onChange={(e) => setState({ [f]: e.target.value ? new Date(e.target.value).toISOString() : "", cursor: "" })}
            />
          </label>
        ))}
      </form>
      <ErrorBox error={page.error} what="Audit trail" />
      {page.data && items.length === 0 && (
        <div className="card">
          <Empty>No invalidations match.</Empty>
        </div>
      )}
      {items.length > 0 && (
        <div className="card p-0">
          {/* On a phone: when, status and counts, with actor, kind and target under the time. */}
          <table className="w-full table-fixed text-sm sm:table-auto" aria-label="Audit trail">
            <thead className="text-left text-xs uppercase text-muted">
              <tr className="border-b border-line">
                <th className="w-1/2 px-3 py-2 sm:w-auto">When</th>
                <th className="hidden md:table-cell">Actor</th>
                <th className="hidden sm:table-cell">Kind</th>
                <th className="hidden md:table-cell">Target</th>
                <th>Status</th>
                <th>Matched / deleted</th>
                <th className="hidden lg:table-cell">Duration</th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.id} className="border-b border-line/60">
                  <td className="px-3 py-2">
                    <span className="sm:whitespace-nowrap">{new Date(r.requestedAt).toLocaleString()}</span>
                    <span className="block truncate text-xs text-muted md:hidden" title={targetText(r.target)}>
                      {r.actor} · {r.kind} · <span className="font-mono">{targetText(r.target)}</span>
                    </span>
                  </td>
                  <td className="hidden md:table-cell">{r.actor}</td>
                  <td className="hidden sm:table-cell">
                    {r.kind} {r.dryRun && <Badge>dry run</Badge>}
                  </td>
                  <td className="hidden max-w-64 truncate font-mono text-xs md:table-cell" title={targetText(r.target)}>
                    {targetText(r.target)}
                  </td>
                  <td>
                    <Badge tone={r.status === "completed" ? "ok" : r.status === "failed" ? "danger" : "warn"}>{r.status}</Badge>
                  </td>
                  <td className="tabular-nums">
                    {r.matched ?? "—"} / {r.deleted ?? "—"}
                  </td>
                  <td className="hidden lg:table-cell">{r.durationMs != null ? formatDuration(r.durationMs) : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="flex gap-2">
        {state.cursor && (
          <button className="btn" onClick={() => setState({ cursor: "" })}>
            Newest
          </button>
        )}
        {page.data?.nextCursor && (
          <button className="btn" onClick={() => setState({ cursor: page.data!.nextCursor! })}>
            Older
          </button>
        )}
      </div>
    </div>
  );
}
