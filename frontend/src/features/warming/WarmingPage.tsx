import { Pencil, Play, Plus, Trash2, X } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import useSWR from "swr";
import { cancelRun, createJob, deleteJob, FINAL_RUN_STATUSES, jobRunStats, triggerJob, updateJob, warmingPaths, type JobList, type RunDetail, type RunList, type WarmingJob } from "../../api/warming";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ProgressBar } from "../../components/ProgressBar";
import { Badge, Empty, ErrorBox, PageHeader, Tabs } from "../../components/ui";
import { useAccess } from "../../lib/access";
import { formatAgo, formatDuration, formatNumber, formatPercent } from "../../lib/format";
import { useEscape } from "../../lib/keyboard";
import { useSettings } from "../../lib/settings";
import { int, oneOf, text } from "../../lib/url-state";
import { useUrlState } from "../../lib/use-url-state";
import { useNow, usePageVisible } from "../../lib/visibility";
import { JobForm } from "./JobForm";

const schema = { tab: oneOf(["jobs", "runs"], "jobs"), job: int(0, { min: 0 }), run: int(0, { min: 0 }), edit: text("") };

const STATUS_TONE = { succeeded: "ok", failed: "danger", cancelled: "neutral", running: "accent", queued: "warn" } as const;
const statusBadge = (status: string) => <Badge tone={STATUS_TONE[status as keyof typeof STATUS_TONE] ?? "neutral"}>{status}</Badge>;

export function WarmingPage() {
  const [state, setState] = useUrlState(schema);
  const access = useAccess();
  const canWrite = access.can("operator");
  const { pollMs } = useSettings();
  const visible = usePageVisible();
  const now = useNow(1_000);
  const [deleting, setDeleting] = useState<WarmingJob | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);

  const jobs = useSWR<JobList>(warmingPaths.jobs, { refreshInterval: visible ? pollMs : 0 });
  const runs = useSWR<RunList>(warmingPaths.runs({ jobId: state.job || undefined }), { refreshInterval: visible ? Math.min(pollMs, 2_000) : 0 });
  const allRuns = useSWR<RunList>(warmingPaths.runs({ limit: 200 }), { refreshInterval: visible ? pollMs : 0 });
  const stats = jobRunStats(allRuns.data?.runs ?? []);
  const editing = state.edit === "new" ? undefined : jobs.data?.jobs.find((j) => String(j.id) === state.edit);

  useEscape(() => setState({ run: 0, edit: "" }));

  const runNow = async (job: WarmingJob) => {
    setActionError(null);
    try {
      const { runId } = await triggerJob(job.id);
      setState({ tab: "runs", job: job.id, run: runId });
      await runs.mutate();
    } catch (e) {
      setActionError(e);
    }
  };

  return (
    <div>
      <PageHeader title="Warming Jobs" description="Scheduled and on-demand warming: jobs with cron schedules, their runs and progress.">
        {canWrite && state.tab === "jobs" && (
          <button className="btn-primary" onClick={() => setState({ edit: "new" })}>
            <Plus aria-hidden className="size-4" /> New job
          </button>
        )}
      </PageHeader>
      <Tabs label="Warming views" tabs={[{ id: "jobs", label: "Jobs" }, { id: "runs", label: "Runs" }]} value={state.tab} onChange={(tab) => setState({ tab, run: 0 })} />
      <ErrorBox error={actionError} what="Action" />

      {state.tab === "jobs" && (
        <div className="space-y-4">
          {state.edit && canWrite && (state.edit === "new" || editing) && (
            <JobForm
              key={state.edit}
              job={editing}
              onCancel={() => setState({ edit: "" })}
              onSave={async (input) => {
                if (editing) await updateJob(editing.id, input);
                else await createJob(input);
                setState({ edit: "" });
                await jobs.mutate();
              }}
            />
          )}
          <ErrorBox error={jobs.error} what="Warming jobs" />
          {jobs.data && jobs.data.jobs.length === 0 && (
            <div className="card">
              <Empty>No warming jobs yet.</Empty>
            </div>
          )}
          {jobs.data && jobs.data.jobs.length > 0 && (
            <div className="card overflow-x-auto p-0">
              <table className="w-full text-sm" aria-label="Warming jobs">
                <thead className="text-left text-xs uppercase text-muted">
                  <tr className="border-b border-line">
                    <th className="px-3 py-2">Name</th>
                    <th>Schedule</th>
                    <th>Next run</th>
                    <th>Last run</th>
                    <th>Success rate</th>
                    <th>Source</th>
                    <th className="px-3 text-right">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {jobs.data.jobs.map((job) => {
                    const s = stats.get(job.id);
                    return (
                      <tr key={job.id} className="border-b border-line/60" data-job={job.name}>
                        <td className="px-3 py-2 font-medium">
                          {job.name} {!job.enabled && <Badge>disabled</Badge>}
                        </td>
                        <td className="font-mono text-xs">{job.schedule ? `${job.schedule} (${job.timeZone})` : <span className="text-muted">trigger only</span>}</td>
                        <td className="tabular-nums">{job.nextRunAt ? new Date(job.nextRunAt).toLocaleString() : "—"}</td>
                        <td>{s?.last ? statusBadge(s.last.status) : <span className="text-muted">never</span>}</td>
                        <td className="tabular-nums">{s && s.finished > 0 ? `${formatPercent(s.succeeded / s.finished)} of ${s.finished}` : "—"}</td>
                        <td>{job.source.type}</td>
                        <td className="px-3 text-right whitespace-nowrap">
                          <button className="btn px-2" onClick={() => setState({ tab: "runs", job: job.id })} aria-label={`Runs of ${job.name}`}>
                            History
                          </button>{" "}
                          {canWrite && (
                            <>
                              <button className="btn px-2" onClick={() => runNow(job)} aria-label={`Run ${job.name} now`}>
                                <Play aria-hidden className="size-4" />
                              </button>{" "}
                              <button className="btn px-2" onClick={() => setState({ edit: String(job.id) })} aria-label={`Edit ${job.name}`}>
                                <Pencil aria-hidden className="size-4" />
                              </button>{" "}
                              <button className="btn px-2 text-danger" onClick={() => setDeleting(job)} aria-label={`Delete ${job.name}`}>
                                <Trash2 aria-hidden className="size-4" />
                              </button>
                            </>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}

      {state.tab === "runs" && (
        <div className={`grid gap-4 ${state.run ? "xl:grid-cols-[minmax(0,1fr)_26rem]" : ""}`}>
          <div className="space-y-2">
            <label className="flex items-center gap-2 text-sm text-muted">
              Job
              <select className="input" aria-label="Filter runs by job" value={state.job} onChange={(e) => setState({ job: Number(e.target.value), run: 0 })}>
                <option value={0}>all jobs</option>
                {jobs.data?.jobs.map((j) => (
                  <option key={j.id} value={j.id}>
                    {j.name}
                  </option>
                ))}
              </select>
            </label>
            <ErrorBox error={runs.error} what="Runs" />
            {runs.data && runs.data.runs.length === 0 && (
              <div className="card">
                <Empty>No runs yet.</Empty>
              </div>
            )}
            {runs.data && runs.data.runs.length > 0 && (
              <div className="card overflow-x-auto p-0">
                <table className="w-full text-sm" aria-label="Warming runs">
                  <thead className="text-left text-xs uppercase text-muted">
                    <tr className="border-b border-line">
                      <th className="px-3 py-2">Run</th>
                      <th>Job</th>
                      <th>Trigger</th>
                      <th>Status</th>
                      <th>Warmed / failed / skipped</th>
                      <th>Created</th>
                    </tr>
                  </thead>
                  <tbody>
                    {runs.data.runs.map((r) => (
                      <tr key={r.id} className={`cursor-pointer border-b border-line/60 ${r.id === state.run ? "bg-accent/10" : "hover:bg-line/40"}`} onClick={() => setState({ run: r.id })} aria-selected={r.id === state.run}>
                        <td className="px-3 py-2">
                          <button className="hover:underline" aria-label={`Open run ${r.id}`}>
                            #{r.id}
                          </button>
                        </td>
                        <td>{r.jobName ?? "—"}</td>
                        <td>{r.trigger}</td>
                        <td>{statusBadge(r.status)}</td>
                        <td className="tabular-nums">
                          {formatNumber(r.warmed)} / {formatNumber(r.failed)} / {formatNumber(r.skipped)}
                          {r.total !== undefined ? ` of ${formatNumber(r.total)}` : ""}
                        </td>
                        <td className="text-muted">{formatAgo(Date.parse(r.createdAt), now)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </div>
          {state.run > 0 && <RunPanel id={state.run} canCancel={canWrite} onClose={() => setState({ run: 0 })} onFinished={() => void runs.mutate()} />}
        </div>
      )}

      {deleting && (
        <ConfirmDialog
          title={`Delete the job “${deleting.name}”?`}
          actionLabel="Delete"
          onCancel={() => setDeleting(null)}
          onConfirm={async () => {
            try {
              await deleteJob(deleting.id);
            } catch (e) {
              setActionError(e);
            }
            setDeleting(null);
            await jobs.mutate();
          }}
        >
          <p>Its schedule stops; its run history stays.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function RunPanel({ id, canCancel, onClose, onFinished }: { id: number; canCancel: boolean; onClose: () => void; onFinished: () => void }) {
  const visible = usePageVisible();
  const [cancelError, setCancelError] = useState<unknown>(null);
  const { data, error, mutate } = useSWR<RunDetail>(warmingPaths.run(id), {
    refreshInterval: (latest) => (visible && (!latest || !FINAL_RUN_STATUSES.has(latest.status)) ? 500 : 0),
  });
  // The panel polls faster than the list: once the run is final, refresh the list so both agree.
  const finalStatus = data && FINAL_RUN_STATUSES.has(data.status) ? data.status : null;
  const finished = useRef(onFinished);
  useEffect(() => {
    finished.current = onFinished;
  });
  useEffect(() => {
    if (finalStatus) finished.current();
  }, [id, finalStatus]);
  const done = data ? data.warmed + data.failed + data.skipped : 0;
  const fraction = data?.total ? Math.min(1, done / data.total) : data && FINAL_RUN_STATUSES.has(data.status) ? 1 : null;
  return (
    <aside className="card space-y-3" aria-label={`Run ${id}`} data-testid="run-detail">
      <div className="flex items-center justify-between">
        <h2 className="font-medium">
          Run #{id} {data && statusBadge(data.status)}
        </h2>
        <button className="btn px-1.5" onClick={onClose} aria-label="Close run details">
          <X aria-hidden className="size-4" />
        </button>
      </div>
      <ErrorBox error={error} what="Run" />
      {data && (
        <>
          <ProgressBar fraction={fraction} label={`${formatNumber(done)}${data.total !== undefined ? ` of ${formatNumber(data.total)}` : ""} keys · ${formatNumber(data.keysPerSecond, 1)} keys/s · ${formatDuration(data.durationMs)}`} />
          <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
            <dt className="text-muted">Warmed</dt>
            <dd data-testid="run-warmed">{formatNumber(data.warmed)}</dd>
            <dt className="text-muted">Failed</dt>
            <dd>{formatNumber(data.failed)}</dd>
            <dt className="text-muted">Skipped</dt>
            <dd>{formatNumber(data.skipped)}</dd>
            <dt className="text-muted">Batches</dt>
            <dd>
              {data.batches} ({data.retries} retried)
            </dd>
            <dt className="text-muted">Source</dt>
            <dd>
              {data.sourceType}
              {data.namespace ? ` · ${data.namespace}` : ""}
            </dd>
          </dl>
          {data.error && <p className="text-sm text-danger">{data.error}</p>}
          {data.errorSamples.length > 0 && (
            <details className="text-sm">
              <summary>{data.errorSamples.length} error samples</summary>
              <ul className="mt-1 space-y-1 text-xs">
                {data.errorSamples.map((e) => (
                  <li key={e.at + e.message}>
                    {e.message} <span className="text-muted">({e.keys.slice(0, 3).join(", ")}…, {e.attempts} attempts)</span>
                  </li>
                ))}
              </ul>
            </details>
          )}
          {canCancel && !FINAL_RUN_STATUSES.has(data.status) && (
            <button
              className="btn text-danger"
              disabled={data.cancelRequested}
              onClick={async () => {
                try {
                  await cancelRun(id);
                  await mutate();
                } catch (e) {
                  setCancelError(e);
                }
              }}
            >
              {data.cancelRequested ? "Cancelling…" : "Cancel run"}
            </button>
          )}
          <ErrorBox error={cancelError} what="Cancel" />
        </>
      )}
    </aside>
  );
}
