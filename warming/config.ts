import { secret } from "encore.dev/config";
import { configReader } from "../lib/config";
import { sharedRedis } from "../lib/redis";

/** Redis for this service (the Node host sets it; on Encore, set the REDIS_URL secret). */
const redisUrl = secret("REDIS_URL");

/** This service's settings (lib/config/settings.ts), read once. */
export const config = configReader({ REDIS_URL: redisUrl });

export const redis = () => sharedRedis(config().REDIS_URL ?? "redis://127.0.0.1:6379");

/** Engine settings (WARMING_* in the README's configuration table). */
export const warmingSettings = () => {
  const c = config();
  return {
    /** Runs in flight across every warming instance. */
    maxRunning: c.WARMING_MAX_RUNNING,
    /** Runs in flight in one instance. */
    localSlots: c.WARMING_LOCAL_SLOTS,
    /** A run whose worker has not renewed its lease for this long is failed. */
    leaseMs: c.WARMING_LEASE_MS,
    heartbeatMs: c.WARMING_HEARTBEAT_MS,
    pollMs: c.WARMING_POLL_MS,
    batchRetries: c.WARMING_BATCH_RETRIES,
    retryDelayMs: c.WARMING_RETRY_DELAY_MS,
  };
};
