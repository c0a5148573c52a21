/**
 * The publishing half of the coherence bus: queues announced keys and appends them to the stream
 * in batches (group commit).
 *
 * - A batch is sealed when it holds `maxBatchKeys` keys or `maxBatchBytes` bytes of keys,
 *   `lingerMs` after its first key, when `flush()` is called while nothing is being sent, or as
 *   soon as the send in flight ends. Sealed batches are sent one at a time, in order, one script
 *   call each. While one is in flight the next one fills up, flushes included, so batches grow
 *   with load by themselves (group commit): N concurrent writers cost about one round trip, not N.
 * - Keys are de-duplicated within a batch; consecutive announcements of one kind share an entry.
 * - A failed send is retried (backoff up to 1 s) until it succeeds or the announcer is closed;
 *   order is kept. A send whose reply was lost may land twice: delivery is at-least-once, and a
 *   repeated invalidation is harmless. `flush()` rejects with `CoherencePublishError` when its batch is not durable
 *   within `publishTimeoutMs`, but the retries go on.
 * - Bounded: when more than `maxQueuedKeys` keys wait (Redis down for long), everything queued
 *   collapses into one `flush` announcement: the other instances clear their L1 instead of hearing
 *   every key, and memory stays bounded. Waiters of the collapsed batches resolve with it.
 */
import type { Redis } from "ioredis";
import { runScript } from "../../../lib/redis.ts";
import { APPEND_SCRIPT, appendArgs, type AnnounceKind } from "./entry.ts";
import { CoherenceClosedError, CoherencePublishError } from "./errors.ts";

export interface AnnouncerOptions {
  streamKey: string;
  origin: string;
  maxLen: number;
  exactTrim: boolean;
  maxBatchKeys: number;
  maxBatchBytes: number;
  lingerMs: number;
  maxQueuedKeys: number;
  publishTimeoutMs: number;
  wallNow: () => number;
  onError: (error: Error) => void;
}

export interface AnnouncerStats {
  /** Keys accepted by `announce()` (after de-duplication within a batch). */
  keysAnnounced: number;
  entriesPublished: number;
  /** Script calls that succeeded; each carries one or more entries. */
  batchesPublished: number;
  /** Keys waiting to be sent (open and sealed batches). */
  pendingKeys: number;
  publishFailures: number;
  /** Times the queue overflowed and was replaced by one `flush` announcement. */
  collapsedToFlush: number;
}

interface Segment {
  kind: AnnounceKind;
  keys: Set<string>;
}

interface Batch {
  ticket: number;
  segments: Segment[];
  /** Keys in the batch; a flush segment counts as one. */
  size: number;
  /** UTF-8 bytes of the batch's keys. */
  bytes: number;
  openedAt: number;
}

/** Everyone waiting for one sealed batch to be durable: one promise and one timer per batch. */
interface Waiter {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const RETRY_BASE_MS = 25;
const RETRY_MAX_MS = 1_000;

export class Announcer {
  private open: Batch | null = null;
  private sealed: Batch[] = [];
  private inFlight: Batch | null = null;
  private nextTicket = 1;
  private lastSealedTicket = 0;
  private durableTicket = 0;
  private queuedKeys = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;
  private retryTimer: { timer: NodeJS.Timeout; wake: () => void } | null = null;
  /** Ticket → its waiters. */
  private readonly waiters = new Map<number, Waiter>();
  private closed = false;
  private abandoned = false;
  private readonly counters = { keysAnnounced: 0, entriesPublished: 0, batchesPublished: 0, publishFailures: 0, collapsedToFlush: 0 };

  constructor(
    private readonly redis: Redis,
    private readonly options: AnnouncerOptions,
  ) {}

  /** Queues keys; a `flush` announcement (keys ignored) tells every instance to clear its L1. */
  announce(keys: readonly string[], kind: AnnounceKind): void {
    if (this.closed) throw new CoherenceClosedError("the coherence bus is stopped; nothing more can be announced");
    if (kind === "flush") {
      const batch = this.openBatch();
      // Everything queued before a flush in the same batch is covered by it.
      this.queuedKeys -= batch.size;
      batch.segments = [{ kind, keys: new Set() }];
      batch.size = 1;
      batch.bytes = 0;
      this.queuedKeys += 1;
    } else {
      for (const key of keys) {
        const batch = this.openBatch();
        let segment = batch.segments.at(-1);
        if (!segment || segment.kind !== kind) {
          segment = { kind, keys: new Set() };
          batch.segments.push(segment);
        }
        if (segment.keys.has(key)) continue;
        segment.keys.add(key);
        batch.size += 1;
        batch.bytes += Buffer.byteLength(key);
        this.queuedKeys += 1;
        this.counters.keysAnnounced += 1;
        if (batch.size >= this.options.maxBatchKeys || batch.bytes >= this.options.maxBatchBytes) this.seal();
      }
    }
    if (this.open && !this.lingerTimer) this.lingerTimer = setTimeout(() => this.seal(), this.options.lingerMs);
    if (this.queuedKeys > this.options.maxQueuedKeys) this.collapse();
  }

  /**
   * Resolves once everything announced before the call is in Redis; rejects with
   * `CoherencePublishError` when that batch is not durable `publishTimeoutMs` after its first
   * `flush()`, or `CoherenceClosedError` if closed meanwhile. Calls waiting for the same batch
   * share one promise.
   */
  flush(): Promise<void> {
    // While a send is in flight, the open batch goes as soon as it ends (see drain()).
    if (!this.draining) this.seal();
    const ticket = this.open?.ticket ?? this.lastSealedTicket;
    if (this.durableTicket >= ticket) return Promise.resolve();
    if (this.abandoned) return Promise.reject(new CoherenceClosedError("the coherence bus stopped before the announcement was sent"));
    const existing = this.waiters.get(ticket);
    if (existing) return existing.promise;
    let settle!: { resolve: () => void; reject: (error: Error) => void };
    const promise = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    const timer = setTimeout(() => {
      this.waiters.delete(ticket);
      settle.reject(new CoherencePublishError(`the announcement was not durable within ${this.options.publishTimeoutMs} ms; it is still being retried`));
    }, this.options.publishTimeoutMs);
    this.waiters.set(ticket, { promise, timer, ...settle });
    return promise;
  }

  /**
   * Stops accepting announcements, sends what is queued (waiting at most `publishTimeoutMs`), then
   * stops retrying and rejects whatever still waits.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush().catch(() => undefined);
    this.abandoned = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    this.retryTimer?.wake();
    // A send still in flight ends when the bus closes the connection; no need to wait for it.
    for (const waiter of this.waiters.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(new CoherenceClosedError("the coherence bus stopped before the announcement was sent"));
    }
    this.waiters.clear();
  }

  stats(): AnnouncerStats {
    return { ...this.counters, pendingKeys: this.queuedKeys };
  }

  private openBatch(): Batch {
    if (!this.open) this.open = { ticket: this.nextTicket++, segments: [], size: 0, bytes: 0, openedAt: this.options.wallNow() };
    return this.open;
  }

  private seal(): void {
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    if (!this.open) return;
    this.sealed.push(this.open);
    this.lastSealedTicket = this.open.ticket;
    this.open = null;
    this.kick();
  }

  /** Replaces every queued batch that is not in flight with one flush announcement. */
  private collapse(): void {
    const last = this.open ?? this.sealed.at(-1);
    if (!last) return;
    const waiting = this.sealed.filter((batch) => batch !== this.inFlight);
    const oldest = waiting[0] ?? this.open!;
    const flush: Batch = { ticket: last.ticket, segments: [{ kind: "flush", keys: new Set() }], size: 1, bytes: 0, openedAt: oldest.openedAt };
    this.sealed = this.inFlight ? [this.inFlight, flush] : [flush];
    this.queuedKeys = 1 + (this.inFlight ? this.inFlight.size : 0);
    this.lastSealedTicket = flush.ticket;
    this.open = null;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    this.counters.collapsedToFlush += 1;
    this.kick();
  }

  private kick(): void {
    if (this.draining || this.abandoned) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      // A flush() made while the last send was ending waits on the open batch: send it now.
      if (this.open && this.waiters.has(this.open.ticket)) this.seal();
      else if (this.sealed.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    let attempt = 0;
    while (this.sealed.length > 0 && !this.abandoned) {
      const batch = this.sealed[0];
      this.inFlight = batch;
      try {
        await this.send(batch);
      } catch (error) {
        this.inFlight = null;
        attempt += 1;
        this.counters.publishFailures += 1;
        if (attempt === 1) this.options.onError(new CoherencePublishError("appending to the coherence stream failed; retrying", { cause: error }));
        await this.pause(Math.min(RETRY_BASE_MS * 2 ** (attempt - 1), RETRY_MAX_MS));
        continue;
      }
      attempt = 0;
      this.inFlight = null;
      // collapse() may have replaced the queue meanwhile, but never the batch in flight.
      if (this.sealed[0] === batch) this.sealed.shift();
      this.queuedKeys -= batch.size;
      this.counters.batchesPublished += 1;
      this.counters.entriesPublished += batch.segments.length;
      this.markDurable(batch.ticket);
      // What gathered while this batch was in flight goes next, without waiting for its linger.
      if (this.sealed.length === 0 && this.open) this.seal();
    }
  }

  private async send(batch: Batch): Promise<void> {
    const segments = batch.segments.map((segment) => ({ kind: segment.kind, keys: [...segment.keys] }));
    const { streamKey, maxLen, exactTrim, origin } = this.options;
    const args = appendArgs(maxLen, exactTrim, origin, batch.openedAt, segments);
    await runScript(this.redis, APPEND_SCRIPT, [streamKey], args);
  }

  private markDurable(ticket: number): void {
    if (ticket <= this.durableTicket) return;
    this.durableTicket = ticket;
    for (const [waiting, waiter] of this.waiters) {
      if (waiting > ticket) continue;
      clearTimeout(waiter.timer);
      waiter.resolve();
      this.waiters.delete(waiting);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.retryTimer = null;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.retryTimer = { timer, wake };
    });
  }
}
