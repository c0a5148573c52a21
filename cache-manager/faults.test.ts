/**
 * Faults seen through real host processes: one instance cut off from Redis (through a TCP proxy)
 * clears its L1 when it comes back, since it cannot know what it missed; and an instance killed
 * with write-behind writes in flight loses none of them: another instance takes them over.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startRedisServer, type EmbeddedRedis } from "../infra/node-host/embedded/redis";
import { startFaultProxy, type FaultProxy } from "../infra/node-host/testing/fault-proxy";
import { startHostProcess } from "../infra/node-host/testing/hosts";
import { callApi, eventually } from "../infra/node-host/testing/api";
import { startPostgresServer, type TestPostgresServer } from "../infra/node-host/testing/postgres";
import { schemaUrlFor } from "../infra/node-host/runtime/sqldb/postgres";

let redis: EmbeddedRedis;
let proxy: FaultProxy;
let postgres: TestPostgresServer;

beforeAll(async () => {
  [redis, postgres] = await Promise.all([startRedisServer(), startPostgresServer()]);
  proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: redis.port } });
});
afterAll(async () => {
  await proxy?.close();
  await Promise.all([redis?.stop(), postgres?.stop()]);
});

describe("an instance cut off from Redis", () => {
  test("clears its L1 when it reconnects after more than the outage bound", async () => {
    const env = { CACHE_COHERENCE_MAX_OUTAGE_MS: "1000" };
    const [cut, other] = await Promise.all([
      startHostProcess({ services: ["cache-manager"], env: { ...env, REDIS_URL: proxy.url("redis") } }),
      startHostProcess({ services: ["cache-manager"], env: { ...env, REDIS_URL: redis.url } }),
    ]);
    // Stopped whatever happens: they share the write-behind queue with the next test's instances
    // (not its database), and a host left running would take over that test's queued writes.
    try {
      const stats = async () => (await callApi(cut.url, "GET", "/api/stats")).body;
      expect((await callApi(cut.url, "PUT", "/api/cache/cut:kept", { body: { value: "v1" } })).status).toBe(200);
      expect((await callApi(cut.url, "GET", "/api/cache/cut:kept")).body.source).toBe("l1");
      const gapsBefore = (await stats()).coherence.gapsDetected;

      proxy.setMode("refuse");
      // While it is away, another instance changes data it may have cached.
      expect((await callApi(other.url, "PUT", "/api/cache/cut:kept", { body: { value: "v2" } })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      proxy.setMode("pass");

      const after = await eventually(stats, (s) => s.coherence.gapsDetected > gapsBefore && s.coherence.connected);
      expect(after.coherence.gapsDetected).toBeGreaterThan(gapsBefore);
      // Its L2 breaker may still be open from the outage (a 503 under a loaded machine): the first
      // read it answers must be the new value, from L2, never the old one from its L1.
      const read = await eventually(
        () => callApi(cut.url, "GET", "/api/cache/cut:kept"),
        (r) => r.status !== 503,
      );
      expect([read.status, read.body.value, read.body.source]).toEqual([200, "v2", "l2"]);
    } finally {
      await Promise.all([cut.stop(), other.stop()]);
    }
  }, 120_000);
});

describe("write-behind across a crash", () => {
  test("writes queued by a killed instance are applied by another; none is lost", async () => {
    const env = { DATABASE_URL: postgres.url, CACHET_DATABASE_PREFIX: "wb_", REDIS_URL: redis.url };
    // A slow origin keeps the first instance's writes in flight when it dies.
    const doomed = await startHostProcess({ services: ["cache-manager"], env: { ...env, CACHE_DEMO_LATENCY_MS: "5000" } });
    const ids = Array.from({ length: 25 }, (_, i) => 9000 + i);
    for (const id of ids) {
      const put = await callApi(doomed.url, "PUT", `/api/cache/product:${id}`, {
        body: { value: { name: `written-behind-${id}` }, writeMode: "write-behind" },
      });
      expect(put.status).toBe(200);
    }
    await doomed.kill();

    const survivor = await startHostProcess({
      services: ["cache-manager"],
      env: { ...env, CACHE_DEMO_LATENCY_MS: "0", CACHE_WRITE_BEHIND_CLAIM_IDLE_MS: "500" },
    });
    const client = new pg.Client({ connectionString: schemaUrlFor(postgres.url, "wb_origins") });
    await client.connect();
    try {
      const names = async () => (await client.query("SELECT id, name FROM products WHERE id = ANY($1) ORDER BY id", [ids])).rows;
      const rows = await eventually(names, (r) => r.every((row) => row.name === `written-behind-${row.id}`), 20_000, 200);
      expect(rows.map((row) => row.name)).toEqual(ids.map((id) => `written-behind-${id}`));
      const queue = await eventually(
        async () => (await callApi(survivor.url, "GET", "/api/stats")).body.writeBehind,
        (wb) => wb?.depth === 0,
      );
      expect(queue.deadLettered).toBe(0);
    } finally {
      await client.end();
    }
  }, 60_000);
});
