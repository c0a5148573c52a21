import { secret } from "encore.dev/config";
import { configReader } from "../lib/config";
import { sharedRedis } from "../lib/redis";

/** Redis for this service (the Node host sets it; on Encore, set the REDIS_URL secret). */
const redisSecret = secret("REDIS_URL");

/** The L3 keyring (`lib/l3-keyring.ts`); on Encore, `encore secret set CACHE_L3_KEY`. */
const l3KeySecret = secret("CACHE_L3_KEY");

/** This service's settings (lib/config/settings.ts), read once. */
export const config = configReader({ REDIS_URL: redisSecret, CACHE_L3_KEY: l3KeySecret });

export const redisUrl = () => config().REDIS_URL ?? "redis://127.0.0.1:6379";
export const redis = () => sharedRedis(redisUrl());
