/**
 * The tiered cache's public shapes (reads, writes, options), its typed errors and its defaults.
 * Shared by the facade (`../tiered.ts`) and the parts it delegates to; free of side effects.
 */
import { CodedError } from "../../../lib/errors";
import type { CoherenceBus } from "../coherence/bus";
import type { L1Cache } from "../l1/cache";
import type { Envelope } from "../envelope";
import type { L2Store } from "../l2/types";
import type { PendingInvalidations } from "../l3/pending";
import type { L3Store } from "../l3/types";
import type { OriginRegistry } from "../origins/registry";
import type { Clock } from "../../../lib/clock";
import type { RedisLease } from "../resilience/lease";
import type { CacheEvents } from "../stats/events";

/** Where a read's value came from: `l3` is the durable backup tier, consulted after L2 and before the origin. */
export type Source = "l1" | "l2" | "l3" | "origin";
export type WriteMode = "cache-only" | "write-through" | "write-behind";
export const WRITE_MODES: readonly WriteMode[] = ["cache-only", "write-through", "write-behind"];

export interface CacheRead {
  key: string;
  value: unknown;
  source: Source;
  /** True when served from the grace period (a refresh is under way) or as a fallback. */
  stale: boolean;
  /** Milliseconds of freshness left (0 when stale). */
  ttlMs: number;
  tags: string[];
}

/** One key of `getMany`: its read, or `found: false` when nothing has it. */
export interface BatchRead {
  key: string;
  found: boolean;
  read?: CacheRead;
}

export interface BatchWrite {
  key: string;
  value: unknown;
  ttlMs?: number;
  tags?: string[];
  /**
   * The fill fence `beginFills` gave for the key before its value was loaded from the origin:
   * the entry is stored only if nothing changed the key since (see `l2/fence.ts`).
   */
  fence?: string;
}

export interface SetOptions {
  ttlMs?: number;
  tags?: string[];
  mode?: WriteMode;
  /**
   * `JSON.stringify(value)`, when the caller has it already (the PUT endpoint encodes the value to
   * check it can be stored): the stored envelope is built around it instead of encoding the value
   * again. Must be exactly that text.
   */
  valueJson?: string;
}

/** No value for the key: not cached, and no origin has it. */
export class CacheMissError extends CodedError {
  static override code = "E_CACHE_MISS";
}
/** The degradation level refuses the request. */
export class CacheUnavailableError extends CodedError {
  static override code = "E_CACHE_UNAVAILABLE";
}
/** A write mode that needs an origin writer for a key whose namespace has none. */
export class NoWriterError extends CodedError {
  static override code = "E_NO_WRITER";
}

/** What the cache needs of the coherence bus: announcing its L2 mutations. */
export type CoherencePort = Pick<CoherenceBus, "announce" | "flush">;

type SpanAttributes = Record<string, string | number | boolean>;

/**
 * Tracing of reads: a span per read and per tier it consults (`cache.get`, `cache.l1`,
 * `cache.l2`, `cache.origin`), children of whatever span is active. Absent, reads pay nothing.
 */
export interface CacheTracer {
  span<T>(name: string, attributes: SpanAttributes, run: (annotate: (more: SpanAttributes) => void) => T): T;
}

/**
 * A namespace's cache policy chosen at run time (Settings, admin): what it leaves out falls back
 * to the cache's options. `forKey` is called on every write and fill, so it must be a lookup.
 */
export interface NamespacePolicy {
  /** Freshness of values written without a TTL and of origin fills. */
  defaultTtlMs?: number;
  /** Whether the namespace's values are kept in L3 (and read from it). */
  l3?: boolean;
  /** How long L3 keeps a value after it was written. */
  l3RetentionMs?: number;
}

/** The L3 tier as this instance sees it (stats, health, dashboard). */
export interface L3Status {
  /** `off`: not configured; `ok`; `degraded`: its breaker is open or invalidations are waiting to reach it (reads skip it). */
  state: "off" | "ok" | "degraded";
  breaker: "closed" | "open" | "half-open";
  /** Invalidations L3 has not received yet; reads skip L3 until they are applied. */
  pendingInvalidations: number;
  /** Keys copied from L2 into L3 by this instance, and copy batches that failed. */
  copied: number;
  copyFailures: number;
  /**
   * How long the oldest write of the copier's last batch waited to reach L3, in ms (null before
   * a first batch). After Redis loses its data, writes younger than this may be missing from L3.
   */
  copierLagMs: number | null;
}

/** What `restoreFromL3` did with one page of L3 entries. */
export interface L3RestorePage {
  /** Entries written into L2 (through their fill fence: a key changed meanwhile is left alone). */
  restored: number;
  /** Entries not written: expired, or L2 holds the key already or it changed meanwhile. */
  skipped: number;
  /** Pass back for the next page; `null` once done. */
  cursor: string | null;
}

export interface CachePolicyPort {
  forKey(key: string): NamespacePolicy;
}

export interface TieredCacheOptions {
  l1: L1Cache<Envelope>;
  l2: L2Store;
  origins: OriginRegistry;
  /** Announces L2 mutations; its handlers must call `applyInvalidation` / `applyGap` (`createTieredCache` wires them). */
  coherence: CoherencePort;
  lease: RedisLease;
  /** Queues a write for the origin (write-behind); required for that mode. */
  enqueueWrite?: (key: string, value: unknown) => Promise<void>;
  /**
   * Called by a write-through before it writes the origin: no queued write-behind value of the
   * key may reach the origin after it (`WriteBehindQueue.supersede`). Set with `enqueueWrite`.
   */
  supersedeQueuedWrite?: (key: string) => Promise<void>;
  clock?: Clock;
  events?: CacheEvents;
  defaultTtlMs?: number;
  negativeTtlMs?: number;
  graceMs?: number;
  /** ±ratio applied to TTLs so keys written together do not expire together. */
  jitter?: number;
  softTimeoutMs?: number;
  hardTimeoutMs?: number;
  /**
   * How long a reader waits for another instance's fill of the key beyond the fill's own bound
   * (the holder's hard timeout, its lease renewed while it runs). A waiter never loads the key
   * itself while the fill's holder is alive.
   */
  leaseWaitMs?: number;
  /**
   * How long a fill's lease (its marker on the key) lives without renewal; its holder renews it
   * every third of that while the load runs, so a dead holder frees the key this soon.
   */
  leaseTtlMs?: number;
  /** L2 failures (consecutive) before the breaker opens, and how long it stays open. */
  breakerThreshold?: number;
  breakerOpenMs?: number;
  hotKeys?: number;
  tracer?: CacheTracer;
  /** Per-namespace policy from Settings; absent, every namespace uses the options above. */
  policy?: CachePolicyPort;
  /** The L3 backup tier (`tiered/l3.ts`); absent, reads go from L2 to the origin. */
  l3?: L3Options;
}

export interface L3Options {
  store: L3Store;
  /** Invalidations L3 could not take, shared by every instance (in Redis). */
  pending: PendingInvalidations;
  /** How long L3 keeps a value after it was copied, unless the namespace's policy says otherwise. */
  retentionMs: number;
  /** Whether namespaces without a policy of their own use L3; default true. */
  enabledByDefault?: boolean;
}

export const DEFAULTS = {
  defaultTtlMs: 5 * 60_000,
  negativeTtlMs: 30_000,
  graceMs: 60_000,
  jitter: 0.1,
  softTimeoutMs: 250,
  hardTimeoutMs: 5_000,
  leaseWaitMs: 5_000,
  leaseTtlMs: 3_000,
  breakerThreshold: 5,
  breakerOpenMs: 5_000,
  hotKeys: 100,
};

/** The options with every default applied, resolved once. */
export type ResolvedOptions = typeof DEFAULTS & TieredCacheOptions & { clock: Clock };

/** The freshness of a value written to `key` without a TTL: its namespace's policy, else the cache's default. */
export function defaultTtlFor(o: Pick<ResolvedOptions, "policy" | "defaultTtlMs">, key: string): number {
  return o.policy?.forKey(key).defaultTtlMs ?? o.defaultTtlMs;
}

export function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
