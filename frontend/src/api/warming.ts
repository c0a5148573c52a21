/** The warming service's API (shapes from warming/views.ts, jobs.ts, runs.ts, preview.ts, core/spec.ts). */
import { api, withQuery } from "./client";

export const SOURCE_TYPES = ["keys", "origin", "hot", "snapshot"] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];
export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export const FINAL_RUN_STATUSES: ReadonlySet<string> = new Set(["succeeded", "failed", "cancelled"]);

export interface SourceSpec {
  type: SourceType;
  keys?: string[];
  limit?: number;
  topN?: number;
  refreshAheadSeconds?: number;
  lookaheadMinutes?: number;
  windowMinutes?: number;
  days?: number;
  action?: "save" | "restore";
  [extra: string]: unknown;
}

export interface JobInput {
  name?: string;
  enabled?: boolean;
  schedule?: string;
  timeZone?: string;
  source?: SourceSpec;
  namespace?: string;
  priority?: number;
  batchSize?: number;
  concurrency?: number;
  ttlSeconds?: number;
}

export interface WarmingJob {
  id: number;
  name: string;
  enabled: boolean;
  schedule?: string;
  timeZone: string;
  source: SourceSpec;
  namespace?: string;
  priority: number;
  batchSize: number;
  concurrency: number;
  ttlSeconds?: number;
  nextRunAt?: string;
  createdAt: string;
  updatedAt: string;
}

export interface RunSummary {
  id: number;
  jobId?: number;
  jobName?: string;
  trigger: "schedule" | "manual" | "rewarm";
  status: RunStatus;
  priority: number;
  dueAt?: string;
  total?: number;
  warmed: number;
  failed: number;
  skipped: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface RunDetail extends RunSummary {
  reason?: string;
  sourceType: string;
  namespace?: string;
  batchSize: number;
  concurrency: number;
  batches: number;
  retries: number;
  keysPerSecond: number;
  durationMs: number;
  errorSamples: Array<{ at: string; message: string; keys: string[]; attempts: number }>;
  error?: string;
  cancelRequested: boolean;
}

export interface SchedulePreview {
  cron: string;
  timeZone: string;
  next: string[];
}

export const warmingPaths = {
  jobs: "/api/warming/jobs?limit=500",
  runs: (filter: { jobId?: number; status?: string; limit?: number }) => withQuery("/api/warming/runs", { ...filter, limit: filter.limit ?? 100 }),
  run: (id: number) => `/api/warming/runs/${id}`,
  preview: (cron: string, tz: string) => withQuery("/api/warming/schedule-preview", { cron, tz }),
};

export const createJob = (input: JobInput) => api<WarmingJob>("/api/warming/jobs", { method: "POST", body: input });
export const updateJob = (id: number, input: JobInput) => api<WarmingJob>(`/api/warming/jobs/${id}`, { method: "PUT", body: input });
export const deleteJob = (id: number) => api<{ id: number; deleted: boolean }>(`/api/warming/jobs/${id}`, { method: "DELETE" });
export const triggerJob = (jobId: number) => api<{ runId: number }>("/api/warming/trigger", { method: "POST", body: { jobId } });
export const cancelRun = (id: number) => api<{ id: number; status: RunStatus; cancelRequested: boolean }>(`/api/warming/runs/${id}/cancel`, { method: "POST" });
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

export interface RunList {
  /** Newest first. */
  runs: RunSummary[];
  cursor?: string;
}
