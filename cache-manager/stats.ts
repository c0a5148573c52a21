import { api } from "encore.dev/api";
import type { L1Stats } from "./core/l1";
import type { CacheCounterSnapshot } from "./core/stats/counters";
import type { L3Status } from "./core/tiered/options";
import { canSeeKey, requireRole } from "../lib/auth/access";
import { edge } from "./errors";
import { cacheRuntime } from "./runtime";

export interface InstanceStats {
  instanceId: string;
  level: string;
  breaker: string;
  l1: L1Stats;
  counters: CacheCounterSnapshot;
  /** Null while Redis is unreachable. */
  writeBehind: { depth: number; lagMs: number; deadLettered: number } | null;
  coherence: { connected: boolean; gapsDetected: number; lastEntryLatencyMs: number | null };
  l2: Array<{ node: string; usedMemory: number; keys: number; healthy: boolean }>;
  /** The L3 backup tier as this instance sees it; `state: "off"` when it is not configured. */
  l3: L3Status;
  hotKeys: Array<{ key: string; count: number }>;
}

/** Hot keys looked at before filtering by namespace, so a limited token still gets up to 20. */
const HOT_KEYS_CONSIDERED = 200;

/** This instance's cache: L1 size and policy, hit counts, breaker, degradation, queue depth, L2, L3. Viewer. */
export const stats = api({ method: "GET", path: "/api/stats", expose: true, auth: true }, async (): Promise<InstanceStats> =>
  edge(async () => {
    const who = requireRole("viewer");
    const rt = await cacheRuntime();
    // Stats must answer during an outage: that is when operators look at them.
    const wb = await rt.writeBehind.stats().catch(() => null);
    const bus = rt.coherence.stats();
    const l2 = await rt.cache.l2Info();
    return {
      instanceId: rt.instanceId,
      level: rt.cache.level,
      breaker: rt.cache.breaker.state,
      l1: rt.cache.l1Stats(),
      counters: rt.counters.snapshot(),
      writeBehind: wb && { depth: wb.depth, lagMs: wb.lagMs, deadLettered: wb.deadLettered },
      coherence: { connected: bus.connected, gapsDetected: bus.gapsDetected, lastEntryLatencyMs: bus.lastEntryLatencyMs ?? null },
      l2: l2.map((n) => ({ node: n.node, usedMemory: n.used_memory, keys: n.keys, healthy: n.healthy })),
      l3: rt.cache.l3Status(),
      // A namespace-limited token sees only its own hot keys.
      hotKeys: rt.cache.hot
        .top(HOT_KEYS_CONSIDERED)
        .filter(({ key }) => canSeeKey(who, key))
        .slice(0, 20)
        .map(({ key, count }) => ({ key, count })),
    };
  }),
);
