/**
 * One place that wires a cache instance together: L1, L2, the origins, the coherence bus and
 * the tiered cache. The bus's handlers need the cache's local state and the cache needs the bus;
 * the local tier is built first, so neither waits for the other.
 *
 * @example
 * const { cache, bus } = createTieredCache({ l1, l2, origins, lease, bus: { url, streamKey } });
 * await bus.start();
 */
import { CoherenceBus, type CoherenceBusOptions } from "../coherence/bus";
import type { CoherenceHandlers } from "../coherence/follower";
import { systemClock } from "../../../lib/clock";
import { TieredCache } from "../tiered";
import { LocalTier } from "./local";
import { DEFAULTS, type TieredCacheOptions } from "./options";

/** Extra listeners called after the cache has applied an announcement (tests, benchmarks). */
export type CoherenceListeners = Partial<Pick<CoherenceHandlers, "onInvalidate" | "onInvalidatePattern" | "onFlush">>;

export interface CoherentCacheOptions extends Omit<TieredCacheOptions, "coherence"> {
  /** The bus's options, without its handlers (the cache provides them). */
  bus: Omit<CoherenceBusOptions, keyof CoherenceHandlers>;
  listeners?: CoherenceListeners;
}

export interface CoherentCache {
  cache: TieredCache;
  /** Not started: `await bus.start()` before serving, `bus.stop()` on shutdown. */
  bus: CoherenceBus;
}

export function createTieredCache(options: CoherentCacheOptions): CoherentCache {
  const { bus: busOptions, listeners, ...cacheOptions } = options;
  const local = new LocalTier(options.l1, options.clock ?? systemClock, options.graceMs ?? DEFAULTS.graceMs);
  const handlers = local.handlers();
  const bus = new CoherenceBus({
    ...busOptions,
    ...handlers,
    onInvalidate: (keys, meta) => {
      handlers.onInvalidate(keys, meta);
      return listeners?.onInvalidate?.(keys, meta);
    },
    onInvalidatePattern: (patterns, meta) => {
      handlers.onInvalidatePattern!(patterns, meta);
      return listeners?.onInvalidatePattern?.(patterns, meta);
    },
    onFlush: (meta) => {
      handlers.onFlush(meta);
      return listeners?.onFlush?.(meta);
    },
    // Past the outage bound, L1 may hold values changed elsewhere: reads skip it (level `skip-l1`)
    // until reading resumed and the reconnect's gap cleared it. Called only once the bus started.
    onOutage: (lost) => void cache.degradation.update({ coherenceLost: lost }),
  });
  const cache: TieredCache = new TieredCache({ ...cacheOptions, coherence: bus }, local);
  return { cache, bus };
}
