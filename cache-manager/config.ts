import { secret } from "encore.dev/config";
import { sharedRedis } from "../lib/redis";

/** Redis for this service (the Node host sets it; on Encore, set the REDIS_URL secret). */
const redisSecret = secret("REDIS_URL");

export const redisUrl = () => redisSecret() || "redis://127.0.0.1:6379";
export const redis = () => sharedRedis(redisUrl());
