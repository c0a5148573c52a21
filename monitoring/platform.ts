import { api } from "encore.dev/api";
import { cache_manager, invalidation, monitoring, warming } from "~encore/clients";
import { healthyOrUnavailable } from "../lib/api-errors";
import { combinedHealth, type PlatformHealth, type ServiceHealth } from "../lib/health";

export type { PlatformHealth };

const checks: Array<[string, () => Promise<ServiceHealth>]> = [
  ["cache-manager", () => cache_manager.health()],
  ["invalidation", () => invalidation.health()],
  ["warming", () => warming.health()],
  ["monitoring", () => monitoring.health()],
];

/**
 * The whole platform's health, for load balancers and the dashboard: every service's own check,
 * reached through typed clients. Answers 503 `unavailable` (with the same report in `details`)
 * when anything is unhealthy. A process that does not run monitoring answers the same path with
 * the health of the services it runs (infra/node-host/host.ts).
 */
export const platformHealth = api({ method: "GET", path: "/api/health", expose: true, auth: false }, async (): Promise<PlatformHealth> =>
  healthyOrUnavailable(await combinedHealth(checks)),
);
