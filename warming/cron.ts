/**
 * The scheduler: an Encore CronJob ticks every minute (the Node host fires it too, once per
 * minute across processes). Each tick fails runs of dead workers, enqueues due jobs (each due
 * time once: UNIQUE (job_id, due_at)), records the hot keys for time-of-day prediction and
 * starts queued runs. `POST /internal/warming/tick` runs the same tick on demand, optionally "as
 * of" a given time (operations and tests).
 */
import { api } from "encore.dev/api";
import { CronJob } from "encore.dev/cron";
import { WarmingInputError } from "./core/errors";
import { edge } from "./edge";
import { warming } from "./runtime";

interface TickRequest {
  /** Evaluate schedules as of this epoch-ms time instead of now. */
  at?: number;
}

export interface TickResponse {
  enqueued: Array<{ jobId: number; runId: number; dueAt: string }>;
  /** Runs failed because their worker stopped renewing its lease. */
  reaped: number[];
  /** Hot keys recorded for time-of-day prediction. */
  observed: number;
}

async function runTick(at: number): Promise<TickResponse> {
  const result = await warming().tick(at);
  return { enqueued: result.enqueued.map((e) => ({ ...e, dueAt: new Date(e.dueAt).toISOString() })), reaped: result.reaped, observed: result.observed };
}

/** The cron job's endpoint (no parameters, as Encore requires). */
export const scheduledTick = api({ method: "POST", path: "/internal/warming/scheduled-tick", expose: false }, async (): Promise<TickResponse> =>
  edge(() => runTick(Date.now())),
);

/** One scheduler tick now, or as of `at`. */
export const tick = api({ method: "POST", path: "/internal/warming/tick", expose: false }, async ({ at }: TickRequest): Promise<TickResponse> =>
  edge(async () => {
    if (at !== undefined && !(Number.isInteger(at) && at > 0)) throw new WarmingInputError('"at" must be epoch milliseconds');
    return runTick(at ?? Date.now());
  }),
);

export const warmingScheduler = new CronJob("warming-scheduler", {
  title: "Enqueue due warming jobs",
  every: "1m",
  endpoint: scheduledTick,
});
