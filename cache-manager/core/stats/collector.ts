/**
 * What one cache-manager instance reports to monitoring each second (lib/metrics/report.ts):
 * cumulative counters by tier and type, gauges of its current state, latency sketches per tier,
 * and its most hit and most missed keys. It subscribes to the cache's events and reads the
 * counters; the caller supplies the gauges it cannot see (L1 size, breaker, queue, coherence).
 *
 * Pure: no IO, no timers. `cache-manager/reporting.ts` wires it to the runtime and to Redis.
 *
 * @example
 * const collector = new CacheMetricsCollector(cache.events, counters);
 * startReporter({ redis, service: "cache-manager", instanceId, collect: () => collector.content(readGauges()) });
 */
import { CACHE_COUNTERS, CACHE_GAUGES, CACHE_SKETCHES, REQUEST_TIERS, type RequestTier } from "../../../lib/metrics/names.ts";
import type { MetricSample, ReportContent } from "../../../lib/metrics/report.ts";
import { listOf } from "../../../lib/literal-union.ts";
import type { BreakerState } from "../resilience/breaker.ts";
import type { L3Status } from "../tiered/options.ts";
import { DEGRADATION_LEVELS, type DegradationLevel } from "../resilience/degradation.ts";
import type { Clock } from "../../../lib/clock.ts";
import type { CacheCounters } from "./counters.ts";
import { CACHE_TIERS, type CacheEvents } from "./events.ts";
import { LatencyHistogram } from "../../../lib/metrics/histogram.ts";
import { TopK } from "./topk.ts";

/** The instance state the events do not carry. */
export interface CacheGauges {
  l1: { bytes: number; entries: number };
  breaker: BreakerState;
  level: DegradationLevel;
  /** Null while Redis is unreachable (the gauges are then left out of the report). */
  writeBehind: { depth: number; lagMs: number } | null;
  coherence: { connected: boolean; lagMs: number | null; gapsDetected: number };
  /** `TieredCache.l3Status()`: reported as it is, `off` included, so every instance says whether it has L3. */
  l3: L3Status;
}

export interface CollectorOptions {
  /** Keys listed per top-keys list (default 20). */
  topKeys?: number;
  /** At most this many error types are reported; the rest are summed as `other` (default 32). */
  maxErrorTypes?: number;
  clock?: Clock;
}

const BREAKER_STATES = listOf<BreakerState>()("closed", "open", "half-open");
const L3_STATES = listOf<L3Status["state"]>()("off", "ok", "degraded");

export class CacheMetricsCollector {
  private readonly requests = new Map<RequestTier, LatencyHistogram>(REQUEST_TIERS.map((tier) => [tier, new LatencyHistogram()]));
  private readonly loads = new LatencyHistogram();
  readonly hitKeys: TopK;
  readonly missKeys: TopK;
  private readonly topKeys: number;
  private readonly maxErrorTypes: number;
  private readonly unsubscribe: Array<() => void>;

  constructor(
    events: CacheEvents,
    private readonly counters: CacheCounters,
    options: CollectorOptions = {},
  ) {
    this.topKeys = options.topKeys ?? 20;
    this.maxErrorTypes = options.maxErrorTypes ?? 32;
    // Popularity fades by half every minute, so the lists follow changing traffic.
    const decay = { intervalMs: 60_000, factor: 0.5 };
    this.hitKeys = new TopK({ k: this.topKeys, decay, clock: options.clock });
    this.missKeys = new TopK({ k: this.topKeys, decay, clock: options.clock });
    this.unsubscribe = [
      events.on("request", ({ source, ms }) => this.requests.get(source)?.record(Math.max(0, ms))),
      events.on("load", ({ ms }) => this.loads.record(Math.max(0, ms))),
      events.on("hit", ({ key }) => this.hitKeys.offer(key)),
      events.on("hits", ({ keys, tier, ms }) => {
        this.hitKeys.offerAll(keys);
        if (keys.length > 0) this.requests.get(tier)?.record(Math.max(0, ms) / keys.length, keys.length);
      }),
      events.on("miss", ({ key }) => this.missKeys.offer(key)),
    ];
  }

  /** Stops listening to the cache's events. */
  close(): void {
    for (const off of this.unsubscribe) off();
  }

  /** The report content now: cumulative counters and sketches, current gauges. */
  content(gauges: CacheGauges): ReportContent {
    const totals = this.counters.snapshot();
    const counters: MetricSample[] = [
      ...CACHE_TIERS.map((tier) => ({ name: CACHE_COUNTERS.hits, labels: { tier }, value: totals.hits[tier] })),
      { name: CACHE_COUNTERS.misses, value: totals.misses },
      { name: CACHE_COUNTERS.loads, labels: { result: "ok" }, value: totals.loads.ok },
      { name: CACHE_COUNTERS.loads, labels: { result: "failed" }, value: totals.loads.failed },
      { name: CACHE_COUNTERS.sets, value: totals.sets },
      { name: CACHE_COUNTERS.deletes, value: totals.deletes },
      { name: CACHE_COUNTERS.evictions, value: totals.evictions },
      { name: CACHE_COUNTERS.staleServed, value: totals.staleServed },
      { name: CACHE_COUNTERS.coherenceGaps, value: gauges.coherence.gapsDetected },
      { name: CACHE_COUNTERS.l3Copied, value: gauges.l3.copied },
      { name: CACHE_COUNTERS.l3CopyFailures, value: gauges.l3.copyFailures },
      ...this.errorSamples(totals.errors),
    ];
    const samples: MetricSample[] = [
      { name: CACHE_GAUGES.sizeBytes, labels: { tier: "l1" }, value: gauges.l1.bytes },
      { name: CACHE_GAUGES.entries, labels: { tier: "l1" }, value: gauges.l1.entries },
      { name: CACHE_GAUGES.breakerOpen, value: gauges.breaker === "closed" ? 0 : 1 },
      ...BREAKER_STATES.map((state) => ({ name: CACHE_GAUGES.breakerState, labels: { state }, value: state === gauges.breaker ? 1 : 0 })),
      ...DEGRADATION_LEVELS.map((level) => ({ name: CACHE_GAUGES.degradationLevel, labels: { level }, value: level === gauges.level ? 1 : 0 })),
      { name: CACHE_GAUGES.coherenceConnected, value: gauges.coherence.connected ? 1 : 0 },
      ...L3_STATES.map((state) => ({ name: CACHE_GAUGES.l3State, labels: { state }, value: state === gauges.l3.state ? 1 : 0 })),
      ...BREAKER_STATES.map((state) => ({ name: CACHE_GAUGES.l3BreakerState, labels: { state }, value: state === gauges.l3.breaker ? 1 : 0 })),
      { name: CACHE_GAUGES.l3PendingInvalidations, value: gauges.l3.pendingInvalidations },
    ];
    if (gauges.l3.copierLagMs !== null) samples.push({ name: CACHE_GAUGES.l3CopierLagSeconds, value: gauges.l3.copierLagMs / 1000 });
    if (gauges.coherence.lagMs !== null) samples.push({ name: CACHE_GAUGES.coherenceLagSeconds, value: gauges.coherence.lagMs / 1000 });
    if (gauges.writeBehind) {
      samples.push({ name: CACHE_GAUGES.writeBehindDepth, value: gauges.writeBehind.depth });
      samples.push({ name: CACHE_GAUGES.writeBehindLagSeconds, value: gauges.writeBehind.lagMs / 1000 });
    }
    return {
      counters,
      gauges: samples,
      sketches: [
        ...[...this.requests].map(([tier, sketch]) => ({ name: CACHE_SKETCHES.requestDuration, labels: { tier }, sketch: sketch.toJSON() })),
        { name: CACHE_SKETCHES.loadDuration, sketch: this.loads.toJSON() },
      ],
      topKeys: {
        hits: this.hitKeys.top(this.topKeys).map(({ key, count }) => ({ key, count })),
        misses: this.missKeys.top(this.topKeys).map(({ key, count }) => ({ key, count })),
      },
    };
  }

  /** Error counters by type, the most frequent `maxErrorTypes` kept and the rest summed as `other`. */
  private errorSamples(errors: Record<string, number>): MetricSample[] {
    const sorted = Object.entries(errors).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const kept = sorted.slice(0, this.maxErrorTypes).map(([type, value]) => ({ name: CACHE_COUNTERS.errors, labels: { type }, value }));
    const rest = sorted.slice(this.maxErrorTypes).reduce((sum, [, n]) => sum + n, 0);
    return rest > 0 ? [...kept, { name: CACHE_COUNTERS.errors, labels: { type: "other" }, value: rest }] : kept;
  }
}
