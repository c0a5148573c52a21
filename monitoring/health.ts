import { api } from "encore.dev/api";
import { probeDependency, probeRedis, serviceHealth, type ServiceHealth } from "../lib/health";
import { redis } from "./config";
import { db } from "./db";

/** monitoring's own dependencies: Redis and its PostgreSQL database. */
export const health = api({ method: "GET", path: "/api/health/monitoring", expose: false }, async (): Promise<ServiceHealth> =>
  serviceHealth("monitoring", [probeRedis(redis()), probeDependency("postgres", () => db.queryRow`SELECT 1 AS ok`)]),
);
