import { startRedisServer, type EmbeddedRedis } from "../embedded/redis.ts";

/**
 * Vitest global setup: one `redis-server` for the whole run when REDIS_URL is unset (tests
 * isolate themselves by key prefix), and the generated `~encore/*` modules. Test files and the
 * host processes they spawn read REDIS_URL from the environment.
 */
export default async function setup(): Promise<() => Promise<void>> {
  let redis: EmbeddedRedis | undefined;
  if (!process.env.REDIS_URL) {
    redis = await startRedisServer();
    process.env.REDIS_URL = redis.url;
  }
  return async () => {
    await redis?.stop();
  };
}
