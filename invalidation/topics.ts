import { Topic } from "encore.dev/pubsub";

/** One accepted invalidation request, as cache-manager applies it. */
export interface InvalidationEvent {
  requestId: string;
  kind: "keys" | "pattern" | "tags";
  keys?: string[];
  pattern?: string;
  tags?: string[];
  /** Key requests only: reload the keys through warming once they are removed (done by invalidation). */
  rewarm?: boolean;
  /** Count what would be removed; remove nothing. */
  dryRun: boolean;
  /** Epoch milliseconds when the request was accepted. */
  acceptedAt: number;
}

/**
 * Accepted invalidations, published after their audit row is committed. At-least-once: the
 * subscriber is idempotent by `requestId`.
 */
export const invalidations = new Topic<InvalidationEvent>("cache-invalidation", { deliveryGuarantee: "at-least-once" });
