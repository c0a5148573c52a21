import { Redis, type RedisOptions } from "ioredis";

/**
 * Opens an ioredis connection with the project's defaults: commands fail fast while the
 * connection is down (callers have breakers and retries of their own), reconnects back off up
 * to 2 s, and the connection never keeps the process alive on its own.
 */
export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    connectTimeout: 5000,
    lazyConnect: false,
    ...options,
  });
  // Commands fail with the connection's error anyway; without a listener ioredis prints every
  // reconnection attempt as an "unhandled error event".
  redis.on("error", () => undefined);
  return redis;
}

/**
 * The cache's own connection (L2, leases, queue): fail fast while Redis is unreachable (no offline
 * queue), so the breaker and L1 take over instead of requests hanging until reconnection.
 * (Auto-pipelining was tried: no measurable gain on L2 hits, which already share one MGET.)
 */
export const CACHE_CONNECTION: RedisOptions = { enableOfflineQueue: false };

const shared = new Map<string, Redis>();

/**
 * One command connection per URL for the whole process (ioredis pipelines concurrent commands
 * over it). Blocking commands (XREAD BLOCK, BLPOP) need a connection of their own.
 */
export function sharedRedis(url: string): Redis {
  let redis = shared.get(url);
  if (!redis || redis.status === "end") {
    redis = connectRedis(url);
    shared.set(url, redis);
  }
  return redis;
}

/** Closes the shared connections (graceful shutdown, tests). */
export async function closeSharedRedis(): Promise<void> {
  const all = [...shared.values()];
  shared.clear();
  await Promise.all(all.map((r) => r.quit().catch(() => r.disconnect())));
}
