/**
 * What the cache's parts (reads, writes, invalidation) share: the resolved options, the two
 * tiers, the events, and the degradation plan. Built once by the facade.
 */
import type { AccessPlan, DegradationLevel } from "../resilience/degradation";
import type { CacheEvents } from "../stats/events";
import type { TopK } from "../stats/topk";
import type { L3Tier } from "./l3";
import type { LocalTier } from "./local";
import type { ResolvedOptions } from "./options";
import type { RemoteTier } from "./remote";

export interface CacheContext {
  readonly o: ResolvedOptions;
  readonly local: LocalTier;
  readonly remote: RemoteTier;
  /** The L3 backup tier, when configured. */
  readonly l3?: L3Tier;
  readonly events: CacheEvents;
  readonly hot: TopK;
  /** The degradation plan for a read or a write; throws CacheUnavailableError when refused. */
  plan(kind: "read" | "write"): AccessPlan;
  /** The current degradation level (synced with the breaker). */
  level(): DegradationLevel;
}
