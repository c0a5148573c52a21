/** The L1 tier: an in-process cache bounded by entries and bytes. See `cache.ts`. */
export { L1Cache } from "./cache";
export {
  L1ArgumentError,
  type EvictionReason,
  type EvictListener,
  type L1Bounds,
  type L1CacheOptions,
  type L1EntryInfo,
  type L1ScanPage,
  type L1SetOptions,
  type L1Stats,
} from "./types";
export { POLICY_NAMES, type PolicyEntryInfo, type PolicyName, type Segment } from "./policies";
export { estimateByteSize, utf8Length } from "./size";
