/**
 * The L3 tier as the cache uses it: reads behind a circuit breaker, invalidations in the order
 * that keeps an invalidated value from coming back, and the copy of L2 writes into L3.
 *
 * Ordering (`../l3/types.ts` has the store's side):
 * - an invalidation deletes in L3 and then in L2 while holding L3's exclusive lock; the copier
 *   reads L2 under the shared lock, so it never writes a value that L2 no longer holds, and a
 *   reader that took a key's fill lease after the L2 delete finds L3 without the value;
 * - an invalidation L3 cannot take is pushed to the pending list *before* the L2 delete runs
 *   (again, if it ran already: a reader may have filled L2 from L3 in between), and no instance
 *   reads L3 while that list is not empty; the list is replayed into L3 when it answers again.
 */
import { randomUUID } from "node:crypto";
import { markerOf } from "../l2/fence";
import { CircuitBreaker } from "../resilience/breaker";
import { TickBatch } from "../../../lib/tick-batch";
import { decodeEnvelope, freshness } from "../envelope";
import type { PendingInvalidations } from "../l3/pending";
import type { L3Entry, L3Invalidation, L3Record, L3Store } from "../l3/types";
import type { Clock } from "../../../lib/clock";
import { CacheUnavailableError, type CachePolicyPort, type L3RestorePage, type L3Status } from "./options";
import type { RemoteTier } from "./remote";

export interface L3TierOptions {
  store: L3Store;
  pending: PendingInvalidations;
  clock: Clock;
  remote: RemoteTier;
  policy?: CachePolicyPort;
  /** Whether a namespace without a policy of its own uses L3; default true. */
  enabledByDefault?: boolean;
  /** How long L3 keeps a value after it was copied, when the namespace's policy does not say. */
  retentionMs: number;
  breakerThreshold: number;
  breakerOpenMs: number;
  /** Keys per `getMany` of the reads gathered in one loop turn; default 200. */
  maxReadBatch?: number;
  /** How often the pending list is checked and replayed; default 1 000 ms. */
  replayEveryMs?: number;
  onError?: (type: string, error: unknown) => void;
}

/** How long a restore's soft lease on a key lives (a reader takes it over at once). */
const RESTORE_LEASE_MS = 30_000;

/** What a read of L3 found: the record, `null` (no such key), or `undefined` (L3 not consulted). */
export type L3Read = L3Record | null | undefined;

export class L3Tier {
  readonly breaker: CircuitBreaker;
  private readonly o: L3TierOptions;
  private readonly reads: TickBatch<string, L3Record | undefined>;
  private pendingCount = 0;
  private copied = 0;
  private copyFailures = 0;
  private copierLagMs: number | null = null;
  private replayTimer: ReturnType<typeof setInterval> | undefined;
  private replaying = false;
  /** Errors thrown by an invalidation's own L2 step: they do not count against L3's breaker. */
  private readonly notL3 = new WeakSet<object>();

  constructor(options: L3TierOptions) {
    this.o = options;
    this.breaker = new CircuitBreaker({
      name: "l3",
      failureThreshold: options.breakerThreshold,
      openMs: options.breakerOpenMs,
      clock: options.clock,
      isFailure: (error) => !(typeof error === "object" && error !== null && this.notL3.has(error)),
    });
    this.reads = new TickBatch((keys) => options.store.getMany(keys), options.maxReadBatch ?? 200);
  }

  /** Whether the key's namespace keeps its values in L3. */
  enabledFor(key: string): boolean {
    return this.o.policy?.forKey(key).l3 ?? this.o.enabledByDefault ?? true;
  }

  private retentionFor(key: string): number {
    return this.o.policy?.forKey(key).l3RetentionMs ?? this.o.retentionMs;
  }

  /**
   * The key's L3 record. Not consulted (`undefined`) when its namespace does not use L3, the
   * breaker is open, or invalidations are waiting to reach L3 (a value there may be one of them).
   */
  async read(key: string): Promise<L3Read> {
    if (!this.enabledFor(key) || this.breaker.state === "open") return undefined;
    try {
      const [record, waiting] = await Promise.all([this.breaker.run(() => this.reads.add(key)), this.o.pending.count()]);
      this.pendingCount = waiting;
      if (waiting > 0) return undefined;
      return record ?? null;
    } catch (error) {
      this.o.onError?.("E_L3_READ", error);
      return undefined;
    }
  }

  /**
   * Runs an invalidation's L2 step (`then`) in the order described at the top: under L3's lock
   * after its L3 delete, or, when L3 cannot take it, after recording it as pending. Resolves to
   * `then`'s result; rejects only when `then` fails.
   */
  async invalidate<T>(what: L3Invalidation, then: () => Promise<T>): Promise<T> {
    if (this.breaker.state !== "open") {
      const l2Step = () =>
        then().catch((error: unknown) => {
          if (typeof error === "object" && error !== null) this.notL3.add(error);
          throw error;
        });
      try {
        return (await this.breaker.run(() => this.o.store.invalidate(what, l2Step))).result;
      } catch (error) {
        this.o.onError?.("E_L3_INVALIDATE", error);
      }
    }
    await this.o.pending.push(what);
    this.pendingCount = Math.max(1, this.pendingCount);
    return then();
  }

  /**
   * What L2 holds now for `keys`, as L3 entries (the copier calls this inside the store's shared
   * lock): keys L2 no longer holds, lease markers, negative entries and namespaces without L3
   * are left out.
   */
  async current(keys: readonly string[]): Promise<L3Entry[]> {
    const wanted = keys.filter((key) => this.enabledFor(key));
    if (wanted.length === 0) return [];
    const raw = await this.o.remote.run((l2) => l2.mget(wanted));
    const now = this.o.clock.now();
    const entries: L3Entry[] = [];
    for (let i = 0; i < wanted.length; i++) {
      const value = raw[i];
      const envelope = decodeEnvelope(value);
      if (!value || !envelope || envelope.n) continue;
      entries.push({ key: wanted[i], value, tags: envelope.t ?? [], expiresAt: now + this.retentionFor(wanted[i]) });
    }
    return entries;
  }

  /** The copier's report after a batch: how long its oldest write waited (shown in `status`). */
  noteCopierLag(lagMs: number): void {
    this.copierLagMs = lagMs;
  }

  /**
   * Copies what L2 holds for `keys` into L3 (the copier's step); resolves to how many were stored.
   * When L3 does not take them, the keys are recorded as pending invalidations instead: L3 still
   * holds their previous values, which must not be read (after L2 loses the new ones), and the
   * replay removes them. The batch is then done (the copier moves on, so no write is left unread
   * in the stream to be trimmed unseen); it rejects only when the keys could not be recorded
   * either, and the copier retries it.
   */
  async copy(keys: readonly string[]): Promise<number> {
    try {
      const stored = await this.breaker.run(() => this.o.store.copy(keys, (batch) => this.current(batch)));
      this.copied += stored;
      return stored;
    } catch (error) {
      this.copyFailures++;
      this.o.onError?.("E_L3_COPY", error);
      const wanted = keys.filter((key) => this.enabledFor(key));
      if (wanted.length > 0) {
        await this.o.pending.push({ kind: "keys", keys: wanted });
        this.pendingCount = Math.max(1, this.pendingCount);
      }
      return 0;
    }
  }

  /**
   * Writes one page of L3's entries matching `pattern` back into L2 (warming source `l3`). The
   * keys' fences are taken first and the entries read again after, as a reader does: an
   * invalidation that lands in between either revokes the fence or has already emptied L3. Only
   * free keys are filled (soft leases, which a reader takes over): a key L2 holds, or that a
   * reader is loading, is left alone. `graceMs` is the L2 grace period.
   */
  async restore(options: { pattern: string; cursor: string | null; limit: number }, graceMs: number): Promise<L3RestorePage> {
    const { store, remote, clock, pending } = this.o;
    const page = await this.breaker.run(() => store.scan({ pattern: options.pattern, cursor: options.cursor, limit: options.limit }));
    const keys = page.records.map((record) => record.key).filter((key) => this.enabledFor(key));
    const markers = keys.map(() => markerOf(randomUUID(), true));
    const reads = keys.length > 0 ? await remote.run((l2) => l2.fenceReadMany(keys, markers, RESTORE_LEASE_MS)) : [];
    const fenceByKey = new Map<string, string>();
    reads.forEach((read, i) => read.kind === "granted" && fenceByKey.set(keys[i], read.fence));
    const fencedKeys = [...fenceByKey.keys()];
    const [records, waiting] = await Promise.all([this.breaker.run(() => store.getMany(fencedKeys)), pending.count()]);
    if (waiting > 0) throw new CacheUnavailableError(`${waiting} invalidations have not reached L3 yet; restore once they have`);
    const now = clock.now();
    const entries = [];
    for (let i = 0; i < fencedKeys.length; i++) {
      const record = records[i];
      const envelope = record && decodeEnvelope(record.value);
      if (!record || !envelope || envelope.n || freshness(envelope, now, graceMs) !== "fresh") continue;
      entries.push({
        key: record.key,
        value: record.value,
        ttlMs: Math.max(1, envelope.f - now) + graceMs,
        tags: envelope.t,
        fence: fenceByKey.get(record.key)!,
      });
    }
    const stored = entries.length > 0 ? await remote.fillMany(entries, "restore") : [];
    const restored = stored.filter(Boolean).length;
    return { restored, skipped: page.records.length - restored, cursor: page.cursor };
  }

  /** Starts replaying pending invalidations whenever there are some and L3 answers. */
  start(): void {
    this.replayTimer ??= setInterval(() => void this.replayPending(), this.o.replayEveryMs ?? 1_000);
    this.replayTimer.unref?.();
  }

  stop(): void {
    if (this.replayTimer !== undefined) clearInterval(this.replayTimer);
    this.replayTimer = undefined;
  }

  /** Applies waiting invalidations to L3 (one instance at a time); resolves to how many. */
  async replayPending(): Promise<number> {
    if (this.replaying) return 0;
    this.replaying = true;
    try {
      this.pendingCount = await this.o.pending.count();
      if (this.pendingCount === 0 || this.breaker.state === "open") return 0;
      const applied = await this.o.pending.replay((what) => this.breaker.run(() => this.o.store.invalidate(what, async () => undefined)).then(() => undefined));
      this.pendingCount = await this.o.pending.count();
      return applied;
    } catch (error) {
      this.o.onError?.("E_L3_REPLAY", error);
      return 0;
    } finally {
      this.replaying = false;
    }
  }

  status(): L3Status {
    const breaker = this.breaker.state;
    return {
      state: breaker === "open" || this.pendingCount > 0 ? "degraded" : "ok",
      breaker,
      pendingInvalidations: this.pendingCount,
      copied: this.copied,
      copyFailures: this.copyFailures,
      copierLagMs: this.copierLagMs,
    };
  }
}
