/**
 * Builds Cachet instances for the in-process benchmarks the way `cache-manager/runtime.ts` does —
 * L1Cache, single-node L2, OriginRegistry, CoherenceBus, RedisLease, TieredCache — against the
 * benchmark's own Redis, each with its own connections, as separate processes would have.
 *
 * The `load:` namespace is a fast origin: an in-process SQL executor that answers every id at
 * once, so a miss measures the cache's own work (lease, L2 write, announcement), not a database.
 */
import type { Redis } from "ioredis";
import { CACHE_CONNECTION, connectRedis } from "../../lib/redis.ts";
import type { CoherenceBus } from "../../cache-manager/core/coherence/bus.ts";
import type { Envelope } from "../../cache-manager/core/envelope.ts";
import { L1Cache } from "../../cache-manager/core/l1/cache.ts";
import type { PolicyName } from "../../cache-manager/core/l1/policies/index.ts";
import { createSingleL2 } from "../../cache-manager/core/l2/single.ts";
import type { L2Store } from "../../cache-manager/core/l2/types.ts";
import { OriginRegistry } from "../../cache-manager/core/origins/registry.ts";
import { RedisLease } from "../../cache-manager/core/resilience/lease.ts";
import type { TieredCache } from "../../cache-manager/core/tiered.ts";
import { createTieredCache } from "../../cache-manager/core/tiered/factory.ts";

export const FAST_ORIGIN_NAMESPACE = "load:";

/** The value every subject stores: a product-like JSON object of about 250 bytes. */
export function sampleValue(id: string | number): Record<string, unknown> {
  return {
    id,
    name: `Product ${id}`,
    price: 19.99,
    currency: "EUR",
    stock: 42,
    tags: ["bench", "sample", "catalog"],
    description: "A value of typical size for a cached API response or database row, used by every subject alike.",
  };
}

export interface InstanceOptions {
  url: string;
  /** Redis key namespace shared by the instances of one scenario. */
  ns: string;
  l1?: { maxEntries: number; maxBytes: number; policy?: PolicyName };
  /** Extra hook run after the cache applied an invalidation (receiving side). */
  onInvalidate?: (keys: readonly string[]) => void;
  /** Extra hook run after the cache applied a pattern announcement (receiving side). */
  onInvalidatePattern?: (patterns: readonly string[]) => void;
  onFlush?: () => void;
  defaultTtlMs?: number;
}

export interface CachetInstance {
  cache: TieredCache;
  bus: CoherenceBus;
  l1: L1Cache<Envelope>;
  l2: L2Store;
  redis: Redis;
  origins: OriginRegistry;
  close(): Promise<void>;
}

export async function createCachetInstance(options: InstanceOptions): Promise<CachetInstance> {
  const { url, ns } = options;
  const redis = connectRedis(url, CACHE_CONNECTION); // as cache-manager/runtime.ts
  const l2 = await createSingleL2({ client: redis, prefix: `${ns}:v:` });
  const origins = await OriginRegistry.open({
    redis,
    keyPrefix: `${ns}:origins`,
    configs: [{ namespace: FAST_ORIGIN_NAMESPACE, kind: "sql", query: "SELECT value FROM fast WHERE id = $1" }],
    deps: { sql: () => async (_sql, params) => [{ value: sampleValue(String(params[0])) }] },
  });
  const l1 = new L1Cache<Envelope>({
    maxEntries: options.l1?.maxEntries ?? 100_000,
    maxBytes: options.l1?.maxBytes ?? 64 * 1024 * 1024,
    policy: options.l1?.policy ?? "w-tinylfu",
    now: () => Date.now(),
  });
  const { cache, bus } = createTieredCache({
    l1,
    l2,
    origins,
    bus: { url, streamKey: `${ns}:coherence`, ignoreOwn: true },
    listeners: { onInvalidate: options.onInvalidate, onInvalidatePattern: options.onInvalidatePattern, onFlush: options.onFlush },
    lease: new RedisLease({ redis, prefix: `${ns}:lease:` }),
    defaultTtlMs: options.defaultTtlMs ?? 10 * 60_000,
  });
  await bus.start();
  return {
    cache,
    bus,
    l1,
    l2,
    redis,
    origins,
    async close() {
      await bus.stop();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
