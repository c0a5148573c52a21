/**
 * The reading half of the coherence bus: tails the stream with `XREAD BLOCK` on a dedicated
 * connection and hands every entry to the handlers, in stream order.
 *
 * Position and recovery:
 * - `start()` resolves "the end of the stream now" to a concrete id (and its `seq`), so anything
 *   appended after `start()` resolves is delivered.
 * - After a reconnect it resumes from the last id it handled: nothing appended meanwhile is lost.
 * - A gap is anything that may have been lost; the handler clears the whole L1 and reading goes on:
 *   - `trimmed`: the next entry's `seq` is past the expected one (MAXLEN trimmed entries we had not
 *     read, whether we were disconnected or just slow);
 *   - `stream-reset`: the next entry's `seq` went backwards, or the newest entry is older than our
 *     position (the stream was deleted and recreated);
 *   - `stream-missing`: the stream is gone after we had read from it;
 *   - `redis-restarted`: the server's `run_id` changed (restart or failover; entries not yet
 *     persisted or replicated may be gone, undetectably);
 *   - `outage`: no successful read for longer than `maxOutageMs` (replaying a long backlog would
 *     cost more than refilling L1);
 *   - `malformed-entry`, `handler-failed`: an entry could not be applied.
 *   A gap found on reconnect (`redis-restarted`, `outage`, `stream-missing`, `stream-reset`)
 *   moves the position to the stream's current end, resolved before `onGap` runs, so nothing
 *   announced after the clear is skipped. A gap found in a read (`trimmed`, `stream-reset`) is
 *   reported before the entry that revealed it, which is then delivered as usual.
 * - A read that outlives `blockMs + stallGraceMs` is taken as a dead connection (no RST on a
 *   network partition): the connection is dropped and re-established.
 * - While disconnected, the outage bound is enforced, not only judged on reconnect: once no read
 *   has succeeded for `maxOutageMs` (and the connection is down, or a read has hung past
 *   `blockMs + stallGraceMs`), `onOutage(true)` tells the cache that its L1 may hold values
 *   changed elsewhere, so it stops serving them. Reconnecting after that is an `outage` gap (L1
 *   cleared); `onOutage(false)` follows the gap handler, so L1 is served again only once clear.
 *   A watchdog timer checks every `maxOutageMs / 4` (10 ms to 1 s).
 */
import type { Redis } from "ioredis";
import { compareStreamIds, entrySeq, parseEntry, parseRunId, STREAM_ORIGIN, type AnnounceKind, type StreamPosition } from "./entry.ts";
import { CoherenceUnavailableError } from "./errors.ts";

export type GapReason = "trimmed" | "stream-reset" | "stream-missing" | "redis-restarted" | "outage" | "malformed-entry" | "handler-failed";

export interface GapInfo {
  reason: GapReason;
  /** What was observed, for logs. */
  detail: string;
  /** Entries known to be lost (`trimmed` only). */
  missedEntries?: number;
}

/** What a handler learns about the entry behind a callback. */
export interface EntryMeta {
  id: string;
  seq: number;
  origin: string;
  kind: AnnounceKind;
  /** True when this instance announced it (delivered only when `ignoreOwn` is off). */
  own: boolean;
  /** Wall-clock time (epoch ms) the batch's first key was announced. */
  announcedAt: number;
  /** Receipt time minus `announcedAt`, on the wall clocks of two machines (skew included). */
  latencyMs: number;
}

/**
 * Handlers run one at a time, in stream order; when one returns a promise, reading waits for it.
 * A handler that throws is reported to `onError` and followed by a `handler-failed` gap.
 */
export interface CoherenceHandlers {
  onInvalidate(keys: string[], meta: EntryMeta): void | Promise<void>;
  onFlush(meta: EntryMeta): void | Promise<void>;
  /** Keys matching any of these globs changed; without this handler, a pattern acts as a flush. */
  onInvalidatePattern?(patterns: string[], meta: EntryMeta): void | Promise<void>;
  onGap(reason: GapReason, info: GapInfo): void | Promise<void>;
  /**
   * The follower lost the stream for longer than `maxOutageMs` (`lost: true`): L1 may hold values
   * changed elsewhere and must not be served. `lost: false` once reading resumed and the gap
   * handler ran.
   */
  onOutage?(lost: boolean, info: { msSinceLastRead: number }): void;
}

export interface FollowerOptions {
  streamKey: string;
  origin: string;
  ignoreOwn: boolean;
  blockMs: number;
  readCount: number;
  maxOutageMs: number;
  stallGraceMs: number;
  now: () => number;
  wallNow: () => number;
  onError: (error: Error) => void;
}

export interface FollowerStats {
  /** The dedicated connection is up and the last read succeeded. */
  connected: boolean;
  position: StreamPosition;
  entriesReceived: number;
  ownEntriesSkipped: number;
  keysInvalidated: number;
  flushesReceived: number;
  patternsReceived: number;
  gapsDetected: number;
  lastGap: (GapInfo & { at: number }) | null;
  /** No read for longer than `maxOutageMs` and not reading now: L1 must not be served. */
  outage: boolean;
  /** Times `outage` became true. */
  outages: number;
  /** Reconnections after which reading resumed (with or without a gap). */
  reconnects: number;
  /** Reads abandoned because they outlived `blockMs + stallGraceMs`. */
  stalls: number;
  readFailures: number;
  /** Time since a read last returned (data or an empty block), on the monotonic clock. */
  msSinceLastRead: number | null;
  lastEntryLatencyMs: number | null;
  maxEntryLatencyMs: number | null;
  /** `announcedAt` of the newest entry handled. */
  lastEntryAnnouncedAt: number | null;
}

type XReadReply = [key: string, items: [id: string, fields: string[]][]][] | null;

const ERROR_BACKOFF_BASE_MS = 20;
const ERROR_BACKOFF_MAX_MS = 1_000;

export class StreamFollower {
  private position: StreamPosition = STREAM_ORIGIN;
  private runId: string | null = null;
  private readyEpoch = 0;
  private syncedEpoch = -1;
  private lastReadAt: number | null = null;
  private connected = false;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private wakers = new Set<() => void>();
  private readonly counters = {
    entriesReceived: 0,
    ownEntriesSkipped: 0,
    keysInvalidated: 0,
    flushesReceived: 0,
    patternsReceived: 0,
    gapsDetected: 0,
    reconnects: 0,
    stalls: 0,
    readFailures: 0,
    outages: 0,
  };
  private outage = false;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private lastGap: FollowerStats["lastGap"] = null;
  private lastEntryLatencyMs: number | null = null;
  private maxEntryLatencyMs: number | null = null;
  private lastEntryAnnouncedAt: number | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly options: FollowerOptions,
    private readonly handlers: CoherenceHandlers,
  ) {
    redis.on("ready", () => {
      this.readyEpoch += 1;
    });
  }

  /** Waits for the connection, resolves the stream's current end as the position, starts tailing. */
  async start(timeoutMs: number): Promise<void> {
    if (this.redis.status === "wait") void this.redis.connect().catch(() => undefined);
    const deadline = setTimeout(() => this.wake(), timeoutMs);
    try {
      await this.untilReady();
    } finally {
      clearTimeout(deadline);
    }
    if (this.redis.status !== "ready") throw new CoherenceUnavailableError(`the coherence stream's Redis did not become ready within ${timeoutMs} ms`);
    await this.resync(true);
    this.loop = this.run();
    const period = Math.min(1_000, Math.max(10, Math.floor(this.options.maxOutageMs / 4)));
    this.watchdog = setInterval(() => this.checkOutage(), period);
    this.watchdog.unref?.();
  }

  /**
   * Declares an outage once no read succeeded for `maxOutageMs` while the connection is down
   * (or a read hangs past the stall bound, which a healthy blocking read never does).
   * Exposed for tests driving a fake clock; the watchdog calls it on its own.
   */
  checkOutage(): boolean {
    if (this.outage || this.stopping || this.lastReadAt === null) return this.outage;
    const { maxOutageMs, blockMs, stallGraceMs } = this.options;
    const away = this.options.now() - this.lastReadAt;
    const reading = this.connected && this.redis.status === "ready" && away <= blockMs + stallGraceMs;
    if (away <= maxOutageMs || reading) return false;
    this.outage = true;
    this.counters.outages += 1;
    this.notifyOutage(true, away);
    return true;
  }

  /** Called once reading works again (and, after a long outage, the gap handler cleared L1). */
  private endOutage(): void {
    if (!this.outage) return;
    this.outage = false;
    this.notifyOutage(false, 0);
  }

  private notifyOutage(lost: boolean, msSinceLastRead: number): void {
    try {
      this.handlers.onOutage?.(lost, { msSinceLastRead });
    } catch (error) {
      this.options.onError(asError(error));
    }
  }

  /** Ends the blocking read at once (by closing the connection) and waits for the loop to finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.wake();
    this.redis.disconnect();
    await this.loop;
    this.connected = false;
  }

  stats(): FollowerStats {
    return {
      ...this.counters,
      connected: this.connected && this.redis.status === "ready",
      outage: this.outage,
      position: { ...this.position },
      lastGap: this.lastGap,
      msSinceLastRead: this.lastReadAt === null ? null : Math.max(0, this.options.now() - this.lastReadAt),
      lastEntryLatencyMs: this.lastEntryLatencyMs,
      maxEntryLatencyMs: this.maxEntryLatencyMs,
      lastEntryAnnouncedAt: this.lastEntryAnnouncedAt,
    };
  }

  get currentPosition(): StreamPosition {
    return { ...this.position };
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        if (this.redis.status !== "ready") {
          this.connected = false;
          await this.untilReady();
          continue;
        }
        if (this.syncedEpoch !== this.readyEpoch) {
          await this.resync(false);
          this.endOutage();
          continue;
        }
        const reply = await this.read();
        this.lastReadAt = this.options.now();
        this.endOutage();
        failures = 0;
        if (reply) await this.apply(reply);
        // Connected means caught up: after a reconnect, only once what was missed is applied (a
        // full page may have more behind it).
        if (!reply || (reply[0]?.[1]?.length ?? 0) < this.options.readCount) this.connected = true;
      } catch (error) {
        if (this.stopping) break;
        this.connected = false;
        this.counters.readFailures += 1;
        failures += 1;
        // A dropped connection is expected (ioredis reconnects); anything else is worth a report.
        if (this.redis.status === "ready") this.options.onError(asError(error));
        await this.sleep(Math.min(ERROR_BACKOFF_BASE_MS * 2 ** (failures - 1), ERROR_BACKOFF_MAX_MS));
      }
    }
  }

  private async read(): Promise<XReadReply> {
    const { blockMs, stallGraceMs, readCount, streamKey } = this.options;
    const stall = setTimeout(() => {
      this.counters.stalls += 1;
      this.redis.disconnect(true);
    }, blockMs + stallGraceMs);
    try {
      return (await this.redis.xread("COUNT", readCount, "BLOCK", blockMs, "STREAMS", streamKey, this.position.id)) as XReadReply;
    } finally {
      clearTimeout(stall);
    }
  }

  /**
   * Checks, after every (re)connect, whether what happened while we were away can be replayed.
   * Trimming is not checked here: the first entry read after it tells by its `seq`.
   */
  private async resync(initial: boolean): Promise<void> {
    const epoch = this.readyEpoch;
    const results = await this.redis.pipeline().info("server").xrevrange(this.options.streamKey, "+", "-", "COUNT", 1).exec();
    if (!results) throw new Error("the resync pipeline was aborted");
    const [[infoError, info], [tailError, tailReply]] = results as [[Error | null, string], [Error | null, [string, string[]][]]];
    if (infoError) throw infoError;
    if (tailError) throw tailError;
    const runId = parseRunId(info);
    const newest = tailReply[0];
    const tail: StreamPosition | null = newest ? { id: newest[0], seq: entrySeq(newest[1]) } : null;
    const now = this.options.now();

    if (!initial) {
      const gap = this.judgeResume(runId, tail, now);
      this.counters.reconnects += 1;
      if (gap) {
        this.position = tail ?? STREAM_ORIGIN;
        await this.gap(gap);
      }
    } else {
      this.position = tail ?? STREAM_ORIGIN;
    }
    this.runId = runId;
    this.syncedEpoch = epoch;
    this.lastReadAt = now;
    // At the tail (first start, or after a gap) there is nothing to catch up on; after a resume,
    // the next reads replay what was missed and then set it.
    if (initial || this.position === tail || this.position === STREAM_ORIGIN) this.connected = true;
  }

  private judgeResume(runId: string | null, tail: StreamPosition | null, now: number): GapInfo | null {
    const { position } = this;
    if (runId !== this.runId) return { reason: "redis-restarted", detail: `Redis run_id changed from ${this.runId} to ${runId}` };
    const away = this.lastReadAt === null ? 0 : now - this.lastReadAt;
    if (away > this.options.maxOutageMs) return { reason: "outage", detail: `no read for ${Math.round(away)} ms (bound ${this.options.maxOutageMs} ms)` };
    if (!tail) {
      return position.id === STREAM_ORIGIN.id ? null : { reason: "stream-missing", detail: `stream ${this.options.streamKey} no longer exists` };
    }
    const order = compareStreamIds(tail.id, position.id);
    const seqBehind = tail.seq !== null && position.seq !== null && tail.seq < position.seq;
    if (order < 0 || seqBehind || (order === 0 && tail.seq !== position.seq)) {
      return { reason: "stream-reset", detail: `newest entry ${tail.id} (seq ${tail.seq}) is behind our position ${position.id} (seq ${position.seq})` };
    }
    return null;
  }

  private async apply(reply: XReadReply): Promise<void> {
    for (const [, items] of reply ?? []) {
      for (const [id, fields] of items) {
        if (this.stopping) return;
        await this.applyEntry(id, fields);
      }
    }
  }

  private async applyEntry(id: string, fields: string[]): Promise<void> {
    const entry = parseEntry(id, fields);
    this.counters.entriesReceived += 1;
    if (!entry) {
      this.position = { id, seq: entrySeq(fields) };
      await this.gap({ reason: "malformed-entry", detail: `entry ${id} could not be decoded` });
      return;
    }
    const expected = this.position.seq === null ? null : this.position.seq + 1;
    if (expected !== null && entry.seq !== expected) {
      const gap: GapInfo =
        entry.seq > expected
          ? { reason: "trimmed", detail: `expected seq ${expected}, got ${entry.seq} (entry ${id})`, missedEntries: entry.seq - expected }
          : { reason: "stream-reset", detail: `seq went back from ${this.position.seq} to ${entry.seq} (entry ${id})` };
      this.position = { id, seq: entry.seq };
      await this.gap(gap);
    }
    this.position = { id, seq: entry.seq };

    const own = entry.origin === this.options.origin;
    if (own && this.options.ignoreOwn) {
      this.counters.ownEntriesSkipped += 1;
      return;
    }
    const latencyMs = this.options.wallNow() - entry.announcedAt;
    this.lastEntryLatencyMs = latencyMs;
    this.maxEntryLatencyMs = Math.max(this.maxEntryLatencyMs ?? latencyMs, latencyMs);
    this.lastEntryAnnouncedAt = entry.announcedAt;
    const meta: EntryMeta = { id, seq: entry.seq, origin: entry.origin, kind: entry.kind, own, announcedAt: entry.announcedAt, latencyMs };
    try {
      if (entry.kind === "flush") {
        this.counters.flushesReceived += 1;
        await this.handlers.onFlush(meta);
      } else if (entry.kind === "pattern") {
        this.counters.patternsReceived += 1;
        await (this.handlers.onInvalidatePattern ? this.handlers.onInvalidatePattern(entry.keys, meta) : this.handlers.onFlush(meta));
      } else {
        this.counters.keysInvalidated += entry.keys.length;
        await this.handlers.onInvalidate(entry.keys, meta);
      }
    } catch (error) {
      this.options.onError(asError(error));
      await this.gap({ reason: "handler-failed", detail: `the ${entry.kind} handler threw on entry ${id}` });
    }
  }

  private async gap(info: GapInfo): Promise<void> {
    this.counters.gapsDetected += 1;
    this.lastGap = { ...info, at: this.options.wallNow() };
    try {
      await this.handlers.onGap(info.reason, info);
    } catch (error) {
      this.options.onError(asError(error));
    }
  }

  /** Resolves on the next `ready`, or when woken (stop, start timeout). */
  private untilReady(): Promise<void> {
    if (this.redis.status === "ready" || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.redis.off("ready", done);
        this.wakers.delete(done);
        resolve();
      };
      this.redis.on("ready", done);
      this.wakers.add(done);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  private wake(): void {
    for (const waker of [...this.wakers]) waker();
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
