/**
 * This instance's tiered cache, built once from configuration on first use: L1 sized by
 * CACHE_L1_MAX_BYTES / CACHE_L1_MAX_ENTRIES / CACHE_L1_POLICY; L2 on REDIS_URL, or on a Redis
 * Cluster / a ring of nodes (CACHE_L2_MODE, CACHE_L2_NODES, CACHE_L2_REPLICAS) while REDIS_URL
 * keeps the control data (coherence stream, leases, queue, origins); origins from
 * CACHE_ORIGINS_FILE plus the demo `product:` origin (CACHE_DEMO_LATENCY_MS of added latency),
 * coherence on a Redis Stream (CACHE_COHERENCE_MAX_OUTAGE_MS: past it without a read, reads skip L1 — level
 * `skip-l1` — and reconnecting is a gap that clears L1),
 * write-behind from a Redis Stream queue (CACHE_WRITE_BEHIND_CLAIM_IDLE_MS: a dead instance's
 * writes are taken over after this long; CACHE_WRITE_BEHIND_CONCURRENCY); origin loads answer stale
 * after CACHE_SOFT_TIMEOUT_MS and are aborted after CACHE_HARD_TIMEOUT_MS.
 */
import { randomUUID } from "node:crypto";
import log from "encore.dev/log";
import { CACHE_CONNECTION, connectRedis, waitReady } from "../lib/redis";
import type { CoherenceBus } from "./core/coherence/bus";
import type { Envelope } from "./core/envelope";
import { L1Cache } from "./core/l1/cache";
import type { PolicyName } from "./core/l1/policies";
import { createL2 } from "./core/l2/config";
import { demoProductOrigin } from "./core/origins/demo";
import { OriginRegistry } from "./core/origins/registry";
import { RedisLease } from "./core/resilience/lease";
import { CacheCounters } from "./core/stats/counters";
import type { TieredCache } from "./core/tiered";
import { createTieredCache } from "./core/tiered/factory";
import { WriteBehindQueue } from "./core/writebehind/queue";
import { startCacheReporting, type CacheReporting } from "./reporting";
import { redisUrl } from "./config";
import { db } from "./db";

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);

export interface CacheRuntime {
  cache: TieredCache;
  origins: OriginRegistry;
  writeBehind: WriteBehindQueue;
  coherence: CoherenceBus;
  counters: CacheCounters;
  instanceId: string;
  /** The per-second metrics report to monitoring. */
  reporting: CacheReporting;
}

let runtime: Promise<CacheRuntime> | undefined;

/** The instance's cache, created on first call. */
export function cacheRuntime(): Promise<CacheRuntime> {
  runtime ??= build().catch((error) => {
    runtime = undefined;
    throw error;
  });
  return runtime;
}

async function build(): Promise<CacheRuntime> {
  const url = redisUrl();
  const instanceId = `cm-${process.pid}-${randomUUID().slice(0, 6)}`;
  const redis = connectRedis(url, CACHE_CONNECTION);
  if (!(await waitReady(redis, 10_000))) throw new Error(`Redis at ${url} is not reachable`);
  const l2 = await createL2(
    { mode: process.env.CACHE_L2_MODE, nodes: process.env.CACHE_L2_NODES, replicas: env("CACHE_L2_REPLICAS", 2), prefix: "cachet:v:" },
    redis,
  );
  const origins = await OriginRegistry.open({
    redis,
    keyPrefix: "cachet:origins",
    configFile: process.env.CACHE_ORIGINS_FILE,
    configs: process.env.CACHE_ORIGINS_FILE ? undefined : [demoProductOrigin({ addedLatencyMs: env("CACHE_DEMO_LATENCY_MS", 50), database: "origins" })],
    deps: { sql: (database) => (database === undefined || database === "origins" ? (text, params) => db.rawQueryAll(text, ...(params as never[])) : undefined) },
  });
  origins.watch(1_000);
  const writeBehind = new WriteBehindQueue({
    redis,
    blockingRedis: () => connectRedis(url),
    streamKey: "cachet:write-behind",
    consumer: instanceId,
    write: (key, value) => origins.write(key, value),
    claimIdleMs: env("CACHE_WRITE_BEHIND_CLAIM_IDLE_MS", 30_000),
    concurrency: env("CACHE_WRITE_BEHIND_CONCURRENCY", 8),
  });
  const { cache, bus: coherence } = createTieredCache({
    l1: new L1Cache<Envelope>({
      maxEntries: env("CACHE_L1_MAX_ENTRIES", 100_000),
      maxBytes: env("CACHE_L1_MAX_BYTES", 64 * 1024 * 1024),
      policy: (process.env.CACHE_L1_POLICY as PolicyName | undefined) ?? "w-tinylfu",
      now: () => Date.now(),
    }),
    l2,
    origins,
    bus: { url, instanceId, ignoreOwn: true, maxOutageMs: env("CACHE_COHERENCE_MAX_OUTAGE_MS", 30_000) },
    lease: new RedisLease({ redis, prefix: "cachet:lease:" }),
    enqueueWrite: async (key, value) => void (await writeBehind.enqueue(key, value)),
    supersedeQueuedWrite: (key) => writeBehind.supersede(key),
    defaultTtlMs: env("CACHE_DEFAULT_TTL_MS", 5 * 60_000),
    graceMs: env("CACHE_GRACE_MS", 60_000),
    softTimeoutMs: env("CACHE_SOFT_TIMEOUT_MS", 250),
    hardTimeoutMs: env("CACHE_HARD_TIMEOUT_MS", 5_000),
  });
  // A queued write now at the origin invalidates what the cache took from the origin meanwhile.
  writeBehind.onApplied(async (key) => void (await cache.delete([key])));
  const counters = new CacheCounters(cache.events);
  await coherence.start();
  await writeBehind.start();
  const reporting = startCacheReporting({ cache, writeBehind, coherence, counters, instanceId }, redis);
  return { cache, origins, writeBehind, coherence, counters, instanceId, reporting };
}

// Built when the service starts, not on its first request: an instance that serves no traffic
// must still follow the coherence stream and take over queued writes of instances that died.
cacheRuntime().catch((error) => log.warn("cache runtime not ready yet; retrying on the next request", { error: String(error) }));
