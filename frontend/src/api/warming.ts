/** The warming service's API; the types are warming/*.ts's own (`import type` only). */
import type { RunStatus as ServiceRunStatus } from "../../../warming/core/repository";
import type { JobInput as ServiceJobInput, SourceSpec as ServiceSourceSpec, SourceType as ServiceSourceType } from "../../../warming/core/spec";
import type { DeletedJob, JobList as ServiceJobList } from "../../../warming/jobs";
import type { SchedulePreview as ServiceSchedulePreview } from "../../../warming/preview";
import type { CancelResponse, ListRunsParams, RunList as ServiceRunList, TriggerRequest, TriggerResponse } from "../../../warming/runs";
import type { RunDetail as ServiceRunDetail, RunSummary as ServiceRunSummary, WarmingJob as ServiceWarmingJob } from "../../../warming/views";
import { api, withQuery } from "./client";
import type { Assert, Same, Wire } from "./wire";

/**
 * A copy of warming/core/spec.ts's SOURCE_TYPES: the dashboard needs the list at run time, and
 * importing the value would pull the service's code into the bundle. `_SameSourceTypes` fails to
 * compile when the lists differ.
 */
export const SOURCE_TYPES = ["keys", "origin", "hot", "snapshot", "l3"] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];
type _SameSourceTypes = Assert<Same<SourceType, ServiceSourceType>>;
export type RunStatus = ServiceRunStatus;
/** The statuses (of warming/core/repository.ts's RUN_STATUSES) a run does not leave. */
export const FINAL_RUN_STATUSES: ReadonlySet<string> = new Set<RunStatus>(["succeeded", "failed", "cancelled"]);

export type SourceSpec = Wire<ServiceSourceSpec>;
export type JobInput = Wire<ServiceJobInput>;
export type WarmingJob = Wire<ServiceWarmingJob>;
export type JobList = Wire<ServiceJobList>;
export type RunSummary = Wire<ServiceRunSummary>;
export type RunDetail = Wire<ServiceRunDetail>;
export type RunList = Wire<ServiceRunList>;
export type SchedulePreview = Wire<ServiceSchedulePreview>;

export const warmingPaths = {
  jobs: "/api/warming/jobs?limit=500",
  runs: (filter: Pick<Wire<ListRunsParams>, "jobId" | "status" | "limit">) => withQuery("/api/warming/runs", { ...filter, limit: filter.limit ?? 100 }),
  run: (id: number) => `/api/warming/runs/${id}`,
  preview: (cron: string, tz: string) => withQuery("/api/warming/schedule-preview", { cron, tz }),
};

export const createJob = (input: JobInput) => api<WarmingJob>("/api/warming/jobs", { method: "POST", body: input });
export const updateJob = (id: number, input: JobInput) => api<WarmingJob>(`/api/warming/jobs/${id}`, { method: "PUT", body: input });
export const deleteJob = (id: number) => api<Wire<DeletedJob>>(`/api/warming/jobs/${id}`, { method: "DELETE" });
export const triggerJob = (jobId: number) =>
  api<Wire<TriggerResponse>>("/api/warming/trigger", { method: "POST", body: { jobId } satisfies Wire<TriggerRequest> });
export const cancelRun = (id: number) => api<Wire<CancelResponse>>(`/api/warming/runs/${id}/cancel`, { method: "POST" });
export const schedulePreview = (cron: string, tz: string) => api<SchedulePreview>(warmingPaths.preview(cron, tz));

/** Last status and success rate of each job, from its recent runs (newest first). */
export function jobRunStats(runs: readonly RunSummary[]): Map<number, { last?: RunSummary; finished: number; succeeded: number }> {
  const stats = new Map<number, { last?: RunSummary; finished: number; succeeded: number }>();
  for (const run of runs) {
    if (run.jobId === undefined) continue;
    const s = stats.get(run.jobId) ?? { finished: 0, succeeded: 0 };
    s.last ??= run;
    if (FINAL_RUN_STATUSES.has(run.status)) s.finished++;
    if (run.status === "succeeded") s.succeeded++;
    stats.set(run.jobId, s);
  }
  return stats;
}
