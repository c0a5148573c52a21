/**
 * The copier: L2 writes reach L3 asynchronously, in batches, through a durable queue that
 * already exists — the coherence stream, which announces every L2 write's keys. Each instance
 * reads it in one consumer group (so each entry is copied once across instances), copies the
 * keys of `set` entries, and acknowledges the entries only once L3 stored them. The request
 * path pays nothing for L3.
 *
 * - Coalescing: keys repeated in a batch are copied once, and the copy takes what L2 holds *now*
 *   (inside L3's shared lock), so a key written ten times before the copier reads it is written
 *   to L3 once, with its latest value.
 * - Pacing: after the first entries of a batch arrive the copier waits (`lingerMs`) to gather
 *   more. That wait grows with the process's load, up to `maxLingerMs` when its event loop is
 *   saturated: the copy's CPU then goes to larger batches in which more repeated writes
 *   coalesce, and the requests keep the cores. The cost is copier lag (a write reaches L3 later),
 *   bounded by `maxLingerMs` plus the copy's own time.
 * - Failures: a batch L3 does not take is recorded as pending invalidations of its keys
 *   (`tiered/l3.ts`), so L3's older values of them are removed before L3 is read again; only a
 *   batch that could not be recorded either stays pending in the group and is read again after
 *   `retryMs` (backing off). A dead instance's entries are claimed after `claimIdleMs`.
 * - The backlog rule: while L3 is down the copier keeps reading, so writes are not left in the
 *   bounded stream (the bus's `maxLen`) to be trimmed unseen; they reach L3 as removals of the
 *   keys' older values, not as copies. That costs warmth, never correctness.
 * - After Redis lost the stream (flush, empty restart) the group is created again at the start.
 */
import { performance, type EventLoopUtilization } from "node:perf_hooks";
import type { Redis } from "ioredis";

export interface L3CopierOptions {
  /** A connection of its own: the copier blocks on it (`XREADGROUP BLOCK`). */
  redis: Redis;
  streamKey: string;
  /** Default `cachet-l3`. */
  group?: string;
  consumer: string;
  /** Copies the keys' current L2 values into L3; rejects when L3 did not store them. */
  copy: (keys: string[]) => Promise<unknown>;
  /** Entries per batch, at most; default 5 000. */
  count?: number;
  /**
   * After a read that found fewer than `count` entries, how long to gather more before copying
   * when the process is idle; default 100 ms. Fewer, larger batches cost L3 (one transaction per
   * chunk) and this process less CPU per key, for up to this much more copier lag.
   */
  lingerMs?: number;
  /** The wait when the process is saturated (see `load`); default 1 000 ms. */
  maxLingerMs?: number;
  /**
   * How busy the process is, 0 to 1, since the previous call; default the event loop's
   * utilisation. Below 0.5 the copier waits `lingerMs`; from there to 0.9 the wait rises to
   * `maxLingerMs`.
   */
  load?: () => number;
  /**
   * The copier's lag in ms: after each copied batch, how long its oldest write waited (its stream
   * id's time); 0 when a read found nothing new (caught up); after a failed batch, how long its
   * oldest write has waited so far (so a stuck copier's lag grows).
   */
  onLag?: (lagMs: number) => void;
  /** `XREADGROUP BLOCK` timeout; default 1 000 ms. */
  blockMs?: number;
  /** Pause before a failed batch is read again; default 1 000 ms (doubling up to 30 s). */
  retryMs?: number;
  /** Entries another consumer left unacknowledged this long are taken over; default 60 000 ms. */
  claimIdleMs?: number;
  onError?: (error: unknown) => void;
}

type StreamEntries = [id: string, fields: string[]][];

/** The keys of the `set` entries among `entries` (deduplicated); other kinds carry nothing to copy. */
export function keysToCopy(entries: StreamEntries): string[] {
  const keys = new Set<string>();
  for (const [, fields] of entries) {
    let kind: string | undefined;
    let list: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === "kind") kind = fields[i + 1];
      else if (fields[i] === "keys") list = fields[i + 1];
    }
    if (kind !== "set" || list === undefined) continue;
    try {
      for (const key of JSON.parse(list) as unknown[]) if (typeof key === "string") keys.add(key);
    } catch {
      // not one of ours: nothing to copy
    }
  }
  return [...keys];
}

/** The event loop's utilisation since the previous call (the first call: since the process started). */
export function eventLoopLoad(): () => number {
  let previous: EventLoopUtilization | undefined;
  return () => {
    const now = performance.eventLoopUtilization();
    const since = previous ? performance.eventLoopUtilization(now, previous) : now;
    previous = now;
    return since.utilization;
  };
}

/** The copier's wait for `load` (0 to 1): `lingerMs` up to 0.5, rising to `maxLingerMs` at 0.9. */
export function lingerFor(load: number, lingerMs: number, maxLingerMs: number): number {
  const share = Math.min(1, Math.max(0, (load - 0.5) / 0.4));
  return Math.round(lingerMs + (Math.max(lingerMs, maxLingerMs) - lingerMs) * share);
}

/** When a stream entry was added: the milliseconds part of its id. */
const entryTime = (id: string) => Number(id.slice(0, id.indexOf("-")));

export class L3Copier {
  private readonly o: Required<Omit<L3CopierOptions, "onError" | "onLag">> & Pick<L3CopierOptions, "onError" | "onLag">;
  private running = false;
  private loop: Promise<void> | undefined;
  private lastClaim = 0;

  constructor(options: L3CopierOptions) {
    this.o = {
      group: "cachet-l3",
      count: 5_000,
      lingerMs: 100,
      maxLingerMs: 1_000,
      load: eventLoopLoad(),
      blockMs: 1_000,
      retryMs: 1_000,
      claimIdleMs: 60_000,
      ...options,
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the batch in hand; unacknowledged entries stay for the next start or another instance. */
  async stop(): Promise<void> {
    this.running = false;
    this.o.redis.disconnect();
    await this.loop;
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.o.redis.xgroup("CREATE", this.o.streamKey, this.o.group, "0", "MKSTREAM");
    } catch (error) {
      if (!String(error).includes("BUSYGROUP")) throw error;
    }
  }

  private async run(): Promise<void> {
    let backoff = this.o.retryMs;
    let retryOwn = true; // first read our own unacknowledged entries (a restart)
    let groupReady = false;
    while (this.running) {
      let oldest: number | null = null; // the batch in hand's first write, epoch ms
      try {
        if (!groupReady) {
          await this.ensureGroup();
          groupReady = true;
        }
        const entries = await this.next(retryOwn);
        if (entries.length === 0) {
          if (!retryOwn) this.o.onLag?.(0); // a blocking read found nothing new: caught up
          retryOwn = false;
          continue;
        }
        oldest = entryTime(entries[0][0]); // entries come in id order
        const keys = keysToCopy(entries);
        if (keys.length > 0) await this.o.copy(keys);
        await this.o.redis.xack(this.o.streamKey, this.o.group, ...entries.map(([id]) => id));
        this.o.onLag?.(Date.now() - oldest);
        backoff = this.o.retryMs;
      } catch (error) {
        if (!this.running) return;
        if (oldest !== null) this.o.onLag?.(Date.now() - oldest);
        if (String(error).includes("NOGROUP")) groupReady = false;
        else this.o.onError?.(error);
        retryOwn = true;
        await new Promise((resolve) => setTimeout(resolve, backoff).unref?.());
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  /** Our own pending entries (after a failure), entries a dead consumer left, or new ones. */
  private async next(retryOwn: boolean): Promise<StreamEntries> {
    const { redis, streamKey, group, consumer, count } = this.o;
    if (retryOwn) return this.read(await redis.xreadgroup("GROUP", group, consumer, "COUNT", count, "STREAMS", streamKey, "0"));
    const now = Date.now();
    if (now - this.lastClaim >= this.o.claimIdleMs / 2) {
      this.lastClaim = now;
      const claimed = (await redis.xautoclaim(streamKey, group, consumer, this.o.claimIdleMs, "0-0", "COUNT", count)) as [string, StreamEntries];
      const entries = (claimed[1] ?? []).filter(([, fields]) => fields !== null);
      if (entries.length > 0) return entries;
    }
    const entries = this.read(await redis.xreadgroup("GROUP", group, consumer, "COUNT", count, "BLOCK", this.o.blockMs, "STREAMS", streamKey, ">"));
    const linger = lingerFor(this.o.load(), this.o.lingerMs, this.o.maxLingerMs);
    if (entries.length === 0 || entries.length >= count || linger <= 0) return entries;
    await new Promise((resolve) => setTimeout(resolve, linger).unref?.());
    const more = this.running ? this.read(await redis.xreadgroup("GROUP", group, consumer, "COUNT", count - entries.length, "STREAMS", streamKey, ">")) : [];
    return entries.concat(more);
  }

  private read(reply: unknown): StreamEntries {
    const streams = reply as [string, StreamEntries][] | null;
    return (streams?.[0]?.[1] ?? []).filter(([, fields]) => fields !== null);
  }
}
