/**
 * Cache statistics: typed events, hot-key top-K (Space-Saving) and mergeable latency sketches
 * (DDSketch-style).
 */
export { SketchMismatchError, StatsArgumentError } from "../../../lib/metrics/errors.ts";
export {
  createCacheEvents,
  TypedEventBus,
  type CacheEventMap,
  type CacheEventName,
  type CacheEvents,
  CACHE_TIERS,
  type CacheTierName,
  type EventBusOptions,
} from "./events.ts";
export { LatencyHistogram, type HistogramJSON, type HistogramOptions } from "../../../lib/metrics/histogram.ts";
export { seededRandom } from "../../../lib/random.ts";
export { TopK, type TopKEntry, type TopKOptions } from "./topk.ts";
