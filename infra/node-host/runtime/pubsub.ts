/**
 * The Pub/Sub engine behind the host's `encore.dev/pubsub`, on Redis Streams.
 *
 * - Each topic is a stream (`${keyPrefix}topic:${name}`) and each subscription a consumer group
 *   on it. `start()` creates the group of every subscription in the manifest, local or not, so a
 *   message published before the subscribing process is up waits for it.
 * - A process consumes the subscriptions of its local services as consumer `instanceId`, with at
 *   most `maxConcurrency` handlers running per subscription.
 * - At least once: a message is acknowledged only after its handler resolves. A failed delivery
 *   is retried by the same process after an exponential backoff; after `maxRetries` retries the
 *   message moves to the subscription's dead-letter stream.
 * - While a process holds a message (handler running or retry pending) it keeps resetting the
 *   message's idle time. When the process dies the message goes idle, and once it has been idle
 *   for `ackDeadline` another process takes it over (XAUTOCLAIM). The attempt number is Redis's
 *   delivery counter, so it carries over to the new owner.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { PubSubMessageMeta } from "encore.dev";
import type { Redis } from "ioredis";
import { connectRedis, runScript } from "../../../lib/redis.ts";
import { CodedError } from "../../../lib/errors.ts";
import {
  deadLetterStreamKey,
  maxStreamLength,
  PubSubConfigError,
  registeredSubscriptions,
  topicStreamKey,
  type SubscriptionOptions,
  type SubscriptionRegistration,
} from "../encore/pubsub.ts";
import { runWithRequest } from "./reqctx.ts";
import { hostState, type HostState } from "./state.ts";
import { contextFrom, inSpan, SpanKind, tracingEnabled } from "./tracing.ts";

export { PubSubConfigError };

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** The handler ran past the subscription's ack deadline: the delivery counts as failed. */
export class AckDeadlineExceededError extends Error {
  static readonly code = "E_PUBSUB_ACK_DEADLINE";
  readonly code = AckDeadlineExceededError.code;

  constructor(subject: string, deadlineMs: number) {
    super(`${subject}: the handler did not finish within the ack deadline (${deadlineMs} ms)`);
    this.name = "AckDeadlineExceededError";
  }
}

/** A stream entry that is not a JSON object message: retrying cannot help, so it is dead-lettered. */
export class MessageDecodeError extends CodedError {
  static override code = "E_PUBSUB_DECODE";
}

/** The consumers that took the message stopped before acknowledging it, and no attempts are left. */
export class DeliveryLostError extends Error {
  static readonly code = "E_PUBSUB_DELIVERY_LOST";
  readonly code = DeliveryLostError.code;

  constructor(subject: string, attempts: number) {
    super(`${subject}: the consumer holding delivery ${attempts - 1} stopped before acknowledging it, and no attempts are left`);
    this.name = "DeliveryLostError";
  }
}

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

/**
 * The wait before the retry that follows failed delivery number `failedAttempt` (1-based):
 * `minBackoff`, doubling per attempt, capped at `maxBackoff`.
 */
export function retryDelayMs(options: Pick<SubscriptionOptions, "minBackoffMs" | "maxBackoffMs">, failedAttempt: number): number {
  const doublings = Math.min(Math.max(failedAttempt - 1, 0), 30);
  return Math.min(options.maxBackoffMs, options.minBackoffMs * 2 ** doublings);
}

/** Deliveries a message gets in total: the first one plus `maxRetries` retries (may be Infinity). */
function maxDeliveries(options: SubscriptionOptions): number {
  return options.maxRetries + 1;
}

interface StreamEntry {
  id: string;
  data: string | undefined;
  /** The publisher's W3C trace context, when it was traced. */
  traceparent?: string;
}

/** The value of `name` in a stream entry's flat `[field, value, ...]` list. */
function fieldValue(fields: unknown, name: string): string | undefined {
  if (!Array.isArray(fields)) return undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (String(fields[i]) === name) return String(fields[i + 1]);
  }
  return undefined;
}

/** XREADGROUP's reply for one stream: `[[key, entries]]` (RESP2), `[key, entries]` (RESP3 map, legacy mapping) or null. */
function entriesOfReadReply(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const entries: unknown = typeof reply[0] === "string" ? reply[1] : (reply[0] as unknown[])[1];
  if (!Array.isArray(entries)) return [];
  return entries.map((entry: unknown[]) => ({ id: String(entry[0]), data: fieldValue(entry[1], "data"), traceparent: fieldValue(entry[1], "traceparent") }));
}

function decodePayload(subject: string, data: string | undefined): Record<string, unknown> {
  if (data === undefined) throw new MessageDecodeError(`${subject}: the stream entry has no "data" field`);
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (err) {
    throw new MessageDecodeError(`${subject}: the message is not valid JSON`, { cause: err });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MessageDecodeError(`${subject}: the message is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** An error as stored on a dead-letter entry: bounded, so a huge message cannot bloat the stream. */
function describeError(err: Error): string {
  const text = `${err.name}: ${err.message}`;
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

/** Settles like `work`, or rejects with `onTimeout()` after `ms`; `work` keeps running either way. */
function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

// ---------------------------------------------------------------------------------------------
// Redis scripts: each reads the pending-entries list and acts on it atomically, so a message is
// never taken from, or kept away from, a consumer that claimed it in between.
// ---------------------------------------------------------------------------------------------

/** KEYS: stream. ARGV: group, consumer, ids... Resets the idle time of the ids this consumer still owns (JUSTID keeps the delivery counter); returns the ids it lost. */
const TOUCH_SCRIPT = `
local lost = {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p == 1 and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost`;

/** KEYS: stream. ARGV: group, consumer, id. Claims a message this consumer owns for another delivery (bumps the counter); returns {fields, deliveries} or nil when it was taken over or trimmed. */
const REDELIVER_SCRIPT = `
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return false end
local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3])
if #claimed == 0 or not claimed[1] then return false end
return {claimed[1][2], p[1][4] + 1}`;

/** KEYS: stream. ARGV: group, consumer, min-idle ms, cursor, count. Takes over messages idle past the ack deadline (bumps their counters); returns {cursor, {{id, fields, deliveries}...}}. */
const RECLAIM_SCRIPT = `
local res = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local out = {}
for _, entry in ipairs(res[2]) do
  if entry and entry[2] then
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], entry[1], entry[1], 1)
    if #p == 1 then out[#out + 1] = {entry[1], entry[2], p[1][4]} end
  end
end
return {res[1], out}`;

/** KEYS: stream. ARGV: group, min-idle ms, own consumer. Deletes consumers that hold nothing and were idle that long (old processes), keeping the group's consumer list bounded. */
const PRUNE_SCRIPT = `
local removed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
  if info['pending'] == 0 and info['idle'] > tonumber(ARGV[2]) and info['name'] ~= ARGV[3] then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    removed = removed + 1
  end
end
return removed`;

/**
 * Creates the subscription's consumer group (creating the stream too); an existing group is kept.
 * At start it begins at the end (`$`: a new subscription gets what is published from now on); a
 * group found missing while running begins at `0`, see `recoverFromReadError`.
 */
async function ensureConsumerGroup(redis: Redis, stream: string, group: string, from: "$" | "0" = "$"): Promise<void> {
  try {
    await redis.xgroup("CREATE", stream, group, from, "MKSTREAM");
  } catch (err) {
    if (!(err instanceof Error && err.message.startsWith("BUSYGROUP"))) throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Small concurrency primitives
// ---------------------------------------------------------------------------------------------

/** A counting semaphore with FIFO waiters; `close()` turns every pending and future acquire into `false`. */
class Slots {
  private used = 0;
  private closed = false;
  private waiters: Array<(granted: boolean) => void> = [];

  constructor(private readonly size: number) {}

  acquire(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.used < this.size) {
      this.used++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Takes up to `max` slots that are free right now and returns how many it took. */
  tryAcquire(max: number): number {
    if (this.closed) return 0;
    const taken = Math.max(0, Math.min(max, this.size - this.used - this.waiters.length));
    this.used += taken;
    return taken;
  }

  release(count = 1): void {
    this.used -= count;
    while (this.used < this.size && this.waiters.length > 0) {
      this.used++;
      this.waiters.shift()!(true);
    }
  }

  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter(false);
  }
}

/** Wakes everyone waiting for "something changed". */
class Signal {
  private waiters: Array<() => void> = [];

  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  notify(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

// ---------------------------------------------------------------------------------------------
// The runtime
// ---------------------------------------------------------------------------------------------

/** What the runtime needs from the host: the `HostState` fields it reads. */
export type PubSubDeps = Pick<HostState, "manifest" | "redis" | "redisUrl" | "localServices" | "instanceId" | "keyPrefix">;

export interface PubSubLogger {
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

const consoleLogger: PubSubLogger = {
  warn: (message, fields) => console.warn(`[pubsub] ${message}`, fields),
  error: (message, fields) => console.error(`[pubsub] ${message}`, fields),
};

export interface PubSubRuntimeOptions {
  /** The host's state; defaults to `hostState()` when `start()` runs. */
  deps?: PubSubDeps;
  /** The subscriptions this process can serve; defaults to every `new Subscription(...)` so far. */
  subscriptions?: readonly SubscriptionRegistration[];
  /** How long one XREADGROUP waits for new messages (ms). Default 2000; also bounds how late a due retry may start when every slot is reserved by a read. */
  blockMs?: number;
  /** Messages one subscription may hold in this process, running or waiting for a retry. Default 1000. */
  maxOutstanding?: number;
  /** How long `stop()` waits for running handlers (ms). Default 10 000. */
  shutdownTimeoutMs?: number;
  logger?: PubSubLogger;
}

interface WorkerSettings {
  blockMs: number;
  maxOutstanding: number;
  shutdownTimeoutMs: number;
  logger: PubSubLogger;
}

/**
 * Runs the subscriptions of this process's local services. One instance per host process:
 * `start()` once the app's modules are loaded (so the subscriptions are registered), `stop()` on
 * shutdown.
 *
 * @example
 *   const pubsub = new PubSubRuntime();
 *   await pubsub.start();
 *   process.once("SIGTERM", () => void pubsub.stop());
 */
export class PubSubRuntime {
  private workers: SubscriptionWorker[] = [];
  private phase: "new" | "starting" | "running" | "stopped" = "new";

  constructor(private readonly options: PubSubRuntimeOptions = {}) {}

  /**
   * Creates the consumer group of every subscription in the manifest, then starts consuming the
   * local ones. Throws PubSubConfigError when the registered subscriptions and the manifest
   * disagree (a stale manifest, or a local subscription whose module was not imported).
   */
  async start(): Promise<void> {
    if (this.phase !== "new") throw new Error(`PubSubRuntime.start() was already called (the runtime is ${this.phase})`);
    this.phase = "starting";
    const deps = this.options.deps ?? hostState();
    const local = localSubscriptions(deps, this.options.subscriptions ?? registeredSubscriptions());
    for (const sub of deps.manifest.subscriptions) {
      await ensureConsumerGroup(deps.redis, topicStreamKey(deps.keyPrefix, sub.topic), sub.name);
    }
    const settings: WorkerSettings = {
      blockMs: this.options.blockMs ?? 2000,
      maxOutstanding: this.options.maxOutstanding ?? 1000,
      shutdownTimeoutMs: this.options.shutdownTimeoutMs ?? 10_000,
      logger: this.options.logger ?? consoleLogger,
    };
    this.workers = local.map(({ registration, service }) => new SubscriptionWorker(deps, registration, service, settings));
    try {
      for (const worker of this.workers) await worker.start();
    } catch (err) {
      this.abort();
      throw err;
    }
    this.phase = "running";
  }

  /**
   * Graceful: stops taking messages, waits (up to `shutdownTimeoutMs`) for running handlers and
   * their acks, and leaves every message it did not finish pending, for another process to take
   * over after the ack deadline. After it returns the runtime sends no more Redis commands.
   */
  async stop(): Promise<void> {
    if (this.phase === "stopped") return;
    this.phase = "stopped";
    await Promise.all(this.workers.map((worker) => worker.stop()));
  }

  /**
   * Stops at once, as if the process had died: nothing more is acked, retried or kept claimed,
   * and handlers still running are ignored. For fast exits and crash tests.
   */
  abort(): void {
    this.phase = "stopped";
    for (const worker of this.workers) worker.abort();
  }
}

/** Pairs each manifest subscription of a local service with its registered handler. */
function localSubscriptions(
  deps: PubSubDeps,
  registrations: readonly SubscriptionRegistration[],
): Array<{ registration: SubscriptionRegistration; service: string }> {
  const key = (topic: string, name: string) => `${topic}/${name}`;
  const declared = new Set(deps.manifest.subscriptions.map((sub) => key(sub.topic, sub.name)));
  const unknown = registrations.filter((r) => !declared.has(key(r.topic, r.name)));
  if (unknown.length > 0) {
    throw new PubSubConfigError(
      `subscriptions missing from the manifest: ${unknown.map((r) => key(r.topic, r.name)).join(", ")}; ` +
        "the manifest is stale, regenerate it (npm run gen)",
    );
  }
  const byKey = new Map(registrations.map((r) => [key(r.topic, r.name), r]));
  const local: Array<{ registration: SubscriptionRegistration; service: string }> = [];
  const unregistered: string[] = [];
  for (const sub of deps.manifest.subscriptions) {
    if (!deps.localServices.has(sub.service)) continue;
    const registration = byKey.get(key(sub.topic, sub.name));
    if (registration) local.push({ registration, service: sub.service });
    else unregistered.push(`${key(sub.topic, sub.name)} (service ${sub.service}, ${sub.pos.file})`);
  }
  if (unregistered.length > 0) {
    throw new PubSubConfigError(
      `local subscriptions with no handler registered in this process: ${unregistered.join(", ")}; ` +
        "import the files that declare them before starting Pub/Sub",
    );
  }
  return local;
}

// ---------------------------------------------------------------------------------------------
// One subscription in one process
// ---------------------------------------------------------------------------------------------

const READ_BATCH_LIMIT = 100;
const RECLAIM_BATCH_LIMIT = 100;
const RECLAIM_PAGES_PER_ROUND = 10;
const TOUCH_BATCH = 200;
const PRUNE_INTERVAL_MS = 5 * 60_000;
const PRUNE_IDLE_MS = 60 * 60_000;
const READ_ERROR_PAUSE_MS = 1000;

/** A message this process holds: its handler is running, or its retry is pending. */
interface HeldMessage {
  id: string;
  data: string | undefined;
  traceparent?: string;
  /** 1-based delivery number, from Redis's delivery counter. */
  attempt: number;
  running: boolean;
  /** Another consumer took it over (our claim lapsed); its new owner retries it, not us. */
  lost: boolean;
  retryTimer?: NodeJS.Timeout;
}

class SubscriptionWorker {
  private readonly stream: string;
  private readonly deadLetters: string;
  private readonly options: SubscriptionOptions;
  private readonly slots: Slots;
  private readonly held = new Map<string, HeldMessage>();
  private readonly heldShrank = new Signal();
  /** Every delivery, retry and dead-lettering in progress, so stop() can wait for them. */
  private readonly tasks = new Set<Promise<void>>();
  /** Aborted when the worker stops taking messages. */
  private readonly intake = new AbortController();
  /** Aborted when the worker stops keeping its messages claimed. */
  private readonly keepAlive = new AbortController();
  private intakeLoops: Array<Promise<void>> = [];
  private keepAliveLoop: Promise<void> | undefined;
  private reader: Redis | undefined;
  private readerClientId: number | undefined;
  private reclaimCursor = "0-0";
  /** Taking new messages and retrying held ones. */
  private active = false;
  /** No Redis commands any more: aborted, or stop() has returned. */
  private dead = false;

  constructor(
    private readonly deps: PubSubDeps,
    private readonly registration: SubscriptionRegistration,
    private readonly service: string,
    private readonly settings: WorkerSettings,
  ) {
    this.stream = topicStreamKey(deps.keyPrefix, registration.topic);
    this.deadLetters = deadLetterStreamKey(deps.keyPrefix, registration.topic, registration.name);
    this.options = registration.options;
    this.slots = new Slots(registration.options.maxConcurrency);
  }

  private get group(): string {
    return this.registration.name;
  }

  private get consumer(): string {
    return this.deps.instanceId;
  }

  private get log(): PubSubLogger {
    return this.settings.logger;
  }

  private subject(messageId?: string): string {
    const base = `subscription "${this.registration.name}" on topic "${this.registration.topic}"`;
    return messageId ? `${base}, message ${messageId}` : base;
  }

  async start(): Promise<void> {
    // Blocking reads get their own connection so they never delay the shared one's commands.
    this.reader = connectRedis(this.deps.redisUrl, {
      connectionName: `${this.deps.instanceId}:pubsub:${this.registration.topic}:${this.registration.name}`,
      blockingTimeout: this.settings.blockMs + 10_000,
      blockingTimeoutGrace: 1000,
    });
    this.readerClientId = Number(await this.reader.client("ID"));
    this.active = true;
    const ackDeadline = this.options.ackDeadlineMs;
    this.intakeLoops = [
      this.readLoop(),
      this.repeat(clamp(ackDeadline / 2, 200, 5000), this.intake.signal, () => this.reclaimIdle()),
      this.repeat(PRUNE_INTERVAL_MS, this.intake.signal, () => this.pruneIdleConsumers()),
    ];
    this.keepAliveLoop = this.repeat(clamp(ackDeadline / 3, 100, 10_000), this.keepAlive.signal, () => this.touchHeld());
  }

  async stop(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.intake.abort();
    this.slots.close();
    this.heldShrank.notify();
    await this.unblockReader();
    // Pending retries stay pending in Redis; another process takes them over after the ack deadline.
    for (const message of this.held.values()) if (!message.running) this.drop(message);

    const drained = (async () => {
      await Promise.allSettled(this.intakeLoops);
      while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    })();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.settings.shutdownTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.log.warn("handlers still running at shutdown; their messages are left to other consumers", {
        subscription: this.subject(),
        running: [...this.held.values()].filter((m) => m.running).length,
      });
    }
    this.dead = true;
    this.keepAlive.abort();
    await this.keepAliveLoop;
    this.reader?.disconnect();
  }

  abort(): void {
    this.active = false;
    this.dead = true;
    this.intake.abort();
    this.keepAlive.abort();
    this.slots.close();
    this.heldShrank.notify();
    for (const message of this.held.values()) clearTimeout(message.retryTimer);
    this.reader?.disconnect();
  }

  // --- intake ---------------------------------------------------------------------------------

  private async readLoop(): Promise<void> {
    while (this.active) {
      const reserved = await this.reserveForIntake(READ_BATCH_LIMIT);
      if (reserved === 0) continue;
      let entries: StreamEntry[];
      try {
        const reply = await this.reader!.xreadgroup(
          "GROUP",
          this.group,
          this.consumer,
          "COUNT",
          reserved,
          "BLOCK",
          this.settings.blockMs,
          "STREAMS",
          this.stream,
          ">",
        );
        entries = entriesOfReadReply(reply);
      } catch (err) {
        this.slots.release(reserved);
        if (!this.active) return;
        await this.recoverFromReadError(asError(err));
        continue;
      }
      this.slots.release(reserved - entries.length);
      // Entries read while stop() began are ours in Redis already: handle them rather than leave them idle.
      if (this.dead) return;
      for (const entry of entries)
        this.startDelivery({ id: entry.id, data: entry.data, traceparent: entry.traceparent, attempt: 1, running: false, lost: false });
    }
  }

  /** Waits until this worker may hold more messages, then reserves up to `limit` handler slots (0 when stopping or full). */
  private async reserveForIntake(limit: number): Promise<number> {
    while (this.active && this.held.size >= this.settings.maxOutstanding) await this.heldShrank.wait();
    if (!this.active || !(await this.slots.acquire())) return 0;
    const room = Math.min(limit, this.settings.maxOutstanding - this.held.size);
    if (room <= 0) {
      this.slots.release();
      return 0;
    }
    return 1 + this.slots.tryAcquire(room - 1);
  }

  private async recoverFromReadError(err: Error): Promise<void> {
    if (err.message.startsWith("NOGROUP")) {
      // The stream or group vanished (e.g. Redis restarted without persistence): recreate it at 0.
      // What the stream holds now was published after the loss and never delivered to this
      // group; at `$` it would be skipped and stay pending for good. (A group deleted by hand
      // gets the retained messages again: at least once.)
      this.log.warn("consumer group missing; recreating it from the stream's start", { subscription: this.subject() });
      await ensureConsumerGroup(this.deps.redis, this.stream, this.group, "0").catch(() => undefined);
      return;
    }
    this.log.warn("reading from the stream failed; retrying", { subscription: this.subject(), error: err.message });
    await sleep(READ_ERROR_PAUSE_MS, undefined, { signal: this.intake.signal }).catch(() => undefined);
  }

  /** Takes over messages that other (dead) consumers left idle for longer than the ack deadline. */
  private async reclaimIdle(): Promise<void> {
    const attemptsAllowed = maxDeliveries(this.options);
    for (let page = 0; page < RECLAIM_PAGES_PER_ROUND && this.active; page++) {
      // Waits while a blocked read holds the free slots (at most blockMs).
      const reserved = await this.reserveForIntake(RECLAIM_BATCH_LIMIT);
      if (reserved === 0) return;
      let reply: unknown;
      try {
        reply = await runScript(
          this.deps.redis,
          RECLAIM_SCRIPT,
          [this.stream],
          [this.group, this.consumer, this.options.ackDeadlineMs, this.reclaimCursor, reserved],
        );
      } catch (err) {
        this.slots.release(reserved);
        throw err;
      }
      const [cursor, claimed] = reply as [string, Array<[string, unknown, number]>];
      this.reclaimCursor = String(cursor);
      let started = 0;
      for (const [id, fields, deliveries] of claimed) {
        // Our own message, touched late: it is already being handled here.
        if (this.dead || this.held.has(String(id))) continue;
        const message: HeldMessage = {
          id: String(id),
          data: fieldValue(fields, "data"),
          traceparent: fieldValue(fields, "traceparent"),
          attempt: Number(deliveries),
          running: false,
          lost: false,
        };
        if (message.attempt > attemptsAllowed) {
          this.held.set(message.id, message);
          this.track(this.deadLetter(message, new DeliveryLostError(this.subject(message.id), message.attempt)));
          continue;
        }
        started++;
        this.startDelivery(message);
      }
      this.slots.release(reserved - started);
      if (this.reclaimCursor === "0-0") return;
    }
  }

  private async pruneIdleConsumers(): Promise<void> {
    await runScript(this.deps.redis, PRUNE_SCRIPT, [this.stream], [this.group, Math.max(PRUNE_IDLE_MS, 10 * this.options.ackDeadlineMs), this.consumer]);
  }

  // --- delivery -------------------------------------------------------------------------------

  /** Holds the message and runs its handler; the caller has reserved a slot for it. */
  private startDelivery(message: HeldMessage): void {
    this.held.set(message.id, message);
    this.track(this.deliver(message));
  }

  private track(task: Promise<void>): void {
    const tracked: Promise<void> = task
      .catch((err) => this.log.error("unexpected Pub/Sub failure", { subscription: this.subject(), error: asError(err).message }))
      .finally(() => this.tasks.delete(tracked));
    this.tasks.add(tracked);
  }

  private async deliver(message: HeldMessage): Promise<void> {
    message.running = true;
    let failure: Error | undefined;
    try {
      await this.runHandler(message);
    } catch (err) {
      failure = asError(err);
    } finally {
      message.running = false;
      this.slots.release();
    }
    if (this.dead) return;
    if (!failure) return this.ack(message);
    return this.handleFailure(message, failure);
  }

  private async runHandler(message: HeldMessage): Promise<void> {
    const subject = this.subject(message.id);
    const payload = decodePayload(subject, message.data);
    const meta: PubSubMessageMeta = {
      type: "pubsub-message",
      service: this.service,
      topic: this.registration.topic,
      subscription: this.registration.name,
      messageId: message.id,
      deliveryAttempt: message.attempt,
      parsedPayload: payload,
    };
    const run = () => runWithRequest({ meta }, () => this.registration.handler(payload as never));
    const handled = tracingEnabled ? this.traced(message, run) : run();
    const deadline = this.options.ackDeadlineMs;
    await withDeadline(Promise.resolve(handled), deadline, () => new AckDeadlineExceededError(subject, deadline));
  }

  /** The delivery's CONSUMER span, a child of the publisher's span when the message carried one. */
  private traced<T>(message: HeldMessage, run: () => T): T {
    const { topic, name } = this.registration;
    const attributes = {
      "messaging.system": "redis-streams",
      "messaging.destination.name": topic,
      "messaging.consumer.group.name": name,
      "messaging.message.id": message.id,
      "cachet.delivery_attempt": message.attempt,
    };
    return inSpan(`process ${topic}`, SpanKind.CONSUMER, attributes, run, contextFrom({ traceparent: message.traceparent }));
  }

  private async handleFailure(message: HeldMessage, failure: Error): Promise<void> {
    // Taken over while the handler ran: the new owner decides what happens next.
    if (message.lost) return this.drop(message);
    if (failure instanceof MessageDecodeError || message.attempt >= maxDeliveries(this.options)) {
      return this.deadLetter(message, failure);
    }
    // Stopping: leave it pending, another process retries it after the ack deadline.
    if (!this.active) return this.drop(message);
    const delay = retryDelayMs(this.options, message.attempt);
    this.log.warn("handler failed; will retry", {
      subscription: this.subject(message.id),
      attempt: message.attempt,
      retryInMs: delay,
      error: failure.message,
    });
    message.retryTimer = setTimeout(() => {
      message.retryTimer = undefined;
      this.track(this.retry(message));
    }, delay);
    message.retryTimer.unref();
  }

  private async retry(message: HeldMessage): Promise<void> {
    if (!(await this.slots.acquire())) return this.drop(message);
    if (!this.active || message.lost) {
      this.slots.release();
      return this.drop(message);
    }
    let redelivery: unknown;
    try {
      redelivery = await runScript(this.deps.redis, REDELIVER_SCRIPT, [this.stream], [this.group, this.consumer, message.id]);
    } catch (err) {
      this.log.warn("could not claim the message for its retry; it is redelivered after the ack deadline", {
        subscription: this.subject(message.id),
        error: asError(err).message,
      });
      redelivery = null;
    }
    if (!Array.isArray(redelivery)) {
      this.slots.release();
      return this.drop(message);
    }
    message.data = fieldValue(redelivery[0], "data");
    message.attempt = Number(redelivery[1]);
    return this.deliver(message);
  }

  private async ack(message: HeldMessage): Promise<void> {
    try {
      await this.deps.redis.xack(this.stream, this.group, message.id);
    } catch (err) {
      this.log.warn("ack failed; the message is delivered again after the ack deadline", {
        subscription: this.subject(message.id),
        error: asError(err).message,
      });
    }
    this.drop(message);
  }

  /** Moves the message to the dead-letter stream and acks it, in one transaction. */
  private async deadLetter(message: HeldMessage, failure: Error): Promise<void> {
    const entry = [
      "data",
      message.data ?? "",
      "messageId",
      message.id,
      "topic",
      this.registration.topic,
      "subscription",
      this.registration.name,
      "attempts",
      String(message.attempt),
      "error",
      describeError(failure),
      "failedAt",
      new Date().toISOString(),
    ];
    try {
      const results = await this.deps.redis
        .multi()
        .xadd(this.deadLetters, "MAXLEN", "~", maxStreamLength(), "*", ...entry)
        .xack(this.stream, this.group, message.id)
        .exec();
      const failed = results?.find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error("the transaction was discarded");
      this.log.error("message dead-lettered", {
        subscription: this.subject(message.id),
        attempts: message.attempt,
        deadLetterStream: this.deadLetters,
        error: failure.message,
      });
    } catch (err) {
      this.log.warn("could not dead-letter the message; it is redelivered after the ack deadline", {
        subscription: this.subject(message.id),
        error: asError(err).message,
      });
    }
    this.drop(message);
  }

  /** Stops holding the message. If it is still pending in Redis, the group hands it out again after the ack deadline. */
  private drop(message: HeldMessage): void {
    clearTimeout(message.retryTimer);
    message.retryTimer = undefined;
    if (this.held.get(message.id) === message) this.held.delete(message.id);
    this.heldShrank.notify();
  }

  // --- keeping messages claimed -----------------------------------------------------------------

  /** Resets the idle time of every held message, so no other consumer takes them over while this process is alive. */
  private async touchHeld(): Promise<void> {
    const ids = [...this.held.keys()];
    for (let i = 0; i < ids.length && !this.dead; i += TOUCH_BATCH) {
      const lost = await runScript(this.deps.redis, TOUCH_SCRIPT, [this.stream], [this.group, this.consumer, ...ids.slice(i, i + TOUCH_BATCH)]);
      for (const id of (lost as string[] | null) ?? []) {
        const message = this.held.get(String(id));
        if (!message) continue;
        message.lost = true;
        if (!message.running) this.drop(message);
      }
    }
  }

  // --- plumbing -------------------------------------------------------------------------------

  /** Runs `task` every `intervalMs` until `signal` aborts; a failing round is logged and the next one runs. */
  private async repeat(intervalMs: number, signal: AbortSignal, task: () => Promise<void>): Promise<void> {
    while (!signal.aborted) {
      try {
        await sleep(intervalMs, undefined, { signal });
      } catch {
        return;
      }
      try {
        await task();
      } catch (err) {
        if (!signal.aborted) this.log.warn("background Pub/Sub task failed", { subscription: this.subject(), error: asError(err).message });
      }
    }
  }

  /** Ends a blocked XREADGROUP now instead of after `blockMs`. */
  private async unblockReader(): Promise<void> {
    if (this.readerClientId === undefined) return;
    try {
      await this.deps.redis.client("UNBLOCK", this.readerClientId);
    } catch {
      // The read ends by itself within blockMs.
    }
  }
}
