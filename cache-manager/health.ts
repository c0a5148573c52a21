import { api } from "encore.dev/api";
import { probeRedis, serviceHealth, type ServiceHealth } from "../lib/health";
import { redis } from "./config";

/** cache-manager's own dependencies: Redis (L2). */
export const health = api({ method: "GET", path: "/api/health/cache-manager", expose: false }, async (): Promise<ServiceHealth> =>
  serviceHealth("cache-manager", [probeRedis(redis())]),
);
