/**
 * Drives stuck invalidations again. A request stays `pending` when its event never completes:
 * retried past its last attempt (about 8 minutes without L2) it goes to the dead-letter stream,
 * and nothing would publish it again. Every minute this re-publishes each request pending for
 * longer than INVALIDATION_REDRIVE_AFTER_MS (default 10 min, past the subscription's retry
 * horizon), at most once per that period each, and logs it. Re-publishing is safe: cache-manager
 * applies a request id at most once (`cache-manager/core/apply-once.ts`) and returns the first
 * outcome to a redelivery.
 */
import { api, APIError } from "encore.dev/api";
import { CronJob } from "encore.dev/cron";
import log from "encore.dev/log";
import { listRequests } from "./audit-store";
import { config, redis } from "./config";
import { db } from "./db";
import { invalidations, type InvalidationEvent } from "./topics";

/** Requests re-published per run; the rest wait for the next minute. */
const REDRIVE_BATCH = 100;

export const redriveAfterMs = () => config().INVALIDATION_REDRIVE_AFTER_MS;

export interface RedriveResult {
  /** Request ids published again. */
  redriven: string[];
}

interface RedriveRequest {
  /** Re-publish requests pending for longer than this (ms); default INVALIDATION_REDRIVE_AFTER_MS. */
  olderThanMs?: number;
}

/** Re-publishes requests accepted before `now - after` that still have no outcome. */
async function redrive(now: number, after: number): Promise<RedriveResult> {
  const stuck = await listRequests(db, { status: "pending", to: new Date(now - after), limit: REDRIVE_BATCH });
  const redriven: string[] = [];
  for (const { request } of stuck) {
    // Once per period per request, whichever process runs the cron.
    const claimed = await redis().set(`cachet:invalidation:redriven:${request.requestId}`, String(now), "PX", after, "NX");
    if (claimed !== "OK") continue;
    const event: InvalidationEvent = {
      requestId: request.requestId,
      kind: request.kind,
      ...(request.target as Pick<InvalidationEvent, "keys" | "pattern" | "tags" | "rewarm">),
      dryRun: request.dryRun,
      acceptedAt: request.recordedAt.getTime(),
    };
    await invalidations.publish(event);
    redriven.push(request.requestId);
    log.warn("invalidation still pending; published again", { requestId: request.requestId, pendingForMs: now - request.recordedAt.getTime() });
  }
  return { redriven };
}

/** The cron job's endpoint (no parameters, as Encore requires). */
export const scheduledRedrive = api({ method: "POST", path: "/internal/invalidation/scheduled-redrive", expose: false }, async (): Promise<RedriveResult> =>
  redrive(Date.now(), redriveAfterMs()),
);

/** The same on demand (operations, tests), optionally with another age. */
export const redrivePending = api(
  { method: "POST", path: "/internal/invalidation/redrive", expose: false },
  async ({ olderThanMs }: RedriveRequest): Promise<RedriveResult> => {
    if (olderThanMs !== undefined && !(Number.isInteger(olderThanMs) && olderThanMs >= 0)) {
      throw APIError.invalidArgument('"olderThanMs" must be a whole number of milliseconds >= 0');
    }
    return redrive(Date.now(), olderThanMs ?? redriveAfterMs());
  },
);

export const invalidationRedrive = new CronJob("invalidation-redrive", {
  title: "Publish again invalidations pending too long",
  every: "1m",
  endpoint: scheduledRedrive,
});
