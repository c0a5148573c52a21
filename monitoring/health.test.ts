/** `GET /api/health` reports every service, through typed clients, in one process and across several. */
import { describe, expect, test } from "vitest";
import { startHostProcess } from "../infra/node-host/testing/hosts";

const names = (body: { services: Array<{ service: string }> }) => body.services.map((s) => s.service);

describe("platform health", () => {
  // The whole platform in one process: its start can take more than vitest's default 30 s on a loaded machine.
  test("one process: 200 with every service and its dependencies healthy", async () => {
    const host = await startHostProcess();
    try {
      const response = await fetch(`${host.url}/api/health`);
      const body = (await response.json()) as any;
      expect(response.status).toBe(200);
      expect(body.healthy).toBe(true);
      expect(names(body)).toEqual(["cache-manager", "invalidation", "warming", "monitoring"]);
      for (const service of body.services) {
        expect(service.healthy).toBe(true);
        for (const dep of service.dependencies) expect(dep.latencyMs).toBeGreaterThanOrEqual(0);
      }
      expect(body.services[1].dependencies.map((d: { name: string }) => d.name)).toEqual(["redis", "postgres"]);
    } finally {
      await host.stop();
    }
  }, 90_000);

  test("a service that is down makes the platform 503 unavailable, naming it", async () => {
    const host = await startHostProcess({ services: ["monitoring"], env: { CACHET_GATEWAY_URL: "http://127.0.0.1:9" } });
    const response = await fetch(`${host.url}/api/health`);
    const body = (await response.json()) as any;
    expect(response.status).toBe(503);
    expect(body.code).toBe("unavailable");
    expect(body.message).toMatch(/cache-manager, invalidation, warming/);
    expect(body.details.services[3]).toMatchObject({ service: "monitoring", healthy: true });
    await host.stop();
  });
});
