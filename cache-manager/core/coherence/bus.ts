/**
 * Coherent L1 across cache-manager instances: every L2 mutation's keys are announced on one Redis
 * Stream, and every instance tails that stream and drops its L1 copies. Unlike pub/sub, a reader
 * that was disconnected replays what it missed; when it cannot (the stream was trimmed past it,
 * Redis restarted, the outage was too long) it says so with `onGap`, and the cache clears its
 * whole L1. See `announcer.ts` (batching, durability) and `follower.ts` (tailing, gap detection).
 *
 * Connections: one command connection for announcements (may be shared; pass `publisher`) and one
 * dedicated connection for the blocking read, configured to fail in-flight reads on disconnect
 * so that every reconnect goes through the gap check.
 *
 * @example
 * const versions = new KeyVersions({ maxKeys: 100_000 });
 * const bus = new CoherenceBus({
 *   url: process.env.REDIS_URL!,
 *   ignoreOwn: true, // this instance updates its own L1 when it writes
 *   onInvalidate: (keys) => { versions.invalidateMany(keys); for (const k of keys) l1.delete(k); },
 *   onFlush: () => { versions.clear(); l1.clear(); },
 *   onGap: () => { versions.clear(); l1.clear(); },
 * });
 * await bus.start();
 * // on a write: mutate L2, then announce, and acknowledge only once the announcement is durable
 * await l2.set(key, value);
 * bus.announce([key]);
 * await bus.flush();
 */
import { randomBytes } from "node:crypto";
import type { Redis, RedisOptions } from "ioredis";
import { monotonicClock, systemClock, type Clock } from "../../../lib/clock.ts";
import { connectRedis } from "../../../lib/redis.ts";
import { Announcer, type AnnouncerStats } from "./announcer.ts";
import { ANNOUNCE_KINDS, entrySeq, type AnnounceKind, type StreamPosition } from "./entry.ts";
import { CoherenceArgumentError } from "./errors.ts";
import { StreamFollower, type CoherenceHandlers, type FollowerStats } from "./follower.ts";

export type { AnnounceKind, StreamPosition } from "./entry.ts";
export type { CoherenceHandlers, EntryMeta, GapInfo, GapReason } from "./follower.ts";

export type ConnectionRole = "announce" | "follow";

export interface CoherenceBusOptions extends Partial<CoherenceHandlers> {
  /** Redis holding the stream; used by the default `connect`. */
  url?: string;
  /** Extra options for the connections the default `connect` opens. */
  redisOptions?: RedisOptions;
  /**
   * Opens the bus's own connections. `required` holds options the bus depends on (a connection
   * name; for `follow`, failing in-flight commands on disconnect); spread it last.
   */
  connect?: (role: ConnectionRole, required: RedisOptions) => Redis;
  /** An existing command connection for announcements; the bus will not close it. */
  publisher?: Redis;
  /** Default `"cachet:coherence"`. */
  streamKey?: string;
  /** Stamped on every announcement; default a random 12-hex id. */
  instanceId?: string;
  /** Skip entries this instance announced (it updated its own L1 when it wrote). Default false. */
  ignoreOwn?: boolean;
  /** Tail the stream (default true). A bus that only announces needs no handlers. */
  follow?: boolean;
  /** Keys per batch (one stream entry); default 256. */
  maxBatchKeys?: number;
  /** UTF-8 bytes of keys per batch; default 256 KiB (a batch always takes at least one key). */
  maxBatchBytes?: number;
  /** How long a batch stays open for more keys; default 1 ms. */
  lingerMs?: number;
  /** Stream bound (`XADD MAXLEN ~`); default 100 000 entries. */
  maxLen?: number;
  /** Trim to exactly `maxLen` (`=`) instead of whole radix-tree nodes (`~`); default false. */
  exactTrim?: boolean;
  /** Keys allowed to wait for Redis before the queue collapses into one flush; default 100 000. */
  maxQueuedKeys?: number;
  /** How long `flush()` waits for durability before rejecting; default 5 000 ms. */
  publishTimeoutMs?: number;
  /** `XREAD BLOCK` timeout; default 1 000 ms. */
  blockMs?: number;
  /** Entries per read; default 500. */
  readCount?: number;
  /**
   * No successful read for longer than this: `onOutage(true)` at once (stop serving L1), and
   * reconnecting is a gap; default 30 000 ms.
   */
  maxOutageMs?: number;
  /** A read outliving `blockMs` by this much is a dead connection; default 5 000 ms. */
  stallGraceMs?: number;
  /** How long `start()` waits for Redis; default 5 000 ms. */
  startTimeoutMs?: number;
  /** Measures durations (outage bound, time since the last read). Default `monotonicClock`. */
  clock?: Pick<Clock, "now">;
  /** Stamps announcements with epoch milliseconds (propagation latency). Default `systemClock`. */
  wallClock?: Pick<Clock, "now">;
  /** Failures worth a log line (publish retries, unexpected read errors, throwing handlers). */
  onError?: (error: Error) => void;
}

export interface CoherenceStats extends FollowerStats, AnnouncerStats {
  instanceId: string;
  streamKey: string;
  following: boolean;
}

export interface CoherenceLag {
  /** Entries appended after our position; `null` when not following or the stream was reset. */
  entriesBehind: number | null;
  /** The stream's newest entry, or `null` when the stream does not exist. */
  head: StreamPosition | null;
  position: StreamPosition | null;
  msSinceLastRead: number | null;
  connected: boolean;
}

const DEFAULTS = {
  streamKey: "cachet:coherence",
  maxBatchKeys: 256,
  maxBatchBytes: 256 * 1024,
  lingerMs: 1,
  maxLen: 100_000,
  maxQueuedKeys: 100_000,
  publishTimeoutMs: 5_000,
  blockMs: 1_000,
  readCount: 500,
  maxOutageMs: 30_000,
  stallGraceMs: 5_000,
  startTimeoutMs: 5_000,
};

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved < min) throw new CoherenceArgumentError(`${name} must be an integer >= ${min}, got ${value}`);
  return resolved;
}

/** CLIENT SETNAME accepts no spaces or newlines. */
function connectionName(instanceId: string, role: ConnectionRole): string {
  return `cachet-coherence:${instanceId.replace(/[^\w.:-]/g, "_")}:${role}`;
}

export class CoherenceBus {
  readonly instanceId: string;
  readonly streamKey: string;
  private readonly publisher: Redis;
  private readonly ownsPublisher: boolean;
  private readonly announcer: Announcer;
  private readonly follower: StreamFollower | null;
  private readonly startTimeoutMs: number;
  private state: "new" | "started" | "stopped" = "new";

  constructor(options: CoherenceBusOptions) {
    const clock = options.clock ?? monotonicClock;
    const wallClock = options.wallClock ?? systemClock;
    const onError = options.onError ?? (() => undefined);
    this.instanceId = options.instanceId ?? randomBytes(6).toString("hex");
    this.streamKey = options.streamKey ?? DEFAULTS.streamKey;
    if (!this.instanceId || !this.streamKey) throw new CoherenceArgumentError("instanceId and streamKey must be non-empty");
    const follow = options.follow ?? true;
    if (follow && (!options.onInvalidate || !options.onFlush || !options.onGap)) {
      throw new CoherenceArgumentError("a following bus needs onInvalidate, onFlush and onGap: without them its L1 cannot stay coherent");
    }
    if (!options.connect && !options.url && (follow || !options.publisher)) {
      throw new CoherenceArgumentError("CoherenceBus needs `url` or `connect` (or, for an announce-only bus, `publisher`)");
    }
    const connect =
      options.connect ?? ((_role: ConnectionRole, required: RedisOptions) => connectRedis(options.url!, { ...options.redisOptions, ...required }));
    const announcerOptions = {
      streamKey: this.streamKey,
      origin: this.instanceId,
      maxLen: positiveInt("maxLen", options.maxLen, DEFAULTS.maxLen),
      exactTrim: options.exactTrim ?? false,
      maxBatchKeys: positiveInt("maxBatchKeys", options.maxBatchKeys, DEFAULTS.maxBatchKeys),
      maxBatchBytes: positiveInt("maxBatchBytes", options.maxBatchBytes, DEFAULTS.maxBatchBytes),
      lingerMs: positiveInt("lingerMs", options.lingerMs, DEFAULTS.lingerMs, 0),
      maxQueuedKeys: positiveInt("maxQueuedKeys", options.maxQueuedKeys, DEFAULTS.maxQueuedKeys),
      publishTimeoutMs: positiveInt("publishTimeoutMs", options.publishTimeoutMs, DEFAULTS.publishTimeoutMs),
      wallNow: () => wallClock.now(),
      onError,
    };
    const followerOptions = {
      streamKey: this.streamKey,
      origin: this.instanceId,
      ignoreOwn: options.ignoreOwn ?? false,
      blockMs: positiveInt("blockMs", options.blockMs, DEFAULTS.blockMs),
      readCount: positiveInt("readCount", options.readCount, DEFAULTS.readCount),
      maxOutageMs: positiveInt("maxOutageMs", options.maxOutageMs, DEFAULTS.maxOutageMs),
      stallGraceMs: positiveInt("stallGraceMs", options.stallGraceMs, DEFAULTS.stallGraceMs),
      now: () => clock.now(),
      wallNow: () => wallClock.now(),
      onError,
    };
    this.startTimeoutMs = positiveInt("startTimeoutMs", options.startTimeoutMs, DEFAULTS.startTimeoutMs);

    this.ownsPublisher = !options.publisher;
    this.publisher = options.publisher ?? connect("announce", { connectionName: connectionName(this.instanceId, "announce") });
    // Failures reach callers through flush() and stats; without a listener ioredis prints each one.
    if (this.ownsPublisher) this.publisher.on("error", () => undefined);
    this.announcer = new Announcer(this.publisher, announcerOptions);

    if (follow) {
      const reader = connect("follow", {
        connectionName: connectionName(this.instanceId, "follow"),
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        enableOfflineQueue: false,
      });
      reader.on("error", () => undefined);
      const handlers: CoherenceHandlers = {
        onInvalidate: options.onInvalidate!,
        onFlush: options.onFlush!,
        onGap: options.onGap!,
        onInvalidatePattern: options.onInvalidatePattern,
        onOutage: options.onOutage,
      };
      this.follower = new StreamFollower(reader, followerOptions, handlers);
    } else {
      this.follower = null;
    }
  }

  /**
   * Connects and, when following, resolves the stream's current end to a concrete position:
   * every announcement appended after this resolves is delivered. Call once. Throws
   * `CoherenceUnavailableError` when Redis is not ready within `startTimeoutMs`; call `stop()`
   * then to release the connections.
   */
  async start(): Promise<void> {
    if (this.state !== "new") throw new CoherenceArgumentError(`start() called on a ${this.state} bus`);
    this.state = "started";
    await this.follower?.start(this.startTimeoutMs);
  }

  /**
   * Queues keys for announcement (de-duplicated within a batch). `kind` is informational for
   * `set`/`delete`; `flush` (keys ignored) makes every instance clear its L1. Throws
   * `CoherenceClosedError` after `stop()`.
   */
  announce(keys: readonly string[], kind: AnnounceKind = "set"): void {
    if (!ANNOUNCE_KINDS.includes(kind)) throw new CoherenceArgumentError(`kind must be one of ${ANNOUNCE_KINDS.join(", ")}, got ${String(kind)}`);
    for (const key of keys) {
      if (typeof key !== "string") throw new CoherenceArgumentError(`keys must be strings, got ${typeof key}`);
    }
    this.announcer.announce(keys, kind);
  }

  /** Resolves once everything announced so far is in Redis (see `Announcer.flush`). */
  flush(): Promise<void> {
    return this.announcer.flush();
  }

  /**
   * Sends what is queued (bounded by `publishTimeoutMs`), ends the blocking read at once and
   * closes the bus's own connections. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopped";
    await this.announcer.close();
    await this.follower?.stop();
    if (!this.ownsPublisher) return;
    // QUIT on a connection that is not up would wait in the offline queue for a reconnect.
    if (this.publisher.status === "ready") await this.publisher.quit().catch(() => this.publisher.disconnect());
    else this.publisher.disconnect();
  }

  stats(): CoherenceStats {
    const follower: FollowerStats = this.follower?.stats() ?? {
      connected: false,
      position: { id: "", seq: null },
      entriesReceived: 0,
      ownEntriesSkipped: 0,
      keysInvalidated: 0,
      flushesReceived: 0,
      patternsReceived: 0,
      gapsDetected: 0,
      lastGap: null,
      reconnects: 0,
      stalls: 0,
      readFailures: 0,
      outage: false,
      outages: 0,
      msSinceLastRead: null,
      lastEntryLatencyMs: null,
      maxEntryLatencyMs: null,
      lastEntryAnnouncedAt: null,
    };
    return { instanceId: this.instanceId, streamKey: this.streamKey, following: this.follower !== null, ...follower, ...this.announcer.stats() };
  }

  /** Asks Redis for the stream's head (on the announce connection) and compares it with our position. */
  async lag(): Promise<CoherenceLag> {
    const newest = (await this.publisher.xrevrange(this.streamKey, "+", "-", "COUNT", 1))[0];
    const head: StreamPosition | null = newest ? { id: newest[0], seq: entrySeq(newest[1]) } : null;
    const stats = this.follower?.stats();
    const position = stats?.position ?? null;
    let entriesBehind: number | null = null;
    if (position && position.seq !== null) {
      const headSeq = head ? head.seq : 0;
      if (headSeq !== null && headSeq >= position.seq) entriesBehind = headSeq - position.seq;
    }
    return { entriesBehind, head, position, msSinceLastRead: stats?.msSinceLastRead ?? null, connected: stats?.connected ?? false };
  }
}
