/**
 * Running totals of the cache's events for this instance (the stats endpoint and, later, the
 * per-second flush to monitoring). Error types are stable codes, so the map stays small.
 */
import type { CacheEvents } from "./events.ts";
import { LatencyHistogram } from "../../../lib/metrics/histogram.ts";

export interface CacheCounterSnapshot {
  /** Reads answered by each tier (`l3`: the backup tier, after L2 missed). */
  hits: { l1: number; l2: number; l3: number };
  misses: number;
  loads: { ok: number; failed: number };
  sets: number;
  deletes: number;
  staleServed: number;
  evictions: number;
  errors: Record<string, number>;
  loadLatencyMs: { p50: number; p99: number };
}

export class CacheCounters {
  private readonly totals: Omit<CacheCounterSnapshot, "loadLatencyMs"> = {
    hits: { l1: 0, l2: 0, l3: 0 },
    misses: 0,
    loads: { ok: 0, failed: 0 },
    sets: 0,
    deletes: 0,
    staleServed: 0,
    evictions: 0,
    errors: {},
  };
  private readonly loadLatency = new LatencyHistogram();

  constructor(events: CacheEvents) {
    events.on("hit", ({ tier }) => void (this.totals.hits[tier] += 1));
    events.on("hits", ({ keys, tier }) => void (this.totals.hits[tier] += keys.length));
    events.on("miss", () => void (this.totals.misses += 1));
    events.on("load", ({ ms, ok }) => {
      this.totals.loads[ok ? "ok" : "failed"] += 1;
      this.loadLatency.record(ms);
    });
    events.on("set", () => void (this.totals.sets += 1));
    events.on("delete", () => void (this.totals.deletes += 1));
    events.on("stale-served", () => void (this.totals.staleServed += 1));
    events.on("evict", () => void (this.totals.evictions += 1));
    events.on("error", ({ type }) => void (this.totals.errors[type] = (this.totals.errors[type] ?? 0) + 1));
  }

  snapshot(): CacheCounterSnapshot {
    const empty = this.loadLatency.count === 0;
    return {
      ...structuredClone(this.totals),
      loadLatencyMs: { p50: empty ? 0 : this.loadLatency.quantile(0.5), p99: empty ? 0 : this.loadLatency.quantile(0.99) },
    };
  }
}
