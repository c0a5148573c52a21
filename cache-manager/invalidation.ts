/**
 * Applies the invalidation service's requests: each event removes its keys, pattern or tags
 * from L2 (SCAN + UNLINK in pipelined batches, per node) and from every instance's L1 (through
 * the coherence stream), then publishes the outcome for the audit log.
 *
 * Delivery is at-least-once, so each request is applied at most once (`core/apply-once.ts`): a
 * lease in Redis keeps a redelivery (a retry after the ack deadline while the first run still
 * deletes, a takeover) from running it again, and the outcome is remembered by request id, so a
 * redelivered event publishes the first outcome again (the audit log keeps one) instead of
 * deleting again, which would remove values written after the first run completed.
 * A failure (Redis down) throws, and Pub/Sub retries the event with backoff.
 */
import { Subscription } from "encore.dev/pubsub";
import { invalidations, type InvalidationEvent } from "../invalidation/topics";
import { REPORT_INDEX_KEY } from "../lib/metrics/report";
import { applyOnce } from "./core/apply-once";
import { cacheRuntime } from "./runtime";
import { invalidationOutcomes, type InvalidationOutcome } from "./topics";
import { redis } from "./config";

const INSTANCE_WINDOW_MS = 3_000;
/** The outcome key predates the lease: a request applied before an upgrade still counts as applied. */
const onceKeys = (requestId: string) => ({ outcomeKey: `cachet:invalidation:outcome:${requestId}`, leaseKey: `cachet:invalidation:running:${requestId}` });

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

/** Applies one event (or finds it applied, or waits for the delivery applying it) and publishes its outcome. */
export async function applyInvalidation(event: InvalidationEvent): Promise<InvalidationOutcome> {
  const { outcome } = await applyOnce(redis(), onceKeys(event.requestId), async () => {
    const started = performance.now();
    const counts = await execute(event);
    return {
      requestId: event.requestId,
      ...counts,
      instances: await liveInstances(),
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      completedAt: Date.now(),
    } satisfies InvalidationOutcome;
  });
  await invalidationOutcomes.publish(outcome);
  return outcome;
}

export const applyInvalidations = new Subscription(invalidations, "cache-manager-apply", {
  handler: async (event) => void (await applyInvalidation(event)),
  maxConcurrency: 4,
  // A dead instance's event is taken over after this long; a longer deletion is retried (idempotent).
  ackDeadline: "30s",
  retryPolicy: { minBackoff: "1s", maxBackoff: "30s", maxRetries: 20 },
});
