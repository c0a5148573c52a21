/**
 * Publishes this cache-manager instance's metrics report every second (lib/metrics/report.ts),
 * for monitoring to merge: counters and latency sketches from the cache's events, gauges read
 * from the runtime (L1, breaker, degradation level, write-behind queue, coherence follower, L3).
 */
import type { Redis } from "ioredis";
import { startReporter } from "../lib/metrics/report";
import type { CoherenceBus } from "./core/coherence/bus";
import { CacheMetricsCollector, type CacheGauges } from "./core/stats/collector";
import type { CacheCounters } from "./core/stats/counters";
import type { TieredCache } from "./core/tiered";
import type { WriteBehindQueue } from "./core/writebehind/queue";

export interface ReportingRuntime {
  cache: TieredCache;
  writeBehind: WriteBehindQueue;
  coherence: CoherenceBus;
  counters: CacheCounters;
  instanceId: string;
}

export interface CacheReporting {
  collector: CacheMetricsCollector;
  stop(): Promise<void>;
}

/** The gauges the report carries; the queue is read from Redis and left out while it is down. */
async function readGauges(rt: ReportingRuntime): Promise<CacheGauges> {
  const wb = await rt.writeBehind.stats().catch(() => null);
  const bus = rt.coherence.stats();
  const l1 = rt.cache.l1Stats();
  return {
    l1: { bytes: l1.bytes, entries: l1.entries },
    breaker: rt.cache.breaker.state,
    level: rt.cache.level,
    writeBehind: wb && { depth: wb.depth, lagMs: wb.lagMs },
    coherence: { connected: bus.connected, lagMs: bus.lastEntryLatencyMs ?? null, gapsDetected: bus.gapsDetected },
    l3: rt.cache.l3Status(),
  };
}

/** Starts the per-second report of `rt` on `redis` (service "cache-manager"). */
export function startCacheReporting(rt: ReportingRuntime, redis: Redis, intervalMs = 1000): CacheReporting {
  const collector = new CacheMetricsCollector(rt.cache.events, rt.counters);
  const reporter = startReporter({
    redis,
    service: "cache-manager",
    instanceId: rt.instanceId,
    intervalMs,
    collect: async () => collector.content(await readGauges(rt)),
  });
  return {
    collector,
    async stop() {
      await reporter.stop();
      collector.close();
    },
  };
}
