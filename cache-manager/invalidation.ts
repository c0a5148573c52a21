/**
 * Applies the invalidation service's requests: each event removes its keys, pattern or tags
 * from L2 (SCAN + UNLINK in pipelined batches, per node) and from every instance's L1 (through
 * the coherence stream), then publishes the outcome for the audit log.
 *
 * Delivery is at-least-once, so the outcome is remembered in Redis by request id: a redelivered
 * event publishes the first outcome again (the audit log keeps one) instead of counting again.
 * A failure (Redis down) throws, and Pub/Sub retries the event with backoff.
 */
import { Subscription } from "encore.dev/pubsub";
import { invalidations, type InvalidationEvent } from "../invalidation/topics";
import { REPORT_INDEX_KEY } from "../lib/metrics/report";
import { cacheRuntime } from "./runtime";
import { invalidationOutcomes, type InvalidationOutcome } from "./topics";
import { redis } from "./config";

const OUTCOME_TTL_SECONDS = 7 * 24 * 3600;
const INSTANCE_WINDOW_MS = 3_000;
const outcomeKey = (requestId: string) => `cachet:invalidation:outcome:${requestId}`;

/** The cache-manager instances that reported in the last three seconds. */
async function liveInstances(): Promise<number> {
  const members = await redis().zrangebyscore(REPORT_INDEX_KEY, Date.now() - INSTANCE_WINDOW_MS, "+inf");
  return Math.max(1, members.filter((m) => m.startsWith("cache-manager:")).length);
}

async function execute(event: InvalidationEvent): Promise<Pick<InvalidationOutcome, "matched" | "deleted" | "scanned">> {
  const { cache } = await cacheRuntime();
  switch (event.kind) {
    case "keys": {
      const keys = event.keys ?? [];
      if (event.dryRun) return { matched: await cache.countExisting(keys), deleted: 0, scanned: 0 };
      const deleted = await cache.delete(keys);
      return { matched: deleted, deleted, scanned: 0 };
    }
    case "pattern": {
      if (event.dryRun) {
        const count = await cache.countMatching(event.pattern!, Number.MAX_SAFE_INTEGER);
        return { matched: count.count, deleted: 0, scanned: count.scanned };
      }
      const result = await cache.deleteMatching(event.pattern!);
      return { matched: result.deleted, deleted: result.deleted, scanned: result.scanned };
    }
    case "tags": {
      const tags = event.tags ?? [];
      if (event.dryRun) return { matched: await cache.countByTags(tags), deleted: 0, scanned: 0 };
      const deleted = await cache.deleteByTags(tags);
      return { matched: deleted, deleted, scanned: 0 };
    }
  }
}

/** Applies one event (or finds it already applied) and publishes its outcome. */
export async function applyInvalidation(event: InvalidationEvent): Promise<InvalidationOutcome> {
  const previous = await redis().get(outcomeKey(event.requestId));
  if (previous) {
    const outcome = JSON.parse(previous) as InvalidationOutcome;
    await invalidationOutcomes.publish(outcome);
    return outcome;
  }
  const started = performance.now();
  const counts = await execute(event);
  const outcome: InvalidationOutcome = {
    requestId: event.requestId,
    ...counts,
    instances: await liveInstances(),
    durationMs: Math.round((performance.now() - started) * 100) / 100,
    completedAt: Date.now(),
  };
  // Two deliveries of one event may overlap (a takeover): the first outcome stored is the one.
  const first = await redis().set(outcomeKey(event.requestId), JSON.stringify(outcome), "EX", OUTCOME_TTL_SECONDS, "NX");
  const recorded = first ? outcome : (JSON.parse((await redis().get(outcomeKey(event.requestId))) ?? JSON.stringify(outcome)) as InvalidationOutcome);
  await invalidationOutcomes.publish(recorded);
  return recorded;
}

export const applyInvalidations = new Subscription(invalidations, "cache-manager-apply", {
  handler: async (event) => void (await applyInvalidation(event)),
  maxConcurrency: 4,
  // A dead instance's event is taken over after this long; a longer deletion is retried (idempotent).
  ackDeadline: "30s",
  retryPolicy: { minBackoff: "1s", maxBackoff: "30s", maxRetries: 20 },
});
