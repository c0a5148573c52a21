/**
 * The contract between the L1 cache and its eviction policies.
 *
 * The cache owns the entries (slots), the bounds and the TTLs; a policy only decides the order in
 * which slots leave when the cache is over a bound. Every method is O(1) (amortised where a
 * policy says so) and allocation-free except `describe`.
 */
import type { EntryTable } from "../entries";

export type PolicyName = "lru" | "lfu" | "w-tinylfu";

export const POLICY_NAMES: readonly PolicyName[] = ["lru", "lfu", "w-tinylfu"];

/** W-TinyLFU's three regions: new entries, main entries seen once, main entries seen again. */
export type Segment = "window" | "probation" | "protected";

/** What `L1Cache.info` reports about an entry's standing in its policy. */
export type PolicyEntryInfo = { policy: "lru" } | { policy: "lfu"; frequency: number } | { policy: "w-tinylfu"; segment: Segment; frequency: number };

/** What a policy may read from the cache that owns it. */
export interface PolicyContext {
  /** The cache's slots; policies read `sizes` from it (W-TinyLFU sizes its segments in bytes). */
  table: EntryTable<unknown>;
  maxEntries: number;
  maxBytes: number;
  /** Seeds the policy's own randomness (W-TinyLFU's admission jitter), for reproducible tests. */
  seed: number;
}

export interface EvictionPolicy {
  readonly name: PolicyName;
  /** The cache now has slots `0 .. capacity-1`. */
  grow(capacity: number): void;
  /** A new entry took `slot`; its size is already in `table.sizes`. */
  onInsert(slot: number, key: string): void;
  /** A hit on `slot`. */
  onAccess(slot: number): void;
  /** The value at `slot` was replaced in place; counts as an access. */
  onUpdate(slot: number, oldSizeBytes: number): void;
  /** The entry at `slot` is leaving for any reason; called while `table.sizes[slot]` still holds its size. */
  onRemove(slot: number): void;
  /**
   * The slot to evict next. Called only while the cache is over a bound, so it is never empty.
   * May reorder slots as a side effect (W-TinyLFU moves an admitted candidate into its main area).
   */
  selectVictim(): number;
  describe(slot: number): PolicyEntryInfo;
  /**
   * Visits every slot it holds, the one it would evict first first: what a reconfigured cache
   * hands to its next policy so that policy's first victims are this one's.
   */
  forEachInEvictionOrder(visit: (slot: number) => void): void;
  /** Forgets every slot. */
  clear(): void;
}
