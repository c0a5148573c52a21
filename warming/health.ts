import { api } from "encore.dev/api";
import { probeDependency, probeRedis, serviceHealth, type ServiceHealth } from "../lib/health";
import { redis } from "./config";
import { db } from "./db";

/** warming's own dependencies: Redis and its PostgreSQL database. */
export const health = api({ method: "GET", path: "/api/health/warming", expose: false }, async (): Promise<ServiceHealth> =>
  serviceHealth("warming", [probeRedis(redis()), probeDependency("postgres", () => db.queryRow`SELECT 1 AS ok`)]),
);
