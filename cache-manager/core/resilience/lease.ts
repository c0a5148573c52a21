/**
 * Cross-instance stampede protection with Redis leases, in the manner of Facebook's memcache
 * leases: on a miss, an instance asks for the key's lease; the winner loads from the origin and
 * fills L2, the losers wait for the lease to go away and then read L2 (or serve stale).
 *
 * - `acquire` is `SET lease:<key> <token> NX PX <ttl>`: atomic, and the TTL frees the lease if its
 *   holder dies mid-load. Pick a TTL above the origin's hard timeout.
 * - `release` and `extend` act only when the stored token is the caller's (a Lua compare-and-act),
 *   so a holder whose lease expired and was taken over cannot free the new holder's lease.
 * - `waitFor` polls with exponential backoff, never sleeping past the lease's remaining TTL, and
 *   gives up with `LeaseTimeoutError`. Polling needs no keyspace notifications (often disabled,
 *   and lost on disconnect like any pub/sub) and no dedicated blocking connection.
 * - Redis failures surface as `LeaseUnavailableError`; the caller then relies on its local
 *   single-flight alone rather than failing the read.
 * - On a single Redis server, the acquires and releases of one event-loop turn share one pipeline
 *   (`TickBatch`): a burst of misses costs one round trip, not one per key. A Cluster routes each
 *   lease key on its own.
 *
 * @example
 * const leases = new RedisLease({ redis });
 * const token = await leases.acquire(key, 10_000);
 * if (token) {
 *   try { await fillFromOrigin(key); } finally { await leases.release(key, token); }
 * } else {
 *   await leases.waitFor(key, { timeoutMs: 2_000 });
 *   return readL2(key);
 * }
 */
import { randomUUID } from "node:crypto";
import type { ChainableCommander, Cluster, Redis } from "ioredis";
import { isNoScript, scriptSha } from "../../../lib/redis.ts";
import { TickBatch } from "../../../lib/tick-batch.ts";
import { sleep, systemClock, type Clock } from "../../../lib/clock.ts";
import { LeaseTimeoutError, LeaseUnavailableError, ResilienceArgumentError } from "./errors.ts";

/** Deletes the lease only when it still holds the caller's token. */
const RELEASE_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`;

/** Resets the lease's TTL only when it still holds the caller's token. */
const EXTEND_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`;

export interface RedisLeaseOptions {
  /** A command connection (single node or cluster); never used for blocking commands. */
  redis: Redis | Cluster;
  /** Prepended to every key; default `"lease:"`. */
  prefix?: string;
  /** Times `waitFor`; default `systemClock`. */
  clock?: Clock;
  /** Makes lease tokens; default `crypto.randomUUID`. Tokens must be unique across instances. */
  newToken?: () => string;
}

export interface LeaseWaitOptions {
  /** Give up after this long with `LeaseTimeoutError` (a non-negative finite number). */
  timeoutMs: number;
  /** First delay between polls; doubles after each poll that finds the lease held. Default 5. */
  pollMs?: number;
  /** Longest delay between polls; default 100. */
  maxPollMs?: number;
  /** Stops waiting early, rejecting with `signal.reason`. */
  signal?: AbortSignal;
}

/** Queues one command on a pipeline. */
type Queue = (pipeline: ChainableCommander) => void;

export class RedisLease {
  private readonly redis: Redis | Cluster;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly newToken: () => string;
  /** Commands of one turn on one pipeline; `null` on a Cluster. */
  private readonly batch: TickBatch<Queue, [Error | null, unknown]> | null;

  constructor(options: RedisLeaseOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix ?? "lease:";
    this.clock = options.clock ?? systemClock;
    this.newToken = options.newToken ?? randomUUID;
    this.batch = this.redis.isCluster
      ? null
      : new TickBatch(async (queued: Queue[]) => {
          const pipeline = this.redis.pipeline();
          for (const queue of queued) queue(pipeline);
          const replies = await pipeline.exec();
          if (!replies) throw new Error("the pipeline was discarded");
          return replies;
        });
  }

  /** The Redis key holding `key`'s lease. */
  leaseKey(key: string): string {
    return this.prefix + key;
  }

  /** Takes the lease for `ttlMs` and returns its token, or `null` when someone else holds it. */
  async acquire(key: string, ttlMs: number): Promise<string | null> {
    checkKey(key);
    checkTtl(ttlMs);
    const token = this.newToken();
    const leaseKey = this.leaseKey(key);
    const reply = await this.call("acquire", key, () =>
      this.send(
        (p) => p.set(leaseKey, token, "PX", ttlMs, "NX"),
        () => this.redis.set(leaseKey, token, "PX", ttlMs, "NX"),
      ),
    );
    return reply === "OK" ? token : null;
  }

  /** Frees the lease if `token` still holds it; returns whether it did. */
  async release(key: string, token: string): Promise<boolean> {
    checkKey(key);
    const deleted = await this.call("release", key, () => this.script(RELEASE_SCRIPT, this.leaseKey(key), token));
    return deleted === 1;
  }

  /** Resets the lease's TTL to `ttlMs` if `token` still holds it; returns whether it did. */
  async extend(key: string, token: string, ttlMs: number): Promise<boolean> {
    checkKey(key);
    checkTtl(ttlMs);
    const extended = await this.call("extend", key, () => this.script(EXTEND_SCRIPT, this.leaseKey(key), token, String(ttlMs)));
    return extended === 1;
  }

  /** Milliseconds the lease has left, or `null` when nobody holds it. */
  async remainingMs(key: string): Promise<number | null> {
    checkKey(key);
    const pttl = await this.call("inspect", key, () => this.redis.pttl(this.leaseKey(key)));
    // -2: no key. -1 (no TTL) cannot come from acquire(); treat it as held, it will be seen.
    return pttl === -2 ? null : Math.max(0, pttl);
  }

  /**
   * Resolves once nobody holds `key`'s lease (released or expired). Polls with backoff from
   * `pollMs` to `maxPollMs`, never sleeping past the lease's expiry or the deadline.
   *
   * @throws LeaseTimeoutError when the lease is still held after `timeoutMs`.
   * @throws LeaseUnavailableError when Redis cannot answer.
   */
  async waitFor(key: string, options: LeaseWaitOptions): Promise<void> {
    const { timeoutMs, signal } = options;
    const pollMs = options.pollMs ?? 5;
    const maxPollMs = options.maxPollMs ?? 100;
    if (!(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) throw new ResilienceArgumentError(`waitFor timeoutMs must be a finite number ≥ 0, got ${timeoutMs}`);
    if (!(pollMs > 0) || !(maxPollMs >= pollMs) || !Number.isFinite(maxPollMs)) {
      throw new ResilienceArgumentError(`waitFor needs 0 < pollMs ≤ maxPollMs < Infinity, got pollMs=${pollMs}, maxPollMs=${maxPollMs}`);
    }
    const deadline = this.clock.now() + timeoutMs;
    let delay = pollMs;
    for (;;) {
      signal?.throwIfAborted();
      const remaining = await this.remainingMs(key);
      if (remaining === null) return;
      const untilDeadline = deadline - this.clock.now();
      if (untilDeadline <= 0) throw new LeaseTimeoutError(key, timeoutMs);
      // Wake just after the lease would expire when that comes before the next poll.
      await sleep(this.clock, Math.min(delay, remaining + 1, untilDeadline), signal);
      delay = Math.min(delay * 2, maxPollMs);
    }
  }

  /** EVALSHA, loading the script with EVAL when the server does not know it (restart, failover). */
  private async script(source: string, key: string, ...args: string[]): Promise<unknown> {
    const sha = scriptSha(source);
    try {
      return await this.send(
        (p) => p.evalsha(sha, 1, key, ...args),
        () => this.redis.evalsha(sha, 1, key, ...args),
      );
    } catch (error) {
      if (isNoScript(error)) return this.redis.eval(source, 1, key, ...args);
      throw error;
    }
  }

  /** Runs a command: in this turn's pipeline on a single server, `direct` on a Cluster. */
  private async send(queue: Queue, direct: () => Promise<unknown>): Promise<unknown> {
    if (!this.batch) return direct();
    const [error, reply] = await this.batch.add(queue);
    if (error) throw error;
    return reply;
  }

  private async call<T>(operation: string, key: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new LeaseUnavailableError(`lease ${operation} for "${key}" failed: ${detail}`, { cause: error });
    }
  }
}

function checkKey(key: string): void {
  if (typeof key !== "string" || key.length === 0) throw new ResilienceArgumentError("a lease key must be a non-empty string");
}

function checkTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new ResilienceArgumentError(`a lease TTL must be a positive integer of milliseconds, got ${ttlMs}`);
}
