/**
 * Reads: L1 → L2 → origin, one origin call per key across instances (local single-flight plus
 * the Redis lease), stale-while-revalidate within the grace period, soft and hard timeouts on
 * origin loads, negative caching. Fills go through the local tier (version-checked) and the
 * remote tier (announced).
 */
import { mapBounded } from "../../../lib/concurrency";
import { freshness, type Envelope } from "../envelope";
import { OriginNotConfiguredError } from "../origins/errors";
import { jitterTtl, withTimeouts } from "../resilience/timeouts";
import type { CacheContext } from "./context";
import { CacheMissError, CacheUnavailableError, type BatchRead, type CacheRead, type Source } from "./options";

export class Reads {
  constructor(private readonly c: CacheContext) {}

  /** Reads through the tiers; throws CacheMissError when nothing has the key. */
  async get(key: string): Promise<CacheRead> {
    const events = this.c.events;
    if (!events.has("request")) return this.readThrough(key);
    // Durations inside this process: the monotonic high-resolution clock (L1 hits take µs).
    const started = performance.now();
    const read = await this.readThrough(key);
    events.emit("request", { key, source: read.source, ms: performance.now() - started });
    return read;
  }

  /**
   * Reads several keys through the tiers, `concurrency` at a time; results are aligned with
   * `keys`. A key nothing has (not cached, and no origin has it or serves its namespace) is
   * `found: false`; any other error rejects the whole batch.
   */
  async getMany(keys: readonly string[], concurrency = 16): Promise<BatchRead[]> {
    const results = new Array<BatchRead>(keys.length);
    // Fresh L1 hits are answered in one synchronous pass; only the rest cost a read each.
    const rest: number[] = [];
    const useL1 = this.c.plan("read").tiers.includes("l1");
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
        if (error instanceof CacheMissError || error instanceof OriginNotConfiguredError) results[i] = { key, found: false };
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
    const { l1 } = this.c.local;
    const now = this.c.o.clock.now();
    const local = l1.peek(key);
    if (!local || local.n || freshness(local, now, this.c.o.graceMs) !== "fresh") return undefined;
    this.c.hot.offer(key);
    l1.get(key); // counts the hit and tells the eviction policy, as a read does
    const read = this.answer(key, local, "l1", false, now);
    if (this.c.events.has("request")) this.c.events.emit("request", { key, source: "l1", ms: performance.now() - started });
    return read;
  }

  private async readThrough(key: string): Promise<CacheRead> {
    const { o, local, remote } = this.c;
    const plan = this.c.plan("read");
    this.c.hot.offer(key);
    const now = o.clock.now();
    let stale: CacheRead | undefined;

    if (plan.tiers.includes("l1")) {
      const cached = local.l1.get(key);
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
    /** L2 could not be read (failed or refused by its breaker): not the same as "L2 has no such key". */
    let l2Unread = false;
    if (plan.tiers.includes("l2")) {
      const stored = await remote.read(key);
      l2Unread = stored === undefined;
      if (stored) {
        const envelope = stored.envelope;
        const state = freshness(envelope, now, o.graceMs);
        if (state === "fresh") {
          local.fill(key, envelope, token, stored.size);
          return this.answer(key, envelope, "l2", false, now);
        }
        if (state === "stale" && !envelope.n) {
          stale = this.toRead(key, envelope, "l2", true, now);
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
    if (l2Unread && !stale && !o.origins.resolve(key)) {
      throw new CacheUnavailableError(`L2 could not be read for "${key}" and no origin serves its namespace; retry shortly`);
    }
    this.c.events.emit("miss", { key });
    return local.flights.do(key, () => this.loadThroughLease(key, stale, plan.fill.includes("l2")));
  }

  /** Starts a background refresh unless one is running; true when the stale value may be served. */
  private refreshInBackground(key: string): boolean {
    if (!this.c.o.origins.resolve(key)) return false;
    const { flights } = this.c.local;
    if (!flights.has(key)) {
      void flights.do(key, () => this.loadThroughLease(key, undefined, true)).catch((error) => this.c.remote.report("E_REFRESH", error, key));
    }
    return true;
  }

  /**
   * One origin call per key across instances: the lease winner loads and fills L2; the others
   * wait for its value (or serve stale), and load themselves only if the winner never delivers.
   */
  private async loadThroughLease(key: string, stale: CacheRead | undefined, useL2: boolean): Promise<CacheRead> {
    const { o, local, remote } = this.c;
    const token = local.versions.snapshot(key);
    let lease: string | null = null;
    if (useL2) {
      lease = await o.lease.acquire(key, o.hardTimeoutMs + 1_000).catch(() => "local");
      if (lease === null) {
        if (stale) return this.served(stale, "lease-held");
        await o.lease.waitFor(key, { timeoutMs: o.leaseWaitMs }).catch(() => undefined);
        const now = o.clock.now();
        const filled = await remote.read(key);
        if (filled && freshness(filled.envelope, now, o.graceMs) === "fresh") {
          local.fill(key, filled.envelope, token, filled.size);
          return this.answer(key, filled.envelope, "l2", false, now);
        }
      }
    }
    try {
      return await this.loadFromOrigin(key, stale, token, useL2);
    } finally {
      if (lease && lease !== "local") void o.lease.release(key, lease).catch(() => undefined);
    }
  }

  private async loadFromOrigin(key: string, stale: CacheRead | undefined, token: number, useL2: boolean): Promise<CacheRead> {
    const { o, local, remote, events } = this.c;
    const started = o.clock.now();
    const store = async (envelope: Envelope) => {
      const size = useL2 ? await remote.put(key, envelope) : undefined;
      local.fill(key, envelope, token, size);
    };
    let result;
    try {
      result = await withTimeouts((signal) => o.origins.load(key, { signal }), {
        softMs: o.softTimeoutMs,
        hardMs: o.hardTimeoutMs,
        stale: stale ? { value: { found: true as const, value: stale.value } } : undefined,
        clock: o.clock,
        onLateResult: (outcome) => {
          if (outcome.ok) void store(this.envelopeFor(outcome.value)).catch((error) => remote.report("E_L2_WRITE", error, key));
        },
      });
    } catch (error) {
      events.emit("load", { key, ms: o.clock.now() - started, ok: false });
      if (stale) return this.served(stale, "origin-failed");
      throw error;
    }
    if (result.stale && stale) return this.served(stale, "soft-timeout");
    events.emit("load", { key, ms: o.clock.now() - started, ok: true });
    const envelope = this.envelopeFor(result.value);
    await store(envelope).catch((error) => remote.report("E_L2_WRITE", error, key));
    return this.answer(key, envelope, "origin", false, o.clock.now());
  }

  private envelopeFor(result: { found: boolean; value?: unknown }): Envelope {
    const { o } = this.c;
    const now = o.clock.now();
    if (!result.found) return { v: null, n: 1, f: now + o.negativeTtlMs };
    return { v: result.value, f: now + jitterTtl(o.defaultTtlMs, o.jitter) };
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
