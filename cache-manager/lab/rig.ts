/**
 * The Lab's rig: what every scenario runs on. Each run gets its own TieredCache instances (the
 * same class the service runs, wired by the same options) on this deployment's Redis, under a key
 * prefix of their own (`cachet:lab:<run>:`), with a lab origin whose latency is known and whose
 * calls are counted. The service's own cache, breaker and degradation level are never touched.
 * `close()` deletes every key the run wrote.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { percentile } from "../../lib/metrics/percentile";
import { connectRedis } from "../../lib/redis";
import { redisUrl } from "../config";
import type { Envelope } from "../core/envelope";
import { L1Cache } from "../core/l1/cache";
import { createSingleL2 } from "../core/l2/single";
import type { L2Store } from "../core/l2/types";
import type { OriginRegistry } from "../core/origins/registry";
import type { LoadResult, Origin, OriginConfig } from "../core/origins/types";
import { RedisLease } from "../core/resilience/lease";
import { TieredCache } from "../core/tiered";
import { createTieredCache } from "../core/tiered/factory";
import { WriteBehindQueue } from "../core/writebehind/queue";
import type { LabBar } from "./types";

export const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The p-th percentile (0..100) of a run's samples, 0 when there are none (a chart needs a number). */
export const pct = (samples: readonly number[], p: number) => percentile(samples, p, 0);
/** The median of a run's samples, rounded for display. */
export const p50 = (samples: readonly number[]) => round(pct(samples, 50));

/** Times `fn` in milliseconds (sub-millisecond precision). */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

/** p50 and p99 bars for each variant's samples. */
export function latencyBars(variants: Record<string, number[]>): LabBar[] {
  const bars: LabBar[] = [];
  for (const [group, p] of [
    ["p50", 50],
    ["p99", 99],
  ] as const) {
    for (const [variant, samples] of Object.entries(variants)) bars.push({ group, variant, value: round(pct(samples, p)), unit: "ms" });
  }
  return bars;
}

/** A namespace origin with a known latency that counts its calls and remembers its writes. */
export class LabOrigin {
  loads = 0;
  writes = new Map<string, { value: unknown; at: number }>();
  private readonly values = new Map<string, unknown>();

  constructor(
    readonly latencyMs: number,
    readonly writeLatencyMs = latencyMs,
  ) {}

  async load(key: string): Promise<LoadResult> {
    this.loads++;
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    return this.values.has(key) ? { found: true, value: this.values.get(key) } : { found: true, value: { key, loadedAt: Date.now() } };
  }

  async write(key: string, value: unknown): Promise<void> {
    if (this.writeLatencyMs > 0) await sleep(this.writeLatencyMs);
    this.values.set(key, value);
    this.writes.set(key, { value, at: performance.now() });
  }

  /** The registry's face, as TieredCache uses it: `resolve`, `load` and `write`. */
  asRegistry(): OriginRegistry {
    const origin: Origin = {
      namespace: "lab:",
      kind: "http",
      config: { namespace: "lab:", kind: "http", url: "lab://origin" } as unknown as OriginConfig,
      load: (key) => this.load(key),
      write: (key, value) => this.write(key, value),
    };
    return {
      resolve: () => origin,
      load: (key: string) => this.load(key),
      write: (key: string, value: unknown) => this.write(key, value),
    } as unknown as OriginRegistry;
  }
}

export interface RigCacheOptions {
  l2?: L2Store;
  /** Follow the run's coherence stream (as the service's instances do); without it, a plain local cache. */
  coherent?: boolean;
  /**
   * Share no stampede protection with the rig's other caches: a lease namespace of its own and a
   * small L1 (a client of its own, as many of them as there are concurrent requests).
   */
  unshared?: boolean;
  graceMs?: number;
  breakerThreshold?: number;
  breakerOpenMs?: number;
  enqueueWrite?: (key: string, value: unknown) => Promise<void>;
}

const NO_COHERENCE = { announce: () => undefined, flush: async () => undefined };

/** Redis connection, L2 store and caches of one run, all under `cachet:lab:<run>:`. */
export class LabRig {
  private readonly closers: Array<() => Promise<unknown>> = [];
  private unsharedCount = 0;

  private constructor(
    readonly run: string,
    readonly url: string,
    readonly redis: Redis,
    readonly l2: L2Store,
  ) {}

  static async open(): Promise<LabRig> {
    const run = randomBytes(4).toString("hex");
    const url = redisUrl();
    const redis = connectRedis(url);
    const l2 = await createSingleL2({ client: redis, prefix: `cachet:lab:${run}:v:` });
    return new LabRig(run, url, redis, l2);
  }

  /** A TieredCache as one service instance would have it (optionally with a coherence bus). */
  async cache(origin: LabOrigin, options: RigCacheOptions = {}): Promise<TieredCache> {
    // An unshared cache is a client of its own: its own L2 namespace too, since the fill lease
    // lives at the L2 key and would otherwise protect it.
    const own = options.unshared ? this.unsharedCount++ : undefined;
    const l2 = own === undefined ? (options.l2 ?? this.l2) : await createSingleL2({ client: this.redis, prefix: `cachet:lab:${this.run}:u${own}:v:` });
    const cacheOptions = {
      l1: new L1Cache<Envelope>({
        maxEntries: options.unshared ? 16 : 10_000,
        maxBytes: options.unshared ? 64 * 1024 : 16 * 1024 * 1024,
        now: () => Date.now(),
      }),
      l2,
      origins: origin.asRegistry(),
      lease: new RedisLease({ redis: this.redis, prefix: `cachet:lab:${this.run}:lease:${own === undefined ? "" : `${own}:`}` }),
      enqueueWrite: options.enqueueWrite,
      graceMs: options.graceMs ?? 0,
      breakerThreshold: options.breakerThreshold,
      breakerOpenMs: options.breakerOpenMs,
      softTimeoutMs: 5_000,
      jitter: 0,
    };
    if (!options.coherent) return new TieredCache({ ...cacheOptions, coherence: NO_COHERENCE });
    const { cache, bus } = createTieredCache({
      ...cacheOptions,
      bus: { url: this.url, streamKey: `cachet:lab:${this.run}:coherence`, ignoreOwn: true, blockMs: 200 },
    });
    this.closers.push(() => bus.stop());
    await bus.start();
    return cache;
  }

  /** A write-behind queue on a stream of this run, writing to `origin`. */
  async writeBehind(origin: LabOrigin): Promise<WriteBehindQueue> {
    const queue = new WriteBehindQueue({
      redis: this.redis,
      blockingRedis: () => connectRedis(this.url),
      streamKey: `cachet:lab:${this.run}:write-behind`,
      consumer: `lab-${this.run}`,
      write: (key, value) => origin.write(key, value),
      blockMs: 200,
      pollMs: 20,
    });
    this.closers.push(() => queue.stop(2_000));
    await queue.start();
    return queue;
  }

  /** Stops the rig's buses and queues, deletes every key of the run and closes Redis. */
  async close(): Promise<void> {
    await Promise.allSettled(this.closers.map((close) => close()));
    try {
      for (const match of [`cachet:lab:${this.run}*`, `{cachet:lab:${this.run}*`]) {
        let cursor = "0";
        do {
          const [next, keys] = await this.redis.scan(cursor, "MATCH", match, "COUNT", 500);
          if (keys.length) await this.redis.unlink(...keys);
          cursor = next;
        } while (cursor !== "0");
      }
    } finally {
      this.redis.disconnect();
    }
  }
}
