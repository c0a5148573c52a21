import { secret } from "encore.dev/config";
import { configReader } from "../lib/config";
import { sharedRedis } from "../lib/redis";

/** Redis for this service (the Node host sets it; on Encore, set the REDIS_URL secret). */
const redisUrl = secret("REDIS_URL");

/** This service's settings (lib/config/settings.ts), read once. */
export const config = configReader({ REDIS_URL: redisUrl });

export const redis = () => sharedRedis(config().REDIS_URL ?? "redis://127.0.0.1:6379");

/**
 * How long an audit-chain verification answers later `GET /api/audit/verify` calls
 * (AUDIT_VERIFY_CACHE_MS; 0 walks the chain on every call).
 */
export const auditVerifyCacheMs = () => config().AUDIT_VERIFY_CACHE_MS;
