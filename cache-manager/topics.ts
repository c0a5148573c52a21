/**
 * cache-manager's topics and their message types, and nothing else: a subscriber in another
 * service imports this module, never the module that publishes (which reaches the cache runtime).
 */
import { Topic } from "encore.dev/pubsub";

export interface InvalidationOutcome {
  requestId: string;
  /** Keys that matched (for a dry run: that would be removed). */
  matched: number;
  deleted: number;
  /** Keys the pattern scan examined. */
  scanned: number;
  /** cache-manager instances reporting when the L1 invalidation was announced. */
  instances: number;
  durationMs: number;
  /** Epoch milliseconds when the outcome was recorded here. */
  completedAt: number;
}

/** Outcomes of applied invalidations, for the audit log. */
export const invalidationOutcomes = new Topic<InvalidationOutcome>("cache-invalidation-outcomes", { deliveryGuarantee: "at-least-once" });
