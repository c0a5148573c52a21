/** How jobs and runs look on the wire (ISO timestamps, derived figures). */
import type { ErrorSample } from "./core/runner";
import type { Job, Run, RunStatus, RunTrigger } from "./core/repository";
import { parseSchedule } from "./core/schedule";
import type { SourceSpec } from "./core/spec";

export interface WarmingJob {
  id: number;
  name: string;
  enabled: boolean;
  /** 5-field cron; absent = trigger only. */
  schedule?: string;
  timeZone: string;
  source: SourceSpec;
  namespace?: string;
  priority: number;
  batchSize: number;
  concurrency: number;
  ttlSeconds?: number;
  /** The next scheduled run (absent when disabled or unscheduled). */
  nextRunAt?: string;
  createdAt: string;
  updatedAt: string;
}

export interface RunSummary {
  id: number;
  jobId?: number;
  jobName?: string;
  trigger: RunTrigger;
  status: RunStatus;
  priority: number;
  /** The scheduled time this run is for (scheduled runs only). */
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
  /** Batch attempts that failed and were retried. */
  retries: number;
  /** Keys done per second (warmed + failed + skipped) over the run's duration so far. */
  keysPerSecond: number;
  /** From start to finish, or to now while running. */
  durationMs: number;
  /** Up to 10 failed batches: when, why, the first keys, attempts. */
  errorSamples: ErrorSample[];
  /** Why the run failed as a whole (source error, dead worker). */
  error?: string;
  cancelRequested: boolean;
  workerId?: string;
  heartbeatAt?: string;
}

const isoOf = (epochMs: number | null | undefined) => (epochMs === null || epochMs === undefined ? undefined : new Date(epochMs).toISOString());

/** Drops undefined fields so the wire shape has no nulls. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function jobView(job: Job, now: number): WarmingJob {
  let nextRunAt: string | undefined;
  if (job.enabled && job.schedule) {
    try {
      nextRunAt = isoOf(parseSchedule(job.schedule, job.timeZone).nextAfter(Math.max(now, job.scheduledThrough)));
    } catch {
      nextRunAt = undefined;
    }
  }
  return compact({
    id: job.id,
    name: job.name,
    enabled: job.enabled,
    schedule: job.schedule ?? undefined,
    timeZone: job.timeZone,
    source: job.source,
    namespace: job.namespace ?? undefined,
    priority: job.priority,
    batchSize: job.batchSize,
    concurrency: job.concurrency,
    ttlSeconds: job.ttlSeconds ?? undefined,
    nextRunAt,
    createdAt: isoOf(job.createdAt)!,
    updatedAt: isoOf(job.updatedAt)!,
  });
}

export function runSummary(run: Run): RunSummary {
  return compact({
    id: run.id,
    jobId: run.jobId ?? undefined,
    jobName: run.jobName ?? undefined,
    trigger: run.trigger,
    status: run.status,
    priority: run.priority,
    dueAt: isoOf(run.dueAt),
    total: run.total ?? undefined,
    warmed: run.warmed,
    failed: run.failed,
    skipped: run.skipped,
    createdAt: isoOf(run.createdAt)!,
    startedAt: isoOf(run.startedAt),
    finishedAt: isoOf(run.finishedAt),
  });
}

export function runDetail(run: Run, now: number): RunDetail {
  const end = run.finishedAt ?? (run.status === "running" ? now : run.startedAt);
  const durationMs = run.startedAt !== null && end !== null ? Math.max(0, end - run.startedAt) : 0;
  const done = run.warmed + run.failed + run.skipped;
  return compact({
    ...runSummary(run),
    reason: run.reason ?? undefined,
    sourceType: run.spec.source.type,
    namespace: run.spec.namespace ?? undefined,
    batchSize: run.spec.batchSize,
    concurrency: run.spec.concurrency,
    batches: run.batches,
    retries: run.retries,
    keysPerSecond: durationMs > 0 ? Math.round((done / durationMs) * 1000 * 10) / 10 : 0,
    durationMs,
    errorSamples: run.errorSamples,
    error: run.error ?? undefined,
    cancelRequested: run.cancelRequested,
    workerId: run.workerId ?? undefined,
    heartbeatAt: isoOf(run.heartbeatAt),
  });
}
