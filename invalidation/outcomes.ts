/**
 * Records cache-manager's outcomes in the audit log as each request's `completed` row. A
 * redelivered outcome finds its row already there and changes nothing (counts included).
 */
import log from "encore.dev/log";
import { Subscription } from "encore.dev/pubsub";
import { warming } from "~encore/clients";
import { invalidationOutcomes, type InvalidationOutcome } from "../cache-manager/topics";
import { auditWriter, countOutcome } from "./audit";
import { getRequest } from "./audit-store";
import { db } from "./db";

export async function recordOutcome(outcome: InvalidationOutcome): Promise<void> {
  const record = await getRequest(db, outcome.requestId);
  if (!record) {
    log.warn("outcome for an unknown invalidation request; dropped", { requestId: outcome.requestId });
    return;
  }
  const { request } = record;
  const completedAt = new Date(outcome.completedAt);
  const { created } = await auditWriter().append({
    ...request,
    event: "completed",
    recordedAt: completedAt,
    matched: outcome.matched,
    deleted: outcome.deleted,
    instances: outcome.instances,
    durationMs: Math.max(0, completedAt.getTime() - request.recordedAt.getTime()),
    error: null,
  });
  if (!created) return;
  countOutcome(request.kind, outcome.deleted, false);
  const target = request.target as { keys?: string[]; rewarm?: boolean };
  if (target.rewarm && target.keys?.length && !request.dryRun) {
    // Best effort: the invalidation is done and recorded whether or not the reload starts.
    try {
      const { runId } = await warming.rewarm({ keys: target.keys, reason: `rewarm after invalidation ${request.requestId}` });
      log.info("rewarm started", { requestId: request.requestId, runId });
    } catch (error) {
      log.warn("rewarm could not start", { requestId: request.requestId, error: String(error) });
    }
  }
}

export const recordOutcomes = new Subscription(invalidationOutcomes, "invalidation-record-outcome", {
  handler: recordOutcome,
  maxConcurrency: 16,
  retryPolicy: { minBackoff: "1s", maxBackoff: "60s", maxRetries: 100 },
});
