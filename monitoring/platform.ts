import { api, APIError } from "encore.dev/api";
import { cache_manager, invalidation, monitoring, warming } from "~encore/clients";
import type { ServiceHealth } from "../lib/health";

export interface PlatformHealth {
  healthy: boolean;
  checkedAt: string;
  services: ServiceHealth[];
}

const checks: Array<[string, () => Promise<ServiceHealth>]> = [
  ["cache-manager", () => cache_manager.health()],
  ["invalidation", () => invalidation.health()],
  ["warming", () => warming.health()],
  ["monitoring", () => monitoring.health()],
];

/**
 * The whole platform's health, for load balancers and the dashboard: every service's own check,
 * reached through typed clients. Answers 503 `unavailable` (with the same report in `details`)
 * when anything is unhealthy.
 */
export const platformHealth = api(
  { method: "GET", path: "/api/health", expose: true, auth: false },
  async (): Promise<PlatformHealth> => {
    const services = await Promise.all(
      checks.map(([service, check]) =>
        check().catch((err: Error): ServiceHealth => ({
          service,
          healthy: false,
          dependencies: [{ name: "service", healthy: false, latencyMs: 0, error: err.message }],
        })),
      ),
    );
    const report = { healthy: services.every((s) => s.healthy), checkedAt: new Date().toISOString(), services };
    if (!report.healthy) {
      const down = services.filter((s) => !s.healthy).map((s) => s.service);
      throw APIError.unavailable(`unhealthy: ${down.join(", ")}`).withDetails(report);
    }
    return report;
  },
);
