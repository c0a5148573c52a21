/**
 * Redis failures seen through a real host process: L1 keeps answering while L2 is down and the
 * degradation level shows it; after Redis comes back empty, the instance detects the gap and
 * clears its L1 rather than serving values it can no longer vouch for.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startRedisServer, type EmbeddedRedis } from "../infra/node-host/embedded/redis";
import { startHostProcess, type HostProcess } from "../infra/node-host/testing/hosts";
import { callApi, eventually } from "../infra/node-host/testing/api";

let redis: EmbeddedRedis;
let host: HostProcess;

beforeAll(async () => {
  redis = await startRedisServer();
  host = await startHostProcess({ services: ["cache-manager"], env: { REDIS_URL: redis.url } });
});
afterAll(async () => {
  await host?.stop();
  await redis?.stop();
});

const call = (method: string, path: string, body?: unknown) => callApi(host.url, method, path, { body });

const stats = async () => (await call("GET", "/api/stats")).body;

describe("Redis outages", () => {
  test("L2 down: L1 hits keep answering, the breaker opens (l1-only), writes are refused; it recovers", async () => {
    expect((await call("PUT", "/api/cache/outage:kept", { value: "kept" })).status).toBe(200);
    expect((await call("GET", "/api/cache/outage:kept")).body.source).toBe("l1");
    await redis.stop();
    // Misses go to L2 and fail, which opens the breaker.
    for (let i = 0; i < 6; i++) await call("GET", `/api/cache/product:${i + 1}`);
    const hit = await call("GET", "/api/cache/outage:kept");
    expect([hit.status, hit.body.value, hit.body.source]).toEqual([200, "kept", "l1"]);
    expect((await stats()).level).toBe("l1-only");
    expect((await call("PUT", "/api/cache/outage:new", { value: 1 })).status).toBe(503);
    // The same port again, empty: Redis restarted.
    redis = await startRedisServer({ port: redis.port });
    const recovered = await eventually(
      async () => {
        await call("GET", `/api/cache/product:${Math.floor(Math.random() * 1000) + 100}`);
        return stats();
      },
      (s) => s.level === "normal",
    );
    expect(recovered.level).toBe("normal");
  });

  test("Redis restarted empty: the instance detects the gap and clears its L1", async () => {
    // Let the previous test's restart be fully handled first, so the gap counted below is ours.
    await eventually(stats, (s) => s.coherence.connected);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await call("PUT", "/api/cache/gap:a", { value: "a" })).status).toBe(200);
    expect((await call("GET", "/api/cache/gap:a")).body.source).toBe("l1");
    const before = (await stats()).coherence.gapsDetected;
    await redis.stop();
    redis = await startRedisServer({ port: redis.port });
    const after = await eventually(stats, (s) => s.coherence.gapsDetected > before);
    expect(after.coherence.gapsDetected).toBeGreaterThan(before);
    const read = await call("GET", "/api/cache/gap:a");
    expect(read.status).toBe(404); // L1 cleared, and the new Redis never had it
  });
});
