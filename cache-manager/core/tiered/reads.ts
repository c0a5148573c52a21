/**
 * Reads: L1 → L2 → L3 → origin, one origin call per key across instances (local single-flight plus
 * the fill lease taken in the same round trip as the L2 read), stale-while-revalidate within the
 * grace period, soft and hard timeouts on origin loads, negative caching. A value loaded from the
 * origin enters L2 only through its fence (`l2/fence.ts`): a delete, write or invalidation that
 * lands while the load runs revokes it. L1 fills are version-checked (`local.ts`). L3 is read by
 * the holder of the key's fill lease, so after Redis lost its data one instance per key reads L3
 * and refills L2 through the same fence, and the origin sees no storm.
 */
import { randomUUID } from "node:crypto";
import { mapBounded } from "../../../lib/concurrency";
import { decodeEnvelope, freshness, type Envelope } from "../envelope";
import { fenceOf, markerOf, type FillFence } from "../l2/fence";
import { OriginNotConfiguredError } from "../origins/errors";
import { sleep, type TimerHandle } from "../../../lib/clock";
import { jitterTtl, withTimeouts } from "../resilience/timeouts";
import type { CacheContext } from "./context";
import type { L3Tier } from "./l3";
import { CacheMissError, CacheUnavailableError, defaultTtlFor, type BatchRead, type CacheRead, type Source } from "./options";

/**
 * What a fenced L2 read found: the value (with the fence a refresh of it uses; `envelope` is
 * undefined when the bytes do not decode), the lease (with our marker), or another read's lease.
 */
type Start =
  | { kind: "value"; envelope: Envelope | undefined; size: number; fence: FillFence }
  | { kind: "granted"; fence: FillFence; marker: string }
  | { kind: "held"; ttlMs: number };

/** The lease lock could not be asked for (Redis failing): load, relying on the fence alone. */
const LOCAL_ONLY = "local";
/** Longest pause between a waiter's reads of a key another instance is loading. */
const MAX_POLL_MS = 100;
const NOTHING = () => undefined;

export class Reads {
  /** Fill leases held by this instance's loads, marker → key, all renewed by one timer (`keepLease`). */
  private readonly held = new Map<string, string>();
  private renewTimer: TimerHandle | undefined;

  constructor(private readonly c: CacheContext) {}

  /** Reads through the tiers; throws CacheMissError when nothing has the key. */
  get(key: string): Promise<CacheRead> {
    const { tracer } = this.c.o;
    if (!tracer) return this.timedGet(key);
    const namespace = key.slice(0, key.indexOf(":") + 1) || "(none)";
    return tracer.span("cache.get", { "cache.namespace": namespace }, (annotate) =>
      this.timedGet(key).then((read) => (annotate({ "cache.source": read.source, "cache.stale": read.stale }), read)),
    );
  }

  /** Runs `run` in a span of the tier it consults when reads are traced. */
  private tier<T>(
    name: "cache.l1" | "cache.l2" | "cache.l3" | "cache.origin",
    run: () => T,
    describe: (result: Awaited<T>) => Record<string, string | boolean>,
  ): T {
    const { tracer } = this.c.o;
    if (!tracer) return run();
    return tracer.span(name, {}, (annotate) => {
      const result = run();
      if (result instanceof Promise) return result.then((value: Awaited<T>) => (annotate(describe(value)), value)) as T;
      annotate(describe(result as Awaited<T>));
      return result;
    });
  }

  private timedGet(key: string): Promise<CacheRead> {
    const events = this.c.events;
    if (!events.has("request")) return this.readThrough(key);
    // Durations inside this process: the monotonic high-resolution clock (L1 hits take µs).
    const started = performance.now();
    return this.readThrough(key).then((read) => {
      events.emit("request", { key, source: read.source, ms: performance.now() - started });
      return read;
    });
  }

  /**
   * Reads several keys through the tiers, `concurrency` at a time; results are aligned with
   * `keys`. A key nothing has (not cached, and no origin has it or serves its namespace) is
   * `found: false`; any other error rejects the whole batch. Fresh L1 hits are answered first, in
   * one synchronous pass counted as one batch (`hits`); when every key is one, nothing waits.
   */
  getMany(keys: readonly string[], concurrency = 16): Promise<BatchRead[]> {
    const results = new Array<BatchRead>(keys.length);
    let rest: number[];
    try {
      rest = this.c.plan("read").tiers.includes("l1") ? this.freshL1Reads(keys, results) : keys.map((_, i) => i);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (rest.length === 0) return Promise.resolve(results);
    return mapBounded(rest, concurrency, async (i) => {
      const key = keys[i];
      try {
        results[i] = { key, found: true, read: await this.get(key) };
      } catch (error) {
        if (error instanceof CacheMissError || error instanceof OriginNotConfiguredError) results[i] = { key, found: false };
        else throw error;
      }
    }).then(() => results);
  }

  /**
   * Answers the fresh L1 hits among `keys` into `results`, as `freshL1Read` answers each, with
   * one clock read and one `hits` event for the lot; returns the indexes of the other keys.
   */
  private freshL1Reads(keys: readonly string[], results: BatchRead[]): number[] {
    const started = performance.now();
    const now = this.c.o.clock.now();
    const isFresh = this.freshAt(now);
    const envelopes = this.c.local.l1.getEachIf(keys, isFresh);
    const rest: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const envelope = envelopes[i];
      if (envelope) results[i] = { key, found: true, read: this.toRead(key, envelope, "l1", false, now) };
      else rest.push(i);
    }
    const hits = rest.length === 0 ? keys : keys.filter((_, i) => results[i] !== undefined);
    if (hits.length > 0) {
      this.c.hot.offerAll(hits);
      this.c.events.emit("hits", { keys: hits, tier: "l1", ms: performance.now() - started });
    }
    return rest;
  }

  /**
   * What `get` answers for a fresh L1 hit, with the same counting and events, without a
   * promise; `undefined` when the read needs more than L1 (then nothing was counted). Untraced:
   * the caller checks the plan and the tracer (`TieredCache.getFresh`).
   */
  freshL1Read(key: string): CacheRead | undefined {
    const started = performance.now();
    const now = this.c.o.clock.now();
    const local = this.c.local.l1.getIf(key, this.freshAt(now));
    if (!local) return undefined;
    this.c.hot.offer(key);
    const read = this.answer(key, local, "l1", false, now);
    if (this.c.events.has("request")) this.c.events.emit("request", { key, source: "l1", ms: performance.now() - started });
    return read;
  }

  /** Whether an entry is a value (not a negative entry) still fresh at `now`: what L1 answers without going further. */
  private freshAt(now: number): (envelope: Envelope) => boolean {
    const { graceMs } = this.c.o;
    return (envelope) => !envelope.n && freshness(envelope, now, graceMs) === "fresh";
  }

  private async readThrough(key: string): Promise<CacheRead> {
    const { o, local, remote } = this.c;
    const plan = this.c.plan("read");
    this.c.hot.offer(key);
    const now = o.clock.now();
    let stale: CacheRead | undefined;

    if (plan.tiers.includes("l1")) {
      const cached = this.tier(
        "cache.l1",
        () => local.l1.get(key),
        (entry) => ({ "cache.hit": entry !== undefined }),
      );
      if (cached) {
        const state = freshness(cached, now, o.graceMs);
        if (state === "fresh") return this.answer(key, cached, "l1", false, now);
        if (state === "stale" && !cached.n) {
          stale = this.toRead(key, cached, "l1", true, now);
          if (plan.serveStale || this.refreshInBackground(key)) return this.served(stale, "grace");
        }
      }
    }

    const token = local.versions.snapshot(key);
    // A key an origin or L3 may fill is read with a fenced read: a miss takes the fill lease in the
    // same round trip. Otherwise (or with L2 not filled at this level) a plain read will do.
    const fills =
      plan.tiers.includes("l2") &&
      plan.tiers.includes("origin") &&
      plan.fill.includes("l2") &&
      (o.origins.resolve(key) !== undefined || this.c.l3?.enabledFor(key) === true);
    /** L2 could not be read (failed or refused by its breaker): not the same as "L2 has no such key". */
    let l2Unread = false;
    let start: Start | undefined;
    if (plan.tiers.includes("l2")) {
      if (fills && local.flights.has(key)) {
        // This instance is loading the key already: join that load without another L2 read.
        this.c.events.emit("miss", { key });
        return local.flights.do(key, () => this.resolve(key, stale, token, undefined, true));
      }
      const read = await this.tier(
        "cache.l2",
        () => (fills ? this.fenceRead(key) : this.plainRead(key)),
        (found) => ({
          "cache.hit": found?.kind === "value",
          "cache.l2.read": found === undefined ? "failed" : (found?.kind ?? "miss"),
        }),
      );
      l2Unread = read === undefined;
      if (read?.kind === "value" && read.envelope) {
        const { envelope, size } = read;
        const state = freshness(envelope, now, o.graceMs);
        if (state === "fresh") {
          local.fill(key, envelope, token, size);
          return this.answer(key, envelope, "l2", false, now);
        }
        if (state === "stale" && !envelope.n) {
          stale = this.toRead(key, envelope, "l2", true, now);
          if (plan.serveStale || this.refreshInBackground(key)) return this.served(stale, "grace");
        }
      }
      if (read && (read.kind !== "value" || read.fence)) start = read as Start;
    }

    if (!plan.tiers.includes("origin")) {
      if (stale) return this.served(stale, "read-only");
      throw new CacheMissError(`key "${key}" is not cached and the origin is not reachable (degradation level ${plan.level})`);
    }
    // Without an origin, L2 was the only place the key could be: saying "not found" would be a
    // false negative that callers may act on. It is unavailable, and worth a retry.
    if (l2Unread && !stale && !o.origins.resolve(key)) {
      throw new CacheUnavailableError(`L2 could not be read for "${key}" and no origin serves its namespace; retry shortly`);
    }
    this.c.events.emit("miss", { key });
    // A lease granted to a read that then joins another load of this instance is handed back.
    if (start?.kind === "granted" && local.flights.has(key)) void remote.releaseFence(key, start.marker);
    return local.flights.do(key, () => this.resolve(key, stale, token, start, plan.fill.includes("l2")));
  }

  /** Starts a background refresh unless one is running; true when the stale value may be served. */
  private refreshInBackground(key: string): boolean {
    if (!this.c.o.origins.resolve(key)) return false;
    const { flights, versions } = this.c.local;
    if (!flights.has(key)) {
      const token = versions.snapshot(key);
      void flights.do(key, () => this.resolve(key, undefined, token, undefined, true)).catch((error) => this.c.remote.report("E_REFRESH", error, key));
    }
    return true;
  }

  /** A plain L2 read: `null` when L2 has no such key, `undefined` when it could not be read. */
  private async plainRead(key: string): Promise<{ kind: "value"; envelope: Envelope; size: number; fence?: undefined } | null | undefined> {
    const stored = await this.c.remote.read(key);
    return stored && { kind: "value", ...stored };
  }

  /** A fenced L2 read with a fresh marker, its value decoded. */
  private fenceRead(key: string): Promise<Start | undefined> {
    const marker = markerOf(randomUUID());
    return this.c.remote.fenceRead(key, marker, this.c.o.leaseTtlMs).then((read): Start | undefined => {
      if (read === undefined) return undefined;
      if (read.kind === "granted") return { kind: "granted", fence: read.fence, marker };
      if (read.kind === "held") return read;
      const envelope = decodeEnvelope(read.value);
      return { kind: "value", envelope: envelope ?? undefined, size: read.value.length, fence: fenceOf(read.value) };
    });
  }

  /**
   * Finishes a read that needs the origin, from what the first L2 read found (`start`), so that
   * one instance loads the key cluster-wide and only a load nothing overtook fills L2:
   * - granted: this read holds the key's lease; it loads, renewing the lease, and fills;
   * - held: another read is loading it; wait for its value (serve stale if there is one) and
   *   read again: the key then holds the value, or is free again (the load failed, or a change
   *   revoked it) and the next read takes the lease. A waiter never loads while the holder lives;
   *   past the holder's hard timeout plus `leaseWaitMs` it gives up (unavailable, retry);
   * - a value that is not fresh: one instance refreshes it (the lease lock), fenced by its bytes;
   * - L2 unreadable (undefined), or not filled at this level: load without storing in L2.
   */
  private async resolve(key: string, stale: CacheRead | undefined, token: number, start: Start | undefined, useL2: boolean): Promise<CacheRead> {
    const { o, local } = this.c;
    if (!useL2) return this.fromL3OrOrigin(key, stale, token, null);
    const deadline = o.clock.now() + o.hardTimeoutMs + o.leaseWaitMs;
    let delay = 5;
    for (let first = true; ; first = false) {
      if (!first || !start) start = await this.fenceRead(key);
      if (start === undefined) return this.fromL3OrOrigin(key, stale, token, null);
      if (start.kind === "granted") return this.fromL3OrOrigin(key, stale, token, { fence: start.fence, marker: start.marker });
      const now = o.clock.now();
      if (start.kind === "value") {
        const { envelope } = start;
        if (envelope && freshness(envelope, now, o.graceMs) === "fresh") {
          local.fill(key, envelope, token, start.size);
          return this.answer(key, envelope, "l2", false, now);
        }
        const lock = await o.lease.acquire(key, o.hardTimeoutMs + 1_000).catch(() => LOCAL_ONLY);
        if (lock !== null) {
          try {
            return await this.loadFromOrigin(key, stale, token, { fence: start.fence });
          } finally {
            if (lock !== LOCAL_ONLY) void o.lease.release(key, lock).catch(() => undefined);
          }
        }
        if (stale) return this.served(stale, "lease-held");
        await o.lease.waitFor(key, { timeoutMs: Math.max(0, Math.min(o.leaseWaitMs, deadline - now)) }).catch(() => undefined);
      } else {
        if (stale) return this.served(stale, "lease-held");
        await sleep(o.clock, Math.max(0, Math.min(delay, start.ttlMs + 1, deadline - now)));
        delay = Math.min(delay * 2, MAX_POLL_MS);
      }
      if (o.clock.now() >= deadline) throw new CacheUnavailableError(`"${key}" is still being loaded by another instance; retry shortly`);
    }
  }

  /**
   * The key's value from L3 if L3 has it fresh, else from the origin (an L3 value within its
   * grace period is the stale fallback). An L3 hit is answered at once; L2 (through `fill`'s
   * fence, when given) and L1 are filled behind the answer, L1 only once the fence held.
   */
  private fromL3OrOrigin(key: string, stale: CacheRead | undefined, token: number, fill: { fence: FillFence; marker?: string } | null): Promise<CacheRead> {
    const { l3 } = this.c;
    return l3?.enabledFor(key) ? this.fromL3(l3, key, stale, token, fill) : this.loadFromOrigin(key, stale, token, fill);
  }

  /** `fromL3OrOrigin` for a key whose namespace has L3. */
  private async fromL3(
    l3: L3Tier,
    key: string,
    stale: CacheRead | undefined,
    token: number,
    fill: { fence: FillFence; marker?: string } | null,
  ): Promise<CacheRead> {
    const { o, local, remote } = this.c;
    const record = await this.tier(
      "cache.l3",
      () => l3.read(key),
      (found) => ({ "cache.hit": found != null, "cache.l3.read": found === undefined ? "skipped" : found === null ? "miss" : "hit" }),
    );
    const envelope = record ? decodeEnvelope(record.value) : null;
    const now = o.clock.now();
    const state = envelope && !envelope.n ? freshness(envelope, now, o.graceMs) : "expired";
    if (envelope && state === "fresh") {
      if (!fill) local.fill(key, envelope, token);
      else {
        void remote
          .fill(key, envelope, fill.fence, "restore")
          .then((size) => {
            this.c.events.emit("fill", { key, stored: size !== null });
            if (size !== null) local.fill(key, envelope, token, size);
          })
          .catch((error) => {
            remote.report("E_L2_WRITE", error, key);
            if (fill.marker) void remote.releaseFence(key, fill.marker);
          });
      }
      return this.answer(key, envelope, "l3", false, now);
    }
    if (envelope && state === "stale") stale ??= this.toRead(key, envelope, "l3", true, now);
    return this.loadFromOrigin(key, stale, token, fill);
  }

  /**
   * Loads from the origin with soft and hard timeouts. `fill` says how the value may enter L2:
   * through its fence (a lease `marker` is renewed until the load settles, and dropped if it
   * fails), or not at all (`null`). L1 is filled unless the key changed meanwhile, and never
   * with a value whose fill a change revoked.
   */
  private loadFromOrigin(key: string, stale: CacheRead | undefined, token: number, fill: { fence: FillFence; marker?: string } | null): Promise<CacheRead> {
    return this.tier(
      "cache.origin",
      () => this.load(key, stale, token, fill),
      (read) => ({ "cache.stale": read.stale, "cache.filled_l2": fill !== null }),
    );
  }

  private async load(key: string, stale: CacheRead | undefined, token: number, fill: { fence: FillFence; marker?: string } | null): Promise<CacheRead> {
    const { o, remote, events } = this.c;
    const started = o.clock.now();
    const settle = fill?.marker ? this.keepLease(key, fill.marker) : NOTHING;
    let result;
    try {
      result = await withTimeouts((call) => o.origins.load(key, call), {
        softMs: o.softTimeoutMs,
        hardMs: o.hardTimeoutMs,
        stale: stale ? { value: { found: true as const, value: stale.value } } : undefined,
        clock: o.clock,
        onLateResult: (outcome) => {
          if (outcome.ok)
            void this.store(key, this.envelopeFor(key, outcome.value), token, fill, settle).catch((error) => remote.report("E_L2_WRITE", error, key));
          else settle(true);
        },
      });
    } catch (error) {
      settle(true);
      events.emit("load", { key, ms: o.clock.now() - started, ok: false });
      if (stale) return this.served(stale, "origin-failed");
      throw error;
    }
    if (result.stale && stale) return this.served(stale, "soft-timeout");
    events.emit("load", { key, ms: o.clock.now() - started, ok: true });
    const envelope = this.envelopeFor(key, result.value);
    await this.store(key, envelope, token, fill, settle).catch((error) => remote.report("E_L2_WRITE", error, key));
    return this.answer(key, envelope, "origin", false, o.clock.now());
  }

  /**
   * Stores a loaded value: in L2 through the fill's fence (and in L1 once the fence held), or in
   * L1 only when it may not enter L2; then `settle` stops renewing the lease. (A method rather
   * than a closure made per load.)
   */
  private async store(key: string, envelope: Envelope, token: number, fill: { fence: FillFence } | null, settle: (failed: boolean) => void): Promise<void> {
    const { local, remote, events } = this.c;
    try {
      if (!fill) return local.fill(key, envelope, token);
      const size = await remote.fill(key, envelope, fill.fence);
      events.emit("fill", { key, stored: size !== null });
      if (size !== null) local.fill(key, envelope, token, size);
    } finally {
      settle(false);
    }
  }

  /**
   * Keeps the key's lease while a load runs, so waiters keep waiting for a slow origin instead of
   * loading too: the lease joins the ones this instance holds, which one timer renews every third
   * of their TTL (`renewHeld`; a lease taken between two renewals is renewed at the next one, well
   * before it expires). Returns `settle(failed)`: stops renewing, and on failure drops the marker
   * so a waiter may take the lease at once. Idempotent.
   */
  private keepLease(key: string, marker: string): (failed: boolean) => void {
    this.held.set(marker, key);
    this.renewTimer ??= this.c.o.clock.setTimeout(this.renewHeld, this.renewEveryMs());
    let done = false;
    return (failed) => {
      if (done) return;
      done = true;
      this.held.delete(marker);
      if (failed) void this.c.remote.releaseFence(key, marker);
    };
  }

  /** Renews every lease held now (one it turns out we lost is renewed no more); comes back while any is held. */
  private readonly renewHeld = (): void => {
    const { o, remote } = this.c;
    this.renewTimer = undefined;
    for (const [marker, key] of this.held) {
      void remote.renewFence(key, marker, o.leaseTtlMs).then((held) => {
        if (!held) this.held.delete(marker);
      });
    }
    if (this.held.size > 0) this.renewTimer = o.clock.setTimeout(this.renewHeld, this.renewEveryMs());
  };

  private renewEveryMs(): number {
    return Math.max(1, Math.floor(this.c.o.leaseTtlMs / 3));
  }

  private envelopeFor(key: string, result: { found: boolean; value?: unknown }): Envelope {
    const { o } = this.c;
    const now = o.clock.now();
    if (!result.found) return { v: null, n: 1, f: now + o.negativeTtlMs };
    return { v: result.value, f: now + jitterTtl(defaultTtlFor(o, key), o.jitter) };
  }

  private toRead(key: string, envelope: Envelope, source: Source, stale: boolean, now: number): CacheRead {
    return { key, value: envelope.v, source, stale, ttlMs: Math.max(0, envelope.f - now), tags: envelope.t ?? [] };
  }

  private answer(key: string, envelope: Envelope, source: Source, stale: boolean, now: number): CacheRead {
    if (envelope.n) throw new CacheMissError(`the origin has no value for "${key}"`);
    if (source !== "origin") this.c.events.emit("hit", { key, tier: source });
    return this.toRead(key, envelope, source, stale, now);
  }

  private served(read: CacheRead, reason: string): CacheRead {
    this.c.events.emit("stale-served", { key: read.key, reason });
    return this.answer(read.key, { v: read.value, t: read.tags, f: 0 }, read.source, true, this.c.o.clock.now());
  }
}
