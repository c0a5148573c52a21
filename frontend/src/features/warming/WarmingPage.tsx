import { Plus } from "lucide-react";
import { useState } from "react";
import useSWR from "swr";
import { createJob, deleteJob, jobRunStats, triggerJob, updateJob, warmingPaths, type JobList, type RunList, type WarmingJob } from "../../api/warming";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { Empty, ErrorBox, PageHeader, Tabs } from "../../components/ui";
import { useAccess } from "../../lib/access";
import { useEscape } from "../../lib/keyboard";
import { useSettings } from "../../lib/settings";
import { int, oneOf, text } from "../../lib/url-state";
import { useUrlState } from "../../lib/use-url-state";
import { useNow, usePageVisible } from "../../lib/visibility";
import { JobForm } from "./JobForm";
import { JobsTable } from "./JobsTable";
import { RunPanel } from "./RunPanel";
import { RunsTable } from "./RunsTable";

const schema = { tab: oneOf(["jobs", "runs"], "jobs"), job: int(0, { min: 0 }), run: int(0, { min: 0 }), edit: text("") };

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
      <Tabs
        label="Warming views"
        tabs={[
          { id: "jobs", label: "Jobs" },
          { id: "runs", label: "Runs" },
        ]}
        value={state.tab}
        onChange={(tab) => setState({ tab, run: 0 })}
      />
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
            <JobsTable
              jobs={jobs.data.jobs}
              stats={stats}
              canWrite={canWrite}
              onHistory={(job) => setState({ tab: "runs", job: job.id })}
              onRun={(job) => void runNow(job)}
              onEdit={(job) => setState({ edit: String(job.id) })}
              onDelete={setDeleting}
            />
          )}
        </div>
      )}

      {state.tab === "runs" && (
        <div className={`grid gap-4 ${state.run ? "xl:grid-cols-[minmax(0,1fr)_26rem]" : ""}`}>
          <div className="min-w-0 space-y-2">
            <label className="flex items-center gap-2 text-sm text-muted">
              Job
              <select
                className="input max-w-full min-w-0"
                aria-label="Filter runs by job"
                value={state.job}
                onChange={(e) => setState({ job: Number(e.target.value), run: 0 })}
              >
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
            {runs.data && runs.data.runs.length > 0 && <RunsTable runs={runs.data.runs} selected={state.run} now={now} onOpen={(run) => setState({ run })} />}
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
