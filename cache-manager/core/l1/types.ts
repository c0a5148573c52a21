/**
 * The public types of the L1 cache: its options, what it reports, and its argument error.
 */
import { CodedError } from "../../../lib/errors";
import type { PolicyEntryInfo, PolicyName } from "./policies";

export type EvictionReason = "capacity" | "expired" | "deleted" | "replaced";

/** Hears an entry leave the cache; `value` and `sizeBytes` are those of the entry that left. */
export type EvictListener<V> = (key: string, reason: EvictionReason, value: V, sizeBytes: number) => void;

/** What `L1Cache.reconfigure` can change at run time. */
export interface L1Bounds {
  /** Most entries held at once: a positive integer up to 2^30. */
  maxEntries: number;
  /** Most bytes held at once (the sum of the entries' `sizeBytes`): a positive safe integer. */
  maxBytes: number;
  /** Default `"w-tinylfu"`, the best hit ratio on skewed and scan-polluted workloads. */
  policy?: PolicyName;
}

export interface L1CacheOptions<V> extends L1Bounds {
  /**
   * The clock TTLs are measured on, in milliseconds. Default `performance.now()`: monotonic, so a
   * wall-clock adjustment cannot expire everything or nothing. Tests pass a fake clock.
   */
  now?: () => number;
  /** Slots examined for expired entries on each `set` that finds TTL'd entries; default 8. */
  sweepPerWrite?: number;
  onEvict?: EvictListener<V>;
  /** Seeds W-TinyLFU's admission jitter; default fixed, so runs are reproducible. */
  seed?: number;
}

export interface L1SetOptions {
  /** The value's size in bytes (a non-negative safe integer), e.g. its serialized length. */
  sizeBytes: number;
  /** Time to live in milliseconds (positive, finite); omitted: no expiry. */
  ttlMs?: number;
  tags?: readonly string[];
}

export interface L1EntryInfo {
  sizeBytes: number;
  /** Milliseconds until expiry, or `null` for an entry without a TTL. */
  ttlRemainingMs: number | null;
  tags: readonly string[];
  /** The policy's view: LFU's access count, W-TinyLFU's region and estimated frequency. */
  policy: PolicyEntryInfo;
}

export interface L1Stats {
  entries: number;
  bytes: number;
  maxEntries: number;
  maxBytes: number;
  hits: number;
  misses: number;
  /** Entries removed by the policy to respect a bound. */
  evictions: number;
  /** Entries removed because their TTL passed. */
  expirations: number;
  /** `set` calls that left no entry: too large, or lost W-TinyLFU admission (also an eviction). */
  rejections: number;
  policy: PolicyName;
}

/** One page of `scan`: `cursor` 0 means the scan is complete. */
export interface L1ScanPage {
  cursor: number;
  keys: string[];
}

/** Thrown for an option or argument the cache cannot accept; the message says what to fix. */
export class L1ArgumentError extends CodedError {
  static override code = "E_L1_ARGUMENT";
}
