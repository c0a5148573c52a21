import { History, Pencil, Play, Trash2 } from "lucide-react";
import type { jobRunStats, WarmingJob } from "../../api/warming";
import { Badge } from "../../components/ui";
import { formatPercent } from "../../lib/format";
import { statusBadge } from "./status";

interface Props {
  jobs: WarmingJob[];
  stats: ReturnType<typeof jobRunStats>;
  canWrite: boolean;
  onHistory: (job: WarmingJob) => void;
  onRun: (job: WarmingJob) => void;
  onEdit: (job: WarmingJob) => void;
  onDelete: (job: WarmingJob) => void;
}

/**
 * The jobs with schedule, next run, last run, success rate and actions. On a phone the name
 * cell carries the schedule and last status, and the other columns give way.
 */
export function JobsTable({ jobs, stats, canWrite, onHistory, onRun, onEdit, onDelete }: Props) {
  return (
    <div className="card p-0">
      <table className="w-full text-sm" aria-label="Warming jobs">
        <thead className="text-left text-xs uppercase text-muted">
          <tr className="border-b border-line">
            <th className="px-3 py-2">Name</th>
            <th className="hidden md:table-cell">Schedule</th>
            <th className="hidden lg:table-cell">Next run</th>
            <th className="hidden sm:table-cell">Last run</th>
            <th className="hidden md:table-cell">Success rate</th>
            <th className="hidden lg:table-cell">Source</th>
            <th className="px-3 text-right">Actions</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => {
            const s = stats.get(job.id);
            const schedule = job.schedule ? `${job.schedule} (${job.timeZone})` : "trigger only";
            return (
              <tr key={job.id} className="border-b border-line/60" data-job={job.name}>
                <td className="px-3 py-2">
                  <span className="font-medium break-all">{job.name}</span> {!job.enabled && <Badge>disabled</Badge>}
                  <span className="mt-0.5 block font-mono text-xs text-muted md:hidden">{schedule}</span>
                  <span className="mt-0.5 block sm:hidden">{s?.last ? statusBadge(s.last.status) : <span className="text-xs text-muted">never run</span>}</span>
                </td>
                <td className="hidden font-mono text-xs md:table-cell">{job.schedule ? schedule : <span className="text-muted">{schedule}</span>}</td>
                <td className="hidden tabular-nums lg:table-cell">{job.nextRunAt ? new Date(job.nextRunAt).toLocaleString() : "—"}</td>
                <td className="hidden sm:table-cell">{s?.last ? statusBadge(s.last.status) : <span className="text-muted">never</span>}</td>
                <td className="hidden tabular-nums md:table-cell">
                  {s && s.finished > 0 ? `${formatPercent(s.succeeded / s.finished)} of ${s.finished}` : "—"}
                </td>
                <td className="hidden lg:table-cell">{job.source.type}</td>
                <td className="px-3 py-2">
                  <div className="flex flex-wrap justify-end gap-1">
                    <button className="btn px-2" onClick={() => onHistory(job)} aria-label={`History of ${job.name}`} title="Runs of this job">
                      <History aria-hidden className="size-4" /> <span className="hidden sm:inline">History</span>
                    </button>
                    {canWrite && (
                      <>
                        <button className="btn px-2" onClick={() => onRun(job)} aria-label={`Run ${job.name} now`}>
                          <Play aria-hidden className="size-4" />
                        </button>
                        <button className="btn px-2" onClick={() => onEdit(job)} aria-label={`Edit ${job.name}`}>
                          <Pencil aria-hidden className="size-4" />
                        </button>
                        <button className="btn px-2 text-danger" onClick={() => onDelete(job)} aria-label={`Delete ${job.name}`}>
                          <Trash2 aria-hidden className="size-4" />
                        </button>
                      </>
                    )}
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
