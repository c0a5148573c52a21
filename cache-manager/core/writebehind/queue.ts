/**
 * Write-behind: "cache now, origin later". `enqueue` makes a write durable in Redis and returns;
 * consumers on every instance apply queued writes to the origin through one Redis Stream consumer
 * group, with coalescing, retries with backoff, a dead-letter stream and crash recovery.
 *
 * - Coalescing: a key has at most one stream entry at a time and the consumer writes the key's
 *   latest value, so N rapid writes to a key become 1 origin write (2 if one was in flight).
 * - Retries: a failed write waits `backoffDelay(attempt)` in a Redis sorted set (not in a consumer
 *   slot), then goes back on the stream; after `maxRetries` retries it goes to the dead-letter
 *   stream with the error and the attempt count. A newer value written meanwhile is not lost.
 * - Crashes: a delivered entry stays in the group's pending list until its write is settled; other
 *   consumers claim entries idle for `claimIdleMs` (XAUTOCLAIM). Delivery is at-least-once, so the
 *   origin write should be idempotent (it is a "set to value").
 *
 * @example
 * const queue = new WriteBehindQueue({
 *   redis, blockingRedis: () => connectRedis(url), streamKey: "cachet:write-behind", consumer: instanceId,
 *   write: (key, value) => origins.write(key, value),
 * });
 * await queue.start();
 * await queue.enqueue("product:42", { price: "9.99" }); // durable when this resolves
 */
import type { Redis } from "ioredis";
import { backoffDelay, type BackoffOptions } from "./backoff.ts";
import { WriteBehindArgumentError, WriteBehindFullError, WriteBehindTimeoutError, WriteBehindUnavailableError } from "./errors.ts";
import { COMPLETE, ENQUEUE, FAIL, PROMOTE, SUPERSEDE, TAKE } from "./scripts.ts";
import { runScript } from "../../../lib/redis.ts";
import { parseEntryList, parseReadReply, writeBehindKeys, type StreamEntry, type WriteBehindKeys } from "./stream.ts";
import type { DeadLetter, EnqueueResult, WriteBehindEvent, WriteBehindOptions, WriteBehindStats } from "./types.ts";

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

function positiveInteger(name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) throw new WriteBehindArgumentError(`${name} must be an integer ≥ ${min}, got ${value}`);
  return value;
}

/** A sleep that ends early (resolving) when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Thrown inside in-flight work after `abort()`, so nothing more reaches Redis. */
class Aborted extends Error {}

export class WriteBehindQueue {
  readonly keys: WriteBehindKeys;
  private readonly redis: Redis;
  private readonly options: WriteBehindOptions;
  private readonly group: string;
  private readonly consumer: string;
  private readonly maxRetries: number;
  private readonly backoff: BackoffOptions;
  private readonly claimIdleMs: number;
  private readonly claimEveryMs: number;
  private readonly concurrency: number;
  private readonly writeTimeoutMs: number;
  private readonly maxDepth: number;
  private readonly deadLetterMaxLength: number;
  private readonly blockMs: number;
  private readonly pollMs: number;
  private readonly stopTimeoutMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly keyList: string[];

  private readonly appliedListeners: Array<(key: string) => Promise<void>> = [];
  private running = false;
  private aborted = false;
  private blocking: Redis | undefined;
  private blockingClientId: number | undefined;
  private stopController = new AbortController();
  private readLoop: Promise<void> | undefined;
  private maintenanceLoop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private groupReady: Promise<void> | undefined;
  /** Entry ids being processed here, with the controller that aborts their origin write. */
  private readonly active = new Map<string, AbortController>();
  private readonly tasks = new Set<Promise<void>>();
  private slotWaiters: (() => void)[] = [];

  constructor(options: WriteBehindOptions) {
    if (!options.redis || typeof options.blockingRedis !== "function") throw new WriteBehindArgumentError("redis and a blockingRedis factory are required");
    if (typeof options.write !== "function") throw new WriteBehindArgumentError("write (key, value) => Promise<void> is required");
    if (!options.streamKey) throw new WriteBehindArgumentError('streamKey is required, e.g. "cachet:write-behind"');
    if (!options.consumer) throw new WriteBehindArgumentError("consumer is required: a name unique to this instance (e.g. host:pid)");
    this.options = options;
    this.redis = options.redis;
    this.keys = writeBehindKeys(options.streamKey);
    this.keyList = Object.values(this.keys);
    this.group = options.group ?? "cachet-write-behind";
    this.consumer = options.consumer;
    this.maxRetries = positiveInteger("maxRetries", options.maxRetries ?? 5, 0);
    this.backoff = options.backoff ?? { minMs: 500, maxMs: 60_000 };
    positiveInteger("backoff.minMs", this.backoff.minMs);
    if (!(this.backoff.maxMs >= this.backoff.minMs))
      throw new WriteBehindArgumentError(`backoff.maxMs (${this.backoff.maxMs}) must be ≥ backoff.minMs (${this.backoff.minMs})`);
    this.claimIdleMs = positiveInteger("claimIdleMs", options.claimIdleMs ?? 30_000, 10);
    this.claimEveryMs = Math.max(20, Math.min(Math.floor(this.claimIdleMs / 2), 5_000));
    this.concurrency = positiveInteger("concurrency", options.concurrency ?? 8);
    this.writeTimeoutMs = positiveInteger("writeTimeoutMs", options.writeTimeoutMs ?? Math.min(10_000, Math.floor(this.claimIdleMs / 2)));
    if (this.writeTimeoutMs >= this.claimIdleMs) {
      throw new WriteBehindArgumentError(
        `writeTimeoutMs (${this.writeTimeoutMs}) must be below claimIdleMs (${this.claimIdleMs}), or live writes would be claimed by other instances`,
      );
    }
    this.maxDepth = positiveInteger("maxDepth", options.maxDepth ?? 100_000);
    this.deadLetterMaxLength = positiveInteger("deadLetterMaxLength", options.deadLetterMaxLength ?? 10_000);
    this.blockMs = positiveInteger("blockMs", options.blockMs ?? 1_000);
    this.pollMs = positiveInteger("pollMs", options.pollMs ?? 100);
    this.stopTimeoutMs = positiveInteger("stopTimeoutMs", options.stopTimeoutMs ?? 10_000, 0);
    this.now = options.clock ? () => options.clock!.now() : Date.now;
    this.random = options.random ?? Math.random;
  }

  /**
   * Queues `value` for `key`. Resolves once Redis holds it (durable as far as Redis is); rejects
   * with E_WRITE_BEHIND_ARGUMENT (no JSON form), E_WRITE_BEHIND_FULL (maxDepth keys already
   * waiting) or E_WRITE_BEHIND_UNAVAILABLE (Redis failed) — then nothing was queued.
   */
  async enqueue(key: string, value: unknown): Promise<EnqueueResult> {
    if (typeof key !== "string" || key === "") throw new WriteBehindArgumentError("key must be a non-empty string");
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      throw new WriteBehindArgumentError(`the value for "${key}" cannot be serialised: ${message(error)}`, { cause: error });
    }
    if (json === undefined) throw new WriteBehindArgumentError(`the value for "${key}" has no JSON form (${String(value)})`);
    let reply: [number, string, number];
    try {
      reply = (await runScript(this.redis, ENQUEUE, this.keyList, [this.group, key, json, this.now(), this.maxDepth])) as [number, string, number];
    } catch (error) {
      throw new WriteBehindUnavailableError(`the write of "${key}" was not queued: ${message(error)}`, { cause: error });
    }
    if (reply[0] === -1)
      throw new WriteBehindFullError(`the write-behind queue already holds ${this.maxDepth} keys awaiting their origin write; "${key}" was not queued`);
    return { entryId: reply[1], version: Number(reply[0]), coalesced: reply[2] === 1 };
  }

  /** Starts consuming: this instance's own pending entries first, then new ones, plus claims and retries. */
  async start(): Promise<void> {
    if (this.aborted) throw new WriteBehindArgumentError("an aborted queue cannot be restarted: make a new one");
    if (this.running) return;
    await this.stopping;
    await this.ensureGroup();
    const blocking = this.options.blockingRedis();
    blocking.on("error", (error: unknown) => this.emit({ type: "error", where: "blocking connection", error }));
    blocking.on("ready", () => void this.refreshBlockingClientId(blocking));
    this.blocking = blocking;
    await this.refreshBlockingClientId(blocking);
    this.running = true;
    this.stopController = new AbortController();
    this.readLoop = this.runReadLoop(blocking);
    this.maintenanceLoop = this.runMaintenanceLoop();
  }

  /**
   * Stops consuming gracefully: no new reads, in-flight writes finish and settle (waiting at most
   * `timeoutMs`; a write still running after that is left to be claimed). Queued writes stay in
   * Redis for the other instances (or the next start).
   */
  stop(timeoutMs = this.stopTimeoutMs): Promise<void> {
    if (!this.running) return this.stopping ?? Promise.resolve();
    this.running = false;
    this.stopController.abort();
    this.wakeSlotWaiters();
    this.stopping = (async () => {
      const blocking = this.blocking!;
      const readLoopDone = this.readLoop!.then(() => true);
      // Wake a blocked XREADGROUP as if it timed out (no reply is lost, unlike a disconnect); repeat
      // in case the read was not yet blocked, and disconnect if it still has not ended by blockMs.
      const giveUpAt = Date.now() + this.blockMs + 1_000;
      for (;;) {
        if (this.blockingClientId !== undefined) await this.redis.call("CLIENT", "UNBLOCK", this.blockingClientId).catch(() => {});
        const tick = new AbortController();
        const finished = await Promise.race([readLoopDone, pause(50, tick.signal).then(() => false)]);
        tick.abort();
        if (finished) break;
        if (Date.now() > giveUpAt) {
          blocking.disconnect();
          await readLoopDone;
          break;
        }
      }
      await this.maintenanceLoop;
      const deadline = new AbortController();
      await Promise.race([Promise.allSettled([...this.tasks]), pause(timeoutMs, deadline.signal)]);
      deadline.abort();
      await blocking.quit().catch(() => blocking.disconnect());
    })();
    return this.stopping;
  }

  /**
   * Stops at once as if the process died: origin writes in flight are aborted and nothing more
   * is written to Redis, so their entries stay pending for another consumer to claim. For tests.
   */
  abort(): void {
    this.aborted = true;
    this.running = false;
    this.stopController.abort();
    for (const controller of this.active.values()) controller.abort(new Aborted("queue aborted"));
    this.wakeSlotWaiters();
    this.blocking?.disconnect();
  }

  /** Depth, lag and totals, read from Redis (so they cover every instance). */
  async stats(): Promise<WriteBehindStats> {
    await this.ensureGroup();
    const k = this.keys;
    const replies = await this.redis
      .multi()
      .hlen(k.values)
      .xlen(k.stream)
      .xpending(k.stream, this.group)
      .zcard(k.retry)
      .zrange(k.oldest, "0", "0", "WITHSCORES")
      .hgetall(k.counters)
      .xlen(k.dead)
      .exec();
    if (!replies) throw new WriteBehindUnavailableError("reading the write-behind stats was aborted");
    for (const [error] of replies)
      if (error) throw new WriteBehindUnavailableError(`reading the write-behind stats failed: ${error.message}`, { cause: error });
    const [depth, length, pending, retrying, oldest, counters, deadLetterLength] = replies.map(([, value]) => value) as [
      number,
      number,
      [number, ...unknown[]],
      number,
      string[],
      Record<string, string>,
      number,
    ];
    const inFlight = Number(pending?.[0] ?? 0);
    // RESP2 gives [member, score]; RESP3 may nest it as [[member, score]].
    const flat = (oldest ?? []).flat() as unknown[];
    const oldestScore = flat.length >= 2 ? Number(flat[1]) : undefined;
    const count = (name: string) => Number(counters?.[name] ?? 0);
    return {
      depth: Number(depth),
      queued: Math.max(0, Number(length) - inFlight),
      inFlight,
      retrying: Number(retrying),
      lagMs: oldestScore === undefined ? 0 : Math.max(0, this.now() - oldestScore),
      enqueued: count("enqueued"),
      coalesced: count("coalesced"),
      applied: count("applied"),
      retries: count("retries"),
      deadLettered: count("deadLettered"),
      deadLetterLength: Number(deadLetterLength),
    };
  }

  /** The newest dead letters first. */
  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    const rows = (await this.redis.xrevrange(this.keys.dead, "+", "-", "COUNT", limit)) as [string, string[]][];
    return rows.map(([id, fields]) => {
      const record: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]] = fields[i + 1];
      let value: unknown = record.value;
      try {
        value = JSON.parse(record.value);
      } catch {
        // keep the raw text: it is what failed
      }
      return { id, key: record.key, value, attempts: Number(record.attempts), error: record.error, at: Number(record.at) };
    });
  }

  private emit(event: WriteBehindEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // a listener's failure must not stop the queue
    }
  }

  private ensureGroup(): Promise<void> {
    this.groupReady ??= (async () => {
      try {
        await this.redis.call("XGROUP", "CREATE", this.keys.stream, this.group, "0", "MKSTREAM");
      } catch (error) {
        if (!message(error).startsWith("BUSYGROUP")) {
          this.groupReady = undefined;
          throw new WriteBehindUnavailableError(`cannot create the consumer group "${this.group}": ${message(error)}`, { cause: error });
        }
      }
    })();
    return this.groupReady;
  }

  private async refreshBlockingClientId(blocking: Redis): Promise<void> {
    try {
      this.blockingClientId = Number(await blocking.call("CLIENT", "ID"));
    } catch {
      this.blockingClientId = undefined;
    }
  }

  private script(script: string, args: (string | number)[]): Promise<unknown> {
    if (this.aborted) return Promise.reject(new Aborted("queue aborted"));
    return runScript(this.redis, script, this.keyList, [this.group, ...args]);
  }

  private freeSlots(): number {
    return this.concurrency - this.active.size;
  }

  private async waitForFreeSlot(): Promise<number> {
    while (this.running && this.freeSlots() <= 0) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    return this.freeSlots();
  }

  private wakeSlotWaiters(): void {
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Reads this consumer's own pending entries (a restart under the same name), then new ones. */
  private async runReadLoop(blocking: Redis): Promise<void> {
    let historyFrom: string | undefined = "0";
    while (this.running) {
      const free = await this.waitForFreeSlot();
      if (!this.running) break;
      let reply: unknown;
      try {
        reply = historyFrom
          ? await blocking.call("XREADGROUP", "GROUP", this.group, this.consumer, "COUNT", free, "STREAMS", this.keys.stream, historyFrom)
          : await blocking.call("XREADGROUP", "GROUP", this.group, this.consumer, "COUNT", free, "BLOCK", this.blockMs, "STREAMS", this.keys.stream, ">");
      } catch (error) {
        if (!this.running) break;
        if (message(error).includes("NOGROUP")) {
          this.groupReady = undefined;
          await this.ensureGroup().catch(() => {});
        }
        this.emit({ type: "error", where: "read", error });
        await pause(Math.min(1_000, this.blockMs), this.stopController.signal);
        continue;
      }
      if (this.aborted) break;
      const entries = parseReadReply(reply);
      if (historyFrom) historyFrom = entries.length > 0 ? entries[entries.length - 1].id : undefined;
      for (const entry of entries) this.dispatch(entry);
    }
  }

  /** Puts due retries back on the stream, and claims entries orphaned by dead consumers. */
  private async runMaintenanceLoop(): Promise<void> {
    let claimCursor = "0-0";
    let nextClaimAt = 0;
    while (this.running) {
      try {
        await this.script(PROMOTE, [this.now(), 500]);
        const free = this.freeSlots();
        if (Date.now() >= nextClaimAt && free > 0) {
          const reply = (await this.redis.call("XAUTOCLAIM", this.keys.stream, this.group, this.consumer, this.claimIdleMs, claimCursor, "COUNT", free)) as [
            string,
            unknown,
          ];
          claimCursor = reply[0];
          if (claimCursor === "0-0") nextClaimAt = Date.now() + this.claimEveryMs;
          const claimed = parseEntryList(reply[1]);
          if (claimed.length > 0 && this.running) {
            this.emit({ type: "claimed", count: claimed.length });
            for (const entry of claimed) this.dispatch(entry);
          }
        }
      } catch (error) {
        if (!this.running) break;
        this.emit({ type: "error", where: "maintenance", error });
      }
      await pause(this.pollMs, this.stopController.signal);
    }
  }

  private dispatch(entry: StreamEntry): void {
    if (this.active.has(entry.id) || this.aborted) return;
    const controller = new AbortController();
    this.active.set(entry.id, controller);
    const task = this.process(entry, controller)
      .catch((error: unknown) => {
        if (!(error instanceof Aborted)) this.emit({ type: "error", where: `process ${entry.key ?? entry.id}`, error });
      })
      .finally(() => {
        this.active.delete(entry.id);
        this.tasks.delete(task);
        this.wakeSlotWaiters();
      });
    this.tasks.add(task);
  }

  /**
   * Runs `listener(key)` after each queued write reached the origin and before the write is
   * settled (a failing listener makes the write fail and be retried, as the write is idempotent).
   * The cache uses it to invalidate the key: what it cached during the queue's lag may predate
   * the value now at the origin.
   */
  onApplied(listener: (key: string) => Promise<void>): void {
    this.appliedListeners.push(listener);
  }

  /**
   * Makes sure no queued value of `key` reaches the origin after a write that starts now: drops a
   * queued value not yet taken, and waits (polling, at most `timeoutMs`) for one in flight to settle.
   * Write-through calls it first, so write-through and write-behind keep one order per key.
   *
   * @throws WriteBehindTimeoutError when a write of the key is still in flight after `timeoutMs`.
   */
  async supersede(key: string, timeoutMs = this.writeTimeoutMs + 1_000): Promise<void> {
    const deadline = this.now() + timeoutMs;
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      let inFlight: number;
      try {
        inFlight = Number(await runScript(this.redis, SUPERSEDE, this.keyList, [this.group, key]));
      } catch (error) {
        throw new WriteBehindUnavailableError(`queued writes of "${key}" could not be checked: ${message(error)}`, { cause: error });
      }
      if (inFlight === 0) return;
      if (this.now() >= deadline) throw new WriteBehindTimeoutError(`a queued write of "${key}" is still being applied after ${timeoutMs} ms; retry`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** Takes the key's latest value, writes it to the origin, and settles the entry. */
  private async process({ id, key }: StreamEntry, controller: AbortController): Promise<void> {
    if (key === undefined) {
      // An entry deleted while pending (or not ours): acknowledge it so it leaves the pending list.
      if (!this.aborted) await this.redis.xack(this.keys.stream, this.group, id);
      return;
    }
    const taken = (await this.script(TAKE, [key, id])) as [string, string, string] | null;
    if (!taken) return;
    const [json, version, attemptsSoFar] = taken;
    const attempt = Number(attemptsSoFar) + 1;
    const started = performance.now();
    let failure: unknown;
    try {
      await this.writeWithDeadline(key, JSON.parse(json), attempt, controller);
      for (const listener of this.appliedListeners) await listener(key);
    } catch (error) {
      failure = error;
    }
    if (this.aborted) return;
    const now = this.now();
    if (failure === undefined) {
      const outcome = Number(await this.script(COMPLETE, [key, id, version, now]));
      if (outcome !== 0) this.emit({ type: "applied", key, attempt, durationMs: performance.now() - started, requeued: outcome === 2 });
      return;
    }
    const error = message(failure);
    if (attempt > this.maxRetries) {
      const outcome = Number(await this.script(FAIL, [key, id, version, now, "", error, attempt, json, this.deadLetterMaxLength]));
      if (outcome !== 0) this.emit({ type: "dead-lettered", key, attempts: attempt, error });
      return;
    }
    const delayMs = backoffDelay(attempt, this.backoff, this.random);
    const outcome = Number(await this.script(FAIL, [key, id, version, now, now + delayMs, error, attempt, json, this.deadLetterMaxLength]));
    if (outcome !== 0) this.emit({ type: "retry-scheduled", key, attempt, delayMs, error });
  }

  /** The origin write under a hard deadline, even when `write` ignores its signal. */
  private async writeWithDeadline(key: string, value: unknown, attempt: number, controller: AbortController): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new WriteBehindTimeoutError(`the origin write of "${key}" took longer than ${this.writeTimeoutMs} ms`);
        controller.abort(error);
        reject(error);
      }, this.writeTimeoutMs);
    });
    const aborted = new Promise<never>((_, reject) => {
      if (controller.signal.aborted) reject(controller.signal.reason);
      controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
    });
    try {
      await Promise.race([this.options.write(key, value, { signal: controller.signal, attempt }), deadline, aborted]);
    } finally {
      clearTimeout(timer);
    }
  }
}
