/**
 * The tiered cache: L1 (in-process) → L2 (Redis) → L3 (backup store, optional) → origin, with
 * the mechanisms that keep it correct across instances (design.md §4). This file is the facade; the work is split by job:
 * - `tiered/local.ts`: L1, per-key versions (a read racing an invalidation never fills L1 with
 *   what it read) and in-flight loads; the coherence handlers;
 * - `tiered/remote.ts`: L2 behind the circuit breaker, its announcements on the coherence stream;
 * - `tiered/reads.ts`: read-through, stampede protection, stale-while-revalidate, timeouts;
 * - `tiered/writes.ts`: `set` in each write mode and `setMany`;
 * - `tiered/invalidation.ts`: deletes by key, pattern and tag, and their dry runs;
 * - `tiered/l3.ts`: the L3 backup tier (reads, the order of invalidations, copies, restore);
 * - `tiered/factory.ts`: `createTieredCache`, which wires L1, L2, the bus and the cache.
 * IO (stores, origins, bus, lease, clock) is injected; nothing here imports encore.dev.
 */
import { KeyExplorer } from "./explorer";
import { systemClock } from "../../lib/clock";
import { DegradationPolicy, type DegradationLevel } from "./resilience/degradation";
import { createCacheEvents, type CacheEvents } from "./stats/events";
import { TopK } from "./stats/topk";
import type { CacheContext } from "./tiered/context";
import { Invalidation } from "./tiered/invalidation";
import { L3Tier } from "./tiered/l3";
import { LocalTier } from "./tiered/local";
import {
  CacheUnavailableError,
  DEFAULTS,
  stripUndefined,
  type BatchRead,
  type BatchWrite,
  type CacheRead,
  type L3RestorePage,
  type L3Status,
  type ResolvedOptions,
  type SetOptions,
  type TieredCacheOptions,
} from "./tiered/options";
import { Reads } from "./tiered/reads";
import { RemoteTier } from "./tiered/remote";
import { Writes } from "./tiered/writes";

export * from "./tiered/options";

export class TieredCache {
  readonly events: CacheEvents;
  readonly degradation = new DegradationPolicy();
  readonly hot: TopK;
  private readonly local: LocalTier;
  private readonly remote: RemoteTier;
  private readonly reads: Reads;
  private readonly writes: Writes;
  private readonly invalidation: Invalidation;
  /**
   * The L3 backup tier, when configured. Its replay of pending invalidations starts with
   * `l3.start()`; the copier that fills it (`l3/copier.ts`) is run beside the cache (runtime.ts).
   */
  readonly l3?: L3Tier;
  private readonly o: ResolvedOptions;

  /**
   * `local`: this instance's L1 state when the caller built it first, as `createTieredCache`
   * does to hand its coherence handlers to the bus; otherwise made from `options.l1`.
   */
  constructor(options: TieredCacheOptions, local?: LocalTier) {
    const o: ResolvedOptions = { ...DEFAULTS, ...stripUndefined(options), clock: options.clock ?? systemClock };
    this.o = o;
    this.events = options.events ?? createCacheEvents();
    this.hot = new TopK({ k: o.hotKeys, clock: o.clock, decay: { intervalMs: 60_000, factor: 0.5 } });
    this.local = local ?? new LocalTier(o.l1, o.clock, o.graceMs);
    this.remote = new RemoteTier({ ...o, events: this.events });
    this.remote.breaker.onStateChange(({ to }) => {
      this.events.emit("breaker", { name: "l2", state: to });
      this.degradation.update({ l2Breaker: to });
    });
    if (o.l3) {
      this.l3 = new L3Tier({
        ...o.l3,
        clock: o.clock,
        remote: this.remote,
        policy: o.policy,
        breakerThreshold: o.breakerThreshold,
        breakerOpenMs: o.breakerOpenMs,
        onError: (type, error) => this.remote.report(type, error),
      });
      this.l3.breaker.onStateChange(({ to }) => this.events.emit("breaker", { name: "l3", state: to }));
    }
    this.degradation.onChange(({ from, to }) => this.events.emit("degradation", { level: to, from }));
    o.l1.onEvict((key, reason) => {
      if (reason === "capacity" || reason === "expired") this.events.emit("evict", { tier: "l1", reason });
    });
    const context: CacheContext = {
      o,
      local: this.local,
      remote: this.remote,
      l3: this.l3,
      events: this.events,
      hot: this.hot,
      level: () => this.level,
      plan: (kind) => this.planOrThrow(kind),
    };
    this.reads = new Reads(context);
    this.writes = new Writes(context);
    this.invalidation = new Invalidation(context);
  }

  get breaker() {
    return this.remote.breaker;
  }

  get versions() {
    return this.local.versions;
  }

  get level(): DegradationLevel {
    // Reading the breaker's state lets an open breaker move to half-open once its time is up.
    return this.degradation.update({ l2Breaker: this.remote.breaker.state });
  }

  // --- reads

  /** Reads through the tiers; throws CacheMissError when nothing has the key. */
  get(key: string): Promise<CacheRead> {
    return this.reads.get(key);
  }

  /**
   * A fresh L1 hit without a promise, counted and reported as `get` counts it; `undefined` when
   * the read needs more than L1 (nothing is counted then: call `get`) or reads are traced (a
   * traced read gets its spans through `get`). For the request path: `getFresh(key) ?? await get(key)`.
   * Throws CacheUnavailableError when reads are refused, as `get` does.
   */
  getFresh(key: string): CacheRead | undefined {
    if (this.o.tracer || !this.planOrThrow("read").tiers.includes("l1")) return undefined;
    return this.reads.freshL1Read(key);
  }

  /** Reads several keys, `concurrency` at a time, aligned with `keys` (see `Reads.getMany`). */
  getMany(keys: readonly string[], concurrency = 16): Promise<BatchRead[]> {
    return this.reads.getMany(keys, concurrency);
  }

  // --- writes

  /** Writes a value in the given mode; resolves once every instance will see it (announced). */
  set(key: string, value: unknown, options: SetOptions = {}): Promise<void> {
    return this.writes.set(key, value, options);
  }

  /**
   * Writes several entries (cache-only) as one batch, acknowledged once announced; an entry with
   * a `fence` from `beginFills` is stored only if its key did not change since. Resolves to
   * whether each entry was stored.
   */
  setMany(entries: readonly BatchWrite[]): Promise<boolean[]> {
    return this.writes.setMany(entries);
  }

  /** Fill fences for keys about to be loaded from the origin outside a read (warming). */
  beginFills(keys: readonly string[]): Promise<Array<string | undefined>> {
    return this.writes.beginFills(keys);
  }

  // --- invalidation

  /** Deletes keys from every tier of every instance; resolves to how many L2 held. */
  delete(keys: readonly string[]): Promise<number> {
    return this.invalidation.delete(keys);
  }

  /** Deletes every key matching the glob from L2 and from every instance's L1. */
  deleteMatching(pattern: string): Promise<{ deleted: number; scanned: number }> {
    return this.invalidation.deleteMatching(pattern);
  }

  /** Deletes every key indexed under any of `tags`, from L2 and from every instance's L1. */
  deleteByTags(tags: readonly string[]): Promise<number> {
    return this.invalidation.deleteByTags(tags);
  }

  /** Deletes every cache key from L2 and clears every instance's L1. */
  flush(): Promise<{ deleted: number; scanned: number }> {
    return this.invalidation.deleteMatching("*");
  }

  /** How many of `keys` L2 holds (a dry run of `delete`). */
  countExisting(keys: readonly string[]): Promise<number> {
    return this.invalidation.countExisting(keys);
  }

  /** Keys indexed under any of `tags` (a dry run of `deleteByTags`; an upper bound). */
  countByTags(tags: readonly string[]): Promise<number> {
    return this.invalidation.countByTags(tags);
  }

  /** Counts L2 keys matching the glob (up to `limit`), with a sample. */
  countMatching(pattern: string, limit?: number) {
    return this.invalidation.countMatching(pattern, limit);
  }

  // --- coherence (called by the bus handlers and the invalidation subscriber)

  /** Another instance changed these keys: forget local copies and refuse in-flight fills. */
  applyInvalidation(keys: readonly string[]): void {
    this.local.applyInvalidation(keys);
  }

  /** Keys matching any of these globs changed elsewhere: drop them from L1. */
  applyPatternInvalidation(patterns: readonly string[]): Promise<void> {
    return this.local.applyPatternInvalidation(patterns);
  }

  /** Announcements may have been missed (stream trimmed, Redis restarted): drop the whole L1. */
  applyGap(): void {
    this.local.applyGap();
  }

  // --- introspection

  /** The key explorer over this cache's tiers (read-only; no origin loads, no hit counting). */
  explorer(): KeyExplorer {
    return new KeyExplorer(this.o.l1, this.o.l2, this.remote.breaker, () => this.o.clock.now());
  }

  l1Stats() {
    return this.o.l1.stats();
  }

  l2Info() {
    return this.o.l2.info();
  }

  /** The L3 tier as this instance sees it. */
  l3Status(): L3Status {
    return this.l3?.status() ?? { state: "off", breaker: "closed", pendingInvalidations: 0, copied: 0, copyFailures: 0, copierLagMs: null };
  }

  // --- recovery

  /** Writes one page of L3 entries matching `pattern` back into L2 (warming source `l3`). */
  async restoreFromL3(options: { pattern: string; cursor: string | null; limit: number }): Promise<L3RestorePage> {
    if (!this.l3) throw new CacheUnavailableError("L3 is not configured (CACHE_L3)");
    this.planOrThrow("write");
    return this.l3.restore(options, this.o.graceMs);
  }

  private planOrThrow(kind: "read" | "write") {
    void this.level; // syncs the level with the breaker first
    const plan = this.degradation.plan(kind);
    if (!plan.allowed) throw new CacheUnavailableError(plan.reason ?? `the cache refuses ${kind}s at level ${plan.level}`);
    return plan;
  }
}
