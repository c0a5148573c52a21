import { secret } from "encore.dev/config";
import { sharedRedis } from "../lib/redis";

/** Redis for this service (the Node host sets it; on Encore, set the REDIS_URL secret). */
const redisUrl = secret("REDIS_URL");

export const redis = () => sharedRedis(redisUrl() || "redis://127.0.0.1:6379");

/**
 * How long an audit-chain verification answers later `GET /api/audit/verify` calls
 * (AUDIT_VERIFY_CACHE_MS, default 30 000; 0 walks the chain on every call).
 */
export function auditVerifyCacheMs(): number {
  const text = process.env.AUDIT_VERIFY_CACHE_MS;
  if (text === undefined || text === "") return 30_000;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`AUDIT_VERIFY_CACHE_MS must be a whole number of milliseconds, got "${text}"`);
  return value;
}
