/**
 * Runs: trigger one, list the history, follow one's progress, cancel one. Viewer reads,
 * operator triggers and cancels.
 */
import { api, APIError } from "encore.dev/api";
import { requireKeyAccess, requireRole } from "../lib/auth/access";
import { WarmingNotFoundError, WarmingStateError } from "./core/errors";
import { RUN_STATUSES, type RunStatus } from "./core/repository";
import { canAccessJob, parseCursor, parseId, parseLimit, requireJobAccess } from "./access";
import { edge } from "./edge";
import { enqueueJob, enqueueKeys } from "./enqueue";
import { repository } from "./runtime";
import { runDetail, runSummary, type RunDetail, type RunSummary } from "./views";

export interface TriggerRequest {
  /** Run this job now. */
  jobId?: number;
  /** Or warm these keys (1 to 10,000)… */
  keys?: string[];
  /** …all inside this namespace, when given. */
  namespace?: string;
  /** 1 to 10; the job's priority (or 5) by default. */
  priority?: number;
  /** For keys: the TTL of the warmed entries (the cache's default when absent). */
  ttlSeconds?: number;
  batchSize?: number;
  concurrency?: number;
}

export interface TriggerResponse {
  runId: number;
}

export interface ListRunsParams {
  jobId?: number;
  status?: string;
  /** From the previous page. */
  cursor?: string;
  /** Runs per page, 1 to 200 (default 50). */
  limit?: number;
}

export interface RunList {
  /** Newest first. */
  runs: RunSummary[];
  /** Pass back as `cursor` for older runs; absent on the last page. */
  cursor?: string;
}

interface RunParams {
  id: number;
}

export interface CancelResponse {
  id: number;
  /** "cancelled" for a queued run; "running" while a running run finishes its current batch. */
  status: RunStatus;
  cancelRequested: boolean;
}

/** Starts a run now: of a job (`jobId`), or over explicit `keys`. Returns the run id. Operator. */
export const trigger = api({ method: "POST", path: "/api/warming/trigger", expose: true, auth: true }, async (p: TriggerRequest): Promise<TriggerResponse> =>
  edge(async () => {
    const who = requireRole("operator");
    if (p.jobId !== undefined && p.keys !== undefined) throw APIError.invalidArgument('send either "jobId" or "keys", not both');
    if (p.jobId !== undefined) {
      const job = await repository.getJob(parseId(p.jobId, "job"));
      if (!job) throw new WarmingNotFoundError(`warming job ${p.jobId} does not exist`);
      requireJobAccess(who, job);
      return { runId: await enqueueJob(job.id, "manual", p.priority) };
    }
    if (p.keys === undefined) throw APIError.invalidArgument('send "jobId" (run a job now) or "keys" with an optional "namespace" (warm those keys)');
    if (Array.isArray(p.keys))
      requireKeyAccess(
        who,
        p.keys.filter((k) => typeof k === "string"),
      );
    return { runId: await enqueueKeys({ ...p, trigger: "manual" }) };
  }),
);

/** Run history, newest first, filtered by job and status, cursor-paged. Viewer. */
export const listRuns = api({ method: "GET", path: "/api/warming/runs", expose: true, auth: true }, async (p: ListRunsParams): Promise<RunList> =>
  edge(async () => {
    const who = requireRole("viewer");
    if (p.status !== undefined && p.status !== "" && !(RUN_STATUSES as readonly string[]).includes(p.status)) {
      throw APIError.invalidArgument(`"status" must be one of ${RUN_STATUSES.join(", ")}, got "${p.status}"`);
    }
    const limit = parseLimit(p.limit, 50, 200);
    const runs = await repository.listRuns({
      jobId: p.jobId === undefined ? undefined : parseId(p.jobId, "job"),
      status: p.status ? (p.status as RunStatus) : undefined,
      beforeId: parseCursor(p.cursor),
      limit: limit + 1,
    });
    const page = runs.slice(0, limit);
    // A namespace-limited token sees only runs of its own namespaces (judged by the run's spec).
    const visible = page.filter((run) => canAccessJob(who, run.spec)).map(runSummary);
    return runs.length > limit ? { runs: visible, cursor: String(page[page.length - 1].id) } : { runs: visible };
  }),
);

/** One run's progress: warmed, failed, skipped, keys/s, duration, error samples. Viewer. */
export const getRun = api({ method: "GET", path: "/api/warming/runs/:id", expose: true, auth: true }, async ({ id }: RunParams): Promise<RunDetail> =>
  edge(async () => {
    const who = requireRole("viewer");
    const run = await repository.getRun(parseId(id, "run"));
    if (!run) throw new WarmingNotFoundError(`warming run ${id} does not exist`);
    requireJobAccess(who, run.spec);
    return runDetail(run, Date.now());
  }),
);

/**
 * Cancels a run: a queued run never starts; a running run stops before its next batch (the
 * batches in flight finish). 412 when the run already finished. Operator.
 */
export const cancelRun = api(
  { method: "POST", path: "/api/warming/runs/:id/cancel", expose: true, auth: true },
  async ({ id }: RunParams): Promise<CancelResponse> =>
    edge(async () => {
      const who = requireRole("operator");
      const run = await repository.getRun(parseId(id, "run"));
      if (!run) throw new WarmingNotFoundError(`warming run ${id} does not exist`);
      requireJobAccess(who, run.spec);
      const result = await repository.cancel(run.id, Date.now());
      if (!result) throw new WarmingNotFoundError(`warming run ${id} does not exist`);
      if (!result.changed) throw new WarmingStateError(`warming run ${id} already finished (${result.status}); only queued or running runs can be cancelled`);
      return { id, status: result.status, cancelRequested: true };
    }),
);
