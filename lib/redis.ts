import { Redis, type RedisOptions } from "ioredis";

/**
 * Opens an ioredis connection with the project's defaults: commands fail fast while the
 * connection is down (callers have breakers and retries of their own), reconnects back off up
 * to 2 s, and the connection never keeps the process alive on its own.
 */
export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    connectTimeout: 5000,
    lazyConnect: false,
    ...options,
  });
}
