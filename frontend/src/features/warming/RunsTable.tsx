import type { RunSummary } from "../../api/warming";
import { formatAgo, formatNumber } from "../../lib/format";
import { statusBadge } from "./status";

interface Props {
  runs: RunSummary[];
  selected: number;
  now: number;
  onOpen: (id: number) => void;
}

/** Runs, newest first; a row opens the run's panel. On a phone the job name moves under the run id. */
export function RunsTable({ runs, selected, now, onOpen }: Props) {
  return (
    <div className="card p-0">
      <table className="w-full text-sm" aria-label="Warming runs">
        <thead className="text-left text-xs uppercase text-muted">
          <tr className="border-b border-line">
            <th className="px-3 py-2">Run</th>
            <th className="hidden sm:table-cell">Job</th>
            <th className="hidden md:table-cell">Trigger</th>
            <th>Status</th>
            <th>Warmed / failed / skipped</th>
            <th className="hidden sm:table-cell">Created</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr
              key={r.id}
              className={`cursor-pointer border-b border-line/60 ${r.id === selected ? "bg-accent/10" : "hover:bg-line/40"}`}
              onClick={() => onOpen(r.id)}
              aria-selected={r.id === selected}
            >
              <td className="px-3 py-2">
                <button className="hover:underline">
                  <span className="sr-only">Open run </span>#{r.id}
                </button>
                <span className="block text-xs break-all text-muted sm:hidden">{r.jobName ?? "—"}</span>
              </td>
              <td className="hidden sm:table-cell">{r.jobName ?? "—"}</td>
              <td className="hidden md:table-cell">{r.trigger}</td>
              <td>{statusBadge(r.status)}</td>
              <td className="tabular-nums">
                {formatNumber(r.warmed)} / {formatNumber(r.failed)} / {formatNumber(r.skipped)}
                {r.total !== undefined ? ` of ${formatNumber(r.total)}` : ""}
              </td>
              <td className="hidden text-muted sm:table-cell">{formatAgo(Date.parse(r.createdAt), now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
