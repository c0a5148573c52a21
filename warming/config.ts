import { secret } from "encore.dev/config";
import { sharedRedis } from "../lib/redis";

/** Redis for this service (the Node host sets it; on Encore, set the REDIS_URL secret). */
const redisUrl = secret("REDIS_URL");

export const redis = () => sharedRedis(redisUrl() || "redis://127.0.0.1:6379");

const env = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
};

/** Engine settings, read once (environment variables; defaults suit production). */
export const warmingSettings = () => ({
  /** Runs in flight across every warming instance. */
  maxRunning: env("WARMING_MAX_RUNNING", 4),
  /** Runs in flight in one instance. */
  localSlots: env("WARMING_LOCAL_SLOTS", env("WARMING_MAX_RUNNING", 4)),
  /** A run whose worker has not renewed its lease for this long is failed. */
  leaseMs: env("WARMING_LEASE_MS", 30_000),
  heartbeatMs: env("WARMING_HEARTBEAT_MS", Math.floor(env("WARMING_LEASE_MS", 30_000) / 3)),
  pollMs: env("WARMING_POLL_MS", 1_000),
  batchRetries: env("WARMING_BATCH_RETRIES", 2),
  retryDelayMs: env("WARMING_RETRY_DELAY_MS", 200),
});
