import { secret } from "encore.dev/config";
import { sharedRedis } from "../lib/redis";

/** Redis for this service (the Node host sets it; on Encore, set the REDIS_URL secret). */
const redisUrl = secret("REDIS_URL");

export const redis = () => sharedRedis(redisUrl() || "redis://127.0.0.1:6379");
