/**
 * Enqueuing runs: one function for the trigger endpoint, the rewarm endpoint and a job's manual
 * trigger. The engine is woken so a run starts at once when this instance has a free slot.
 */
import { WarmingInputError, WarmingNotFoundError } from "./core/errors";
import type { RunTrigger } from "./core/repository";
import { MAX_TTL_SECONDS } from "../lib/validation";
import { DEFAULTS, validateKeyList, validateNamespace, type RunSpec, runSpecOf } from "./core/spec";
import { repository, warming } from "./runtime";

export interface AdHocRun {
  keys?: unknown;
  namespace?: string;
  trigger: RunTrigger;
  reason?: string;
  priority?: number;
  ttlSeconds?: number;
  batchSize?: number;
  concurrency?: number;
}

function bounded(value: number | undefined, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max)
    throw new WarmingInputError(`"${field}" must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return value;
}

/** Validates and enqueues a run over explicit keys; returns its id. */
export async function enqueueKeys(request: AdHocRun): Promise<number> {
  const namespace = request.namespace === undefined || request.namespace === "" ? null : validateNamespace(request.namespace);
  const keys = validateKeyList(request.keys, "keys", namespace);
  const spec: RunSpec = {
    source: { type: "keys", keys },
    namespace,
    batchSize: bounded(request.batchSize, "batchSize", 1, 1_000, DEFAULTS.batchSize),
    concurrency: bounded(request.concurrency, "concurrency", 1, 32, DEFAULTS.concurrency),
    ttlSeconds: request.ttlSeconds === undefined ? null : bounded(request.ttlSeconds, "ttlSeconds", 1, MAX_TTL_SECONDS, 0),
  };
  if (request.reason !== undefined && (typeof request.reason !== "string" || request.reason.length > 500))
    throw new WarmingInputError('"reason" must be a string of at most 500 characters');
  const runId = await repository.enqueueRun(
    {
      trigger: request.trigger,
      reason: request.reason ?? null,
      priority: bounded(request.priority, "priority", 1, 10, DEFAULTS.priority),
      spec,
      total: keys.length,
    },
    Date.now(),
  );
  void warming().pump();
  return runId;
}

/** Enqueues a run of a job now (whatever its schedule says); returns its id. */
export async function enqueueJob(jobId: number, trigger: RunTrigger = "manual", priority?: number): Promise<number> {
  const job = await repository.getJob(jobId);
  if (!job) throw new WarmingNotFoundError(`warming job ${jobId} does not exist`);
  const runId = await repository.enqueueRun(
    {
      jobId: job.id,
      jobName: job.name,
      trigger,
      priority: bounded(priority, "priority", 1, 10, job.priority),
      spec: runSpecOf(job),
      total: job.source.type === "keys" ? (job.source.keys?.length ?? 0) : null,
    },
    Date.now(),
  );
  void warming().pump();
  return runId;
}
