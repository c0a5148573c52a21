/** The write-behind queue's public types: options, events, stats, dead letters. */
import type { Redis } from "ioredis";
import type { BackoffOptions } from "./backoff.ts";

/** Applies one value to the origin. Must honour `signal` (it aborts at `writeTimeoutMs`). */
export type WriteFunction = (key: string, value: unknown, context: { signal: AbortSignal; attempt: number }) => Promise<void>;

export interface WriteBehindOptions {
  /** Command connection (shared is fine). */
  redis: Redis;
  /** Makes the queue's own connection for blocking reads; the queue closes it on stop/abort. */
  blockingRedis: () => Redis;
  /** Base name of the queue's Redis keys; wrapped in a {hash tag} unless it has one. */
  streamKey: string;
  /** Consumer group shared by every instance. Default "cachet-write-behind". */
  group?: string;
  /** This instance's consumer name, unique per live process. */
  consumer: string;
  write: WriteFunction;
  /** Retries after the first attempt before dead-lettering. Default 5. */
  maxRetries?: number;
  /** Default { minMs: 500, maxMs: 60 000 }. */
  backoff?: BackoffOptions;
  /** A delivered entry idle this long is presumed orphaned and claimed. Default 30 000. */
  claimIdleMs?: number;
  /** Origin writes in flight per instance. Default 8. */
  concurrency?: number;
  /** Hard deadline per origin write; below `claimIdleMs`. Default min(10 000, claimIdleMs / 2). */
  writeTimeoutMs?: number;
  /** Most distinct keys awaiting a write; a new key beyond it is refused (E_WRITE_BEHIND_FULL). Default 100 000. */
  maxDepth?: number;
  /** Approximate cap on the dead-letter stream. Default 10 000. */
  deadLetterMaxLength?: number;
  /** How long one blocking read waits. Default 1 000. */
  blockMs?: number;
  /** Cadence of retry promotion and claim checks. Default 100. */
  pollMs?: number;
  /** How long `stop()` waits for in-flight writes. Default 10 000. */
  stopTimeoutMs?: number;
  /** Time source for enqueue times, lag and retry due times. Default `Date.now`. */
  clock?: { now(): number };
  /** Jitter source for backoff. Default `Math.random`. */
  random?: () => number;
  /** Typed events for metrics and logs. Must not throw. */
  onEvent?: (event: WriteBehindEvent) => void;
}

export type WriteBehindEvent =
  | { type: "applied"; key: string; attempt: number; durationMs: number; requeued: boolean }
  | { type: "retry-scheduled"; key: string; attempt: number; delayMs: number; error: string }
  | { type: "dead-lettered"; key: string; attempts: number; error: string }
  | { type: "claimed"; count: number }
  | { type: "error"; where: string; error: unknown };

export interface WriteBehindStats {
  /** Keys with a write not yet applied: queued + in flight + waiting to retry. */
  depth: number;
  /** Stream entries not yet delivered to any consumer. */
  queued: number;
  /** Entries delivered but not settled (including those of a crashed consumer, until claimed). */
  inFlight: number;
  /** Keys waiting for their retry backoff. */
  retrying: number;
  /** Age in ms of the oldest write not yet applied; 0 when there is none. */
  lagMs: number;
  /** Totals since the queue's keys were created, across all instances. */
  enqueued: number;
  coalesced: number;
  applied: number;
  retries: number;
  deadLettered: number;
  /** Entries in the dead-letter stream now (capped by `deadLetterMaxLength`). */
  deadLetterLength: number;
}

export interface DeadLetter {
  id: string;
  key: string;
  value: unknown;
  attempts: number;
  error: string;
  /** When it was dead-lettered (clock ms). */
  at: number;
}

export interface EnqueueResult {
  /** The key's stream entry (shared with earlier writes when coalesced). */
  entryId: string;
  /** Per-key write counter. */
  version: number;
  /** True when the write joined an entry already queued or in flight. */
  coalesced: boolean;
}
