/**
 * The tiered cache: L1 (in-process) → L2 (Redis) → origin, with the mechanisms that keep it
 * correct across instances (design.md §4):
 * - one origin call per key cluster-wide: local single-flight + a Redis lease; losers wait for
 *   the winner's value, or serve stale;
 * - stale-while-revalidate within a grace period; soft and hard timeouts on origin loads;
 *   negative caching; TTL jitter;
 * - coherent L1: every L2 mutation is announced on the coherence stream before it is
 *   acknowledged, every instance drops its L1 copies when it hears it, and a read that races an
 *   invalidation never fills L1 with the value it read (KeyVersions);
 * - an L2 circuit breaker that drives the degradation level.
 * IO (stores, origins, bus, lease, clock) is injected; nothing here imports encore.dev.
 */
import { CodedError } from "../../lib/errors";
import { compileGlob, matchesEverything } from "../../lib/glob";
import type { CoherenceBus } from "./coherence/bus";
import { KeyVersions } from "./coherence/versions";
import { decodeEnvelope, encodeEnvelope, freshness, type Envelope } from "./envelope";
import type { L1Cache } from "./l1/cache";
import { L2ArgumentError, L2CursorError } from "./l2/errors";
import type { L2Entry, L2Store } from "./l2/types";
import type { OriginRegistry } from "./origins/registry";
import { CircuitBreaker } from "./resilience/breaker";
import { systemClock, type Clock } from "./resilience/clock";
import { DegradationPolicy, type DegradationLevel } from "./resilience/degradation";
import { RedisLease } from "./resilience/lease";
import { SingleFlight } from "./resilience/singleflight";
import { jitterTtl, withTimeouts } from "./resilience/timeouts";
import { createCacheEvents, type CacheEvents } from "./stats/events";
import { TopK } from "./stats/topk";
import { KeyExplorer } from "./explorer";
import { mapBounded } from "../../lib/concurrency";

export type Source = "l1" | "l2" | "origin";
export type WriteMode = "cache-only" | "write-through" | "write-behind";
export const WRITE_MODES: readonly WriteMode[] = ["cache-only", "write-through", "write-behind"];

/** L1 slots examined per step of a pattern sweep. */
const PATTERN_SWEEP_PAGE = 256;
/** The longest a pattern sweep holds the event loop before letting other work run. */
const PATTERN_SWEEP_SLICE_MS = 5;

export interface CacheRead {
  key: string;
  value: unknown;
  source: Source;
  /** True when served from the grace period (a refresh is under way) or as a fallback. */
  stale: boolean;
  /** Milliseconds of freshness left (0 when stale). */
  ttlMs: number;
  tags: string[];
}

/** One key of `getMany`: its read, or `found: false` when nothing has it. */
export interface BatchRead {
  key: string;
  found: boolean;
  read?: CacheRead;
}

export interface BatchWrite {
  key: string;
  value: unknown;
  ttlMs?: number;
  tags?: string[];
}

export interface SetOptions {
  ttlMs?: number;
  tags?: string[];
  mode?: WriteMode;
}

/** No value for the key: not cached, and no origin has it. */
export class CacheMissError extends CodedError {
  static override code = "E_CACHE_MISS";
}
/** The degradation level refuses the request. */
export class CacheUnavailableError extends CodedError {
  static override code = "E_CACHE_UNAVAILABLE";
}
/** A write mode that needs an origin writer for a key whose namespace has none. */
export class NoWriterError extends CodedError {
  static override code = "E_NO_WRITER";
}

export interface TieredCacheOptions {
  l1: L1Cache<Envelope>;
  l2: L2Store;
  origins: OriginRegistry;
  /** Announces L2 mutations; its handlers must call `applyInvalidation` / `applyGap`. */
  coherence: Pick<CoherenceBus, "announce" | "flush">;
  lease: RedisLease;
  /** Queues a write for the origin (write-behind); required for that mode. */
  enqueueWrite?: (key: string, value: unknown) => Promise<void>;
  clock?: Clock;
  events?: CacheEvents;
  defaultTtlMs?: number;
  negativeTtlMs?: number;
  graceMs?: number;
  /** ±ratio applied to TTLs so keys written together do not expire together. */
  jitter?: number;
  softTimeoutMs?: number;
  hardTimeoutMs?: number;
  /** How long a lease loser waits for the winner's value before loading itself. */
  leaseWaitMs?: number;
  /** L2 failures (consecutive) before the breaker opens, and how long it stays open. */
  breakerThreshold?: number;
  breakerOpenMs?: number;
  hotKeys?: number;
}

const DEFAULTS = {
  defaultTtlMs: 5 * 60_000,
  negativeTtlMs: 30_000,
  graceMs: 60_000,
  jitter: 0.1,
  softTimeoutMs: 250,
  hardTimeoutMs: 5_000,
  leaseWaitMs: 5_000,
  breakerThreshold: 5,
  breakerOpenMs: 5_000,
  hotKeys: 100,
};

export class TieredCache {
  readonly events: CacheEvents;
  readonly versions = new KeyVersions();
  readonly breaker: CircuitBreaker;
  readonly degradation = new DegradationPolicy();
  readonly hot: TopK;
  private readonly flights = new SingleFlight<string, CacheRead>();
  private readonly clock: Clock;
  private readonly o: typeof DEFAULTS & TieredCacheOptions;

  constructor(options: TieredCacheOptions) {
    this.o = { ...DEFAULTS, ...stripUndefined(options) };
    this.clock = options.clock ?? systemClock;
    this.events = options.events ?? createCacheEvents();
    this.hot = new TopK({ k: this.o.hotKeys, clock: this.clock, decay: { intervalMs: 60_000, factor: 0.5 } });
    this.breaker = new CircuitBreaker({
      name: "l2",
      failureThreshold: this.o.breakerThreshold,
      openMs: this.o.breakerOpenMs,
      clock: this.clock,
      // A malformed cursor or argument is the caller's mistake, not L2 failing: it must not let
      // anyone open the breaker (and degrade every instance) by sending bad cursors.
      isFailure: (error) => !(error instanceof L2CursorError || error instanceof L2ArgumentError),
    });
    this.breaker.onStateChange(({ to }) => {
      this.events.emit("breaker", { name: "l2", state: to });
      this.degradation.update({ l2Breaker: to });
    });
    this.degradation.onChange(({ from, to }) => this.events.emit("degradation", { level: to, from }));
    this.o.l1.onEvict((key, reason) => {
      if (reason === "capacity" || reason === "expired") this.events.emit("evict", { tier: "l1", reason });
    });
  }

  get level(): DegradationLevel {
    // Reading the breaker's state lets an open breaker move to half-open once its time is up.
    return this.degradation.update({ l2Breaker: this.breaker.state });
  }

  // ---------------------------------------------------------------------------------------------
  // Reads

  /** Reads through the tiers; throws CacheMissError when nothing has the key. */
  async get(key: string): Promise<CacheRead> {
    if (!this.events.has("request")) return this.readThrough(key);
    // Durations inside this process: the monotonic high-resolution clock (L1 hits take µs).
    const started = performance.now();
    const read = await this.readThrough(key);
    this.events.emit("request", { key, source: read.source, ms: performance.now() - started });
    return read;
  }

  private async readThrough(key: string): Promise<CacheRead> {
    const plan = this.planOrThrow("read");
    this.hot.offer(key);
    const now = this.clock.now();
    let stale: CacheRead | undefined;

    if (plan.tiers.includes("l1")) {
      const local = this.o.l1.get(key);
      if (local) {
        const state = freshness(local, now, this.o.graceMs);
        if (state === "fresh") return this.answer(key, local, "l1", false, now);
        if (state === "stale" && !local.n) {
          stale = this.read(key, local, "l1", true, now);
          if (plan.serveStale || this.refreshInBackground(key)) return this.served(stale, "grace");
        }
      }
    }

    const token = this.versions.snapshot(key);
    /** L2 could not be read (failed or refused by its breaker): not the same as "L2 has no such key". */
    let l2Unread = false;
    if (plan.tiers.includes("l2")) {
      const stored = await this.l2Get(key);
      l2Unread = stored === undefined;
      if (stored) {
        const remote = stored.envelope;
        const state = freshness(remote, now, this.o.graceMs);
        if (state === "fresh") {
          this.fillL1(key, remote, token, stored.size);
          return this.answer(key, remote, "l2", false, now);
        }
        if (state === "stale" && !remote.n) {
          stale = this.read(key, remote, "l2", true, now);
          if (plan.serveStale || this.refreshInBackground(key)) return this.served(stale, "grace");
        }
      }
    }

    if (!plan.tiers.includes("origin")) {
      if (stale) return this.served(stale, "read-only");
      throw new CacheMissError(`key "${key}" is not cached and the origin is not reachable (degradation level ${plan.level})`);
    }
    // Without an origin, L2 was the only place the key could be: saying "not found" would be a
    // false negative that callers may act on. It is unavailable, and worth a retry.
    if (l2Unread && !stale && !this.o.origins.resolve(key)) {
      throw new CacheUnavailableError(`L2 could not be read for "${key}" and no origin serves its namespace; retry shortly`);
    }
    this.events.emit("miss", { key });
    return this.flights.do(key, () => this.loadThroughLease(key, stale, plan.fill.includes("l2")));
  }

  /** Starts a background refresh unless one is running; true when the stale value may be served. */
  private refreshInBackground(key: string): boolean {
    if (!this.o.origins.resolve(key)) return false;
    if (!this.flights.has(key)) {
      void this.flights.do(key, () => this.loadThroughLease(key, undefined, true)).catch((error) => this.error("E_REFRESH", error, key));
    }
    return true;
  }

  /**
   * One origin call per key across instances: the lease winner loads and fills L2; the others
   * wait for its value (or serve stale), and load themselves only if the winner never delivers.
   */
  private async loadThroughLease(key: string, stale: CacheRead | undefined, useL2: boolean): Promise<CacheRead> {
    const token = this.versions.snapshot(key);
    let lease: string | null = null;
    if (useL2) {
      lease = await this.o.lease.acquire(key, this.o.hardTimeoutMs + 1_000).catch(() => "local");
      if (lease === null) {
        if (stale) return this.served(stale, "lease-held");
        await this.o.lease.waitFor(key, { timeoutMs: this.o.leaseWaitMs }).catch(() => undefined);
        const now = this.clock.now();
        const filled = await this.l2Get(key);
        if (filled && freshness(filled.envelope, now, this.o.graceMs) === "fresh") {
          this.fillL1(key, filled.envelope, token, filled.size);
          return this.answer(key, filled.envelope, "l2", false, now);
        }
      }
    }
    try {
      return await this.loadFromOrigin(key, stale, token, useL2);
    } finally {
      if (lease && lease !== "local") void this.o.lease.release(key, lease).catch(() => undefined);
    }
  }

  private async loadFromOrigin(key: string, stale: CacheRead | undefined, token: number, useL2: boolean): Promise<CacheRead> {
    const started = this.clock.now();
    const store = async (envelope: Envelope) => {
      const size = useL2 ? await this.l2Put(key, envelope) : undefined;
      this.fillL1(key, envelope, token, size);
    };
    let result;
    try {
      result = await withTimeouts((signal) => this.o.origins.load(key, { signal }), {
        softMs: this.o.softTimeoutMs,
        hardMs: this.o.hardTimeoutMs,
        stale: stale ? { value: { found: true as const, value: stale.value } } : undefined,
        clock: this.clock,
        onLateResult: (outcome) => {
          if (outcome.ok) void store(this.envelopeFor(outcome.value)).catch((error) => this.error("E_L2_WRITE", error, key));
        },
      });
    } catch (error) {
      this.events.emit("load", { key, ms: this.clock.now() - started, ok: false });
      if (stale) return this.served(stale, "origin-failed");
      throw error;
    }
    if (result.stale && stale) return this.served(stale, "soft-timeout");
    this.events.emit("load", { key, ms: this.clock.now() - started, ok: true });
    const envelope = this.envelopeFor(result.value);
    await store(envelope).catch((error) => this.error("E_L2_WRITE", error, key));
    return this.answer(key, envelope, "origin", false, this.clock.now());
  }

  private envelopeFor(result: { found: boolean; value?: unknown }): Envelope {
    const now = this.clock.now();
    if (!result.found) return { v: null, n: 1, f: now + this.o.negativeTtlMs };
    return { v: result.value, f: now + jitterTtl(this.o.defaultTtlMs, this.o.jitter) };
  }

  // ---------------------------------------------------------------------------------------------
  // Writes

  /** Writes a value in the given mode; resolves once every instance will see it (announced). */
  async set(key: string, value: unknown, options: SetOptions = {}): Promise<void> {
    this.planOrThrow("write");
    if (this.level === "l1-only") {
      throw new CacheUnavailableError("L2 is unavailable: writes are refused so instances cannot diverge; retry when it recovers");
    }
    const mode = options.mode ?? "cache-only";
    const ttlMs = jitterTtl(options.ttlMs ?? this.o.defaultTtlMs, this.o.jitter);
    if (mode === "write-through") {
      const origin = this.o.origins.resolve(key);
      if (!origin?.write) throw new NoWriterError(`write-through needs an origin with a writer for "${key}"`);
      await origin.write(key, value);
    }
    if (mode === "write-behind" && (!this.o.enqueueWrite || !this.o.origins.resolve(key)?.write)) {
      throw new NoWriterError(`write-behind needs an origin with a writer for "${key}"`);
    }
    const envelope: Envelope = { v: value, f: this.clock.now() + ttlMs, ...(options.tags?.length ? { t: options.tags } : {}) };
    this.versions.invalidate(key);
    this.o.l1.delete(key);
    // Taken before the write: if another instance's write of the key is announced meanwhile, L2
    // may hold theirs, and ours must not go into L1.
    const token = this.versions.snapshot(key);
    const size = await this.l2Put(key, envelope, options.tags);
    this.fillL1(key, envelope, token, size);
    if (mode === "write-behind") await this.o.enqueueWrite!(key, value);
    this.events.emit("set", { key });
  }

  /** Deletes keys from every tier of every instance; resolves to how many L2 held. */
  async delete(keys: readonly string[]): Promise<number> {
    this.planOrThrow("write");
    this.dropLocal(keys);
    const deleted = await this.breaker.run(() => this.o.l2.delete(keys));
    this.o.coherence.announce(keys, "delete");
    await this.o.coherence.flush();
    for (const key of keys) this.events.emit("delete", { key });
    return deleted;
  }

  /** The key explorer over this cache's tiers (read-only; no origin loads, no hit counting). */
  explorer(): KeyExplorer {
    return new KeyExplorer(this.o.l1, this.o.l2, this.breaker, () => this.clock.now());
  }

  l1Stats() {
    return this.o.l1.stats();
  }

  l2Info() {
    return this.o.l2.info();
  }

  // ---------------------------------------------------------------------------------------------
  // Batches, the key explorer, bulk invalidation

  /**
   * Reads several keys through the tiers, `concurrency` at a time; results are aligned with
   * `keys`. A key nothing has (not cached, and no origin has it or serves its namespace) is
   * `found: false`; any other error rejects the whole batch.
   */
  async getMany(keys: readonly string[], concurrency = 16): Promise<BatchRead[]> {
    const results = new Array<BatchRead>(keys.length);
    // Fresh L1 hits are answered in one synchronous pass; only the rest cost a read each.
    const rest: number[] = [];
    const useL1 = this.planOrThrow("read").tiers.includes("l1");
    for (let i = 0; i < keys.length; i++) {
      const read = useL1 ? this.freshL1Read(keys[i]) : undefined;
      if (read) results[i] = { key: keys[i], found: true, read };
      else rest.push(i);
    }
    await mapBounded(rest, concurrency, async (i) => {
      const key = keys[i];
      try {
        results[i] = { key, found: true, read: await this.get(key) };
      } catch (error) {
        if (error instanceof CacheMissError || (error as { code?: unknown })?.code === "E_ORIGIN_NOT_CONFIGURED") results[i] = { key, found: false };
        else throw error;
      }
    });
    return results;
  }

  /**
   * What `get` answers for a fresh L1 hit, with the same counting and events, without a
   * promise; `undefined` when the read needs more than L1 (then nothing was counted).
   */
  private freshL1Read(key: string): CacheRead | undefined {
    const started = performance.now();
    const now = this.clock.now();
    const local = this.o.l1.peek(key);
    if (!local || local.n || freshness(local, now, this.o.graceMs) !== "fresh") return undefined;
    this.hot.offer(key);
    this.o.l1.get(key); // counts the hit and tells the eviction policy, as a read does
    const read = this.answer(key, local, "l1", false, now);
    if (this.events.has("request")) this.events.emit("request", { key, source: "l1", ms: performance.now() - started });
    return read;
  }

  /**
   * Writes several entries (cache-only) as one batch: one pipelined L2 write and one coherence
   * announcement for all of them, acknowledged (like `set`) once the announcement is durable.
   * `_concurrency` is kept for callers of the earlier per-key version; the batch needs none.
   */
  async setMany(entries: readonly BatchWrite[], _concurrency = 16): Promise<void> {
    if (entries.length === 0) return;
    this.planOrThrow("write");
    if (this.level === "l1-only") {
      throw new CacheUnavailableError("L2 is unavailable: writes are refused so instances cannot diverge; retry when it recovers");
    }
    const now = this.clock.now();
    const count = entries.length;
    const keys = new Array<string>(count);
    const envelopes = new Array<Envelope>(count);
    const l2Entries = new Array<L2Entry & { value: string }>(count);
    // Each value is JSON-encoded once: the same string goes to L2 and sizes the L1 entry.
    for (let i = 0; i < count; i++) {
      const { key, value, ttlMs, tags } = entries[i];
      const fresh = now + jitterTtl(ttlMs ?? this.o.defaultTtlMs, this.o.jitter);
      const envelope: Envelope = tags?.length ? { v: value, f: fresh, t: tags } : { v: value, f: fresh };
      keys[i] = key;
      envelopes[i] = envelope;
      l2Entries[i] = { key, value: encodeEnvelope(envelope), ttlMs: Math.max(1, fresh - now) + this.o.graceMs, tags: envelope.t };
    }
    for (let i = 0; i < count; i++) {
      this.versions.invalidate(keys[i]);
      this.o.l1.delete(keys[i]);
    }
    // Taken after our own invalidations and before the L2 write: a key another instance changes
    // while this batch is written (its announcement lands meanwhile) is not filled with our value,
    // which L2 may already hold only under theirs.
    const token = this.versions.snapshot();
    await this.breaker.run(() => this.o.l2.mset(l2Entries));
    this.o.coherence.announce(keys, "set");
    await this.o.coherence.flush();
    for (let i = 0; i < count; i++) {
      this.fillL1(keys[i], envelopes[i], token, Buffer.byteLength(l2Entries[i].value));
      this.events.emit("set", { key: keys[i] });
    }
  }

  /**
   * Deletes every key matching the glob from L2 and clears every instance's L1 (a flush
   * announcement: cheaper than announcing each key, and correct for keys only L1 holds).
   */
  async deleteMatching(pattern: string): Promise<{ deleted: number; scanned: number }> {
    this.planOrThrow("write");
    const result = await this.breaker.run(() => this.o.l2.deleteMatching(pattern));
    if (matchesEverything(pattern)) {
      await this.announceFlush();
    } else {
      // Every instance drops its own matching L1 entries; other entries stay warm.
      await this.applyPatternInvalidation([pattern]);
      this.o.coherence.announce([pattern], "pattern");
      await this.o.coherence.flush();
    }
    return result;
  }

  /** Deletes every key indexed under any of `tags`, from L2 and from every instance's L1. */
  async deleteByTags(tags: readonly string[]): Promise<number> {
    this.planOrThrow("write");
    let deleted = 0;
    const keys: string[] = [];
    try {
      for (const tag of tags) deleted += await this.breaker.run(() => this.o.l2.deleteByTag(tag, { onKeys: (batch) => keys.push(...batch) }));
    } finally {
      // The keys are known as they are deleted: every instance drops exactly those from L1 (even
      // when a later tag failed), and the rest of L1 stays warm.
      this.dropLocal(keys);
      this.o.coherence.announce(keys, "delete");
      await this.o.coherence.flush();
    }
    return deleted;
  }

  /** Deletes every cache key from L2 and clears every instance's L1. */
  flush(): Promise<{ deleted: number; scanned: number }> {
    return this.deleteMatching("*");
  }

  /** How many of `keys` L2 holds (a dry run of `delete`). */
  countExisting(keys: readonly string[]): Promise<number> {
    return this.breaker.run(() => this.o.l2.exists(keys));
  }

  /** Keys indexed under any of `tags` (a dry run of `deleteByTags`; an upper bound). */
  async countByTags(tags: readonly string[]): Promise<number> {
    let total = 0;
    for (const tag of tags) total += await this.breaker.run(() => this.o.l2.countByTag(tag));
    return total;
  }

  /** Counts L2 keys matching the glob (up to `limit`), with a sample. */
  countMatching(pattern: string, limit?: number) {
    return this.breaker.run(() => this.o.l2.countMatching(pattern, { limit }));
  }

  private async announceFlush(): Promise<void> {
    this.applyGap(); // the bus does not deliver our own announcements back to us
    this.o.coherence.announce([], "flush");
    await this.o.coherence.flush();
  }

  // ---------------------------------------------------------------------------------------------
  // Coherence (called by the bus handlers and the invalidation subscriber)

  /** Another instance changed these keys: forget local copies and refuse in-flight fills. */
  applyInvalidation(keys: readonly string[]): void {
    this.dropLocal(keys);
  }

  /**
   * Keys matching any of these globs changed elsewhere: drop them from L1. Which in-flight fills
   * they cover is unknown until each completes, so every fill started before now is refused.
   * The sweep yields to the event loop every PATTERN_SWEEP_SLICE_MS, so requests keep being
   * answered while a costly pattern is applied to a large L1.
   */
  async applyPatternInvalidation(patterns: readonly string[]): Promise<void> {
    const matchers = patterns.map(compileGlob);
    const matches = (key: string) => matchers.some((match) => match(key));
    this.versions.clear();
    let cursor = 0;
    let sliceStart = performance.now();
    do {
      const page = this.o.l1.scan(cursor, PATTERN_SWEEP_PAGE, matches);
      this.dropLocal(page.keys);
      cursor = page.cursor;
      if (cursor !== 0 && performance.now() - sliceStart >= PATTERN_SWEEP_SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    } while (cursor !== 0);
  }

  /** Announcements may have been missed (stream trimmed, Redis restarted): drop the whole L1. */
  applyGap(): void {
    this.versions.clear();
    this.o.l1.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  private dropLocal(keys: readonly string[]): void {
    for (const key of keys) {
      this.versions.invalidate(key);
      this.o.l1.delete(key);
      this.flights.forget(key);
    }
  }

  /**
   * The envelope and its stored size (so filling L1 need not serialize it again to learn it);
   * `null` when L2 does not have the key, `undefined` when L2 could not be read.
   */
  private async l2Get(key: string): Promise<{ envelope: Envelope; size: number } | null | undefined> {
    try {
      const raw = await this.breaker.run(() => this.o.l2.get(key));
      const envelope = decodeEnvelope(raw);
      return envelope && { envelope, size: raw!.length };
    } catch (error) {
      this.error("E_L2_READ", error, key);
      return undefined;
    }
  }

  /**
   * Writes L2 (TTL = freshness + grace) and announces the key before returning; resolves to the
   * envelope's encoded size (for L1, so it is not encoded twice).
   */
  private async l2Put(key: string, envelope: Envelope, tags = envelope.t): Promise<number> {
    const ttl = Math.max(1, envelope.f - this.clock.now()) + this.o.graceMs;
    const encoded = encodeEnvelope(envelope);
    await this.breaker.run(() => this.o.l2.set(key, encoded, ttl, tags?.length ? { tags } : undefined));
    this.o.coherence.announce([key], "set");
    await this.o.coherence.flush();
    return Buffer.byteLength(encoded);
  }

  /** `sizeBytes`: the envelope's serialized size when the caller already knows it (saves encoding it again). */
  private fillL1(key: string, envelope: Envelope, token: number, sizeBytes?: number): void {
    if (!this.versions.unchanged(key, token)) return;
    const ttlMs = envelope.f - this.clock.now() + this.o.graceMs;
    if (ttlMs <= 0) return;
    const size = sizeBytes ?? Buffer.byteLength(encodeEnvelope(envelope));
    this.o.l1.set(key, envelope, { sizeBytes: size, ttlMs, tags: envelope.t });
  }

  private read(key: string, envelope: Envelope, source: Source, stale: boolean, now: number): CacheRead {
    return { key, value: envelope.v, source, stale, ttlMs: Math.max(0, envelope.f - now), tags: envelope.t ?? [] };
  }

  private answer(key: string, envelope: Envelope, source: Source, stale: boolean, now: number): CacheRead {
    if (envelope.n) throw new CacheMissError(`the origin has no value for "${key}"`);
    if (source !== "origin") this.events.emit("hit", { key, tier: source });
    return this.read(key, envelope, source, stale, now);
  }

  private served(read: CacheRead, reason: string): CacheRead {
    this.events.emit("stale-served", { key: read.key, reason });
    return this.answer(read.key, { v: read.value, t: read.tags, f: 0 }, read.source, true, this.clock.now());
  }

  private planOrThrow(kind: "read" | "write") {
    void this.level; // syncs the level with the breaker first
    const plan = this.degradation.plan(kind);
    if (!plan.allowed) throw new CacheUnavailableError(plan.reason ?? `the cache refuses ${kind}s at level ${plan.level}`);
    return plan;
  }

  private error(type: string, error: unknown, key?: string): void {
    const code = (error as { code?: unknown })?.code;
    this.events.emit("error", { type: typeof code === "string" ? code : type, key, error });
  }
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
