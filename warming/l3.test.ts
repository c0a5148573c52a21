/**
 * The warming source `l3` end to end with the L3 tier on: a host process (cache-manager and
 * warming) on the test Redis and a real PostgreSQL server (the `l3` database), values encrypted
 * under a generated key. Values written through the API reach L3 through the copier; some are then
 * removed from Redis behind the cache's back, as a Redis that lost its data would, and an `l3` job
 * writes them back into L2 from L3. (`endpoints.test.ts` covers the same job while L3 is off.)
 */
import pg from "pg";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, expect, test } from "vitest";
import { callApi, eventually } from "../infra/node-host/testing/api";
import { startHostProcess, type HostProcess } from "../infra/node-host/testing/hosts";
import { startPostgresServer, type TestPostgresServer } from "../infra/node-host/testing/postgres";
import { generateKeyPair } from "../lib/l3-keyring";
import { connectRedis } from "../lib/redis";

/** The single-node L2 key of a cache key (cache-manager/core/l2/pattern.ts). */
const l2Key = (key: string) => `cachet:v:${key}`;
const ns = `l3w${Date.now().toString(36)}:`;

let host: HostProcess;
let postgres: TestPostgresServer;
let redis: Redis;
let db: pg.Client;

const api = (method: string, path: string, body?: unknown) => callApi(host.url, method, path, { body, token: "operator" });

beforeAll(async () => {
  postgres = await startPostgresServer();
  host = await startHostProcess({
    services: ["cache-manager", "warming"],
    env: { DATABASE_URL: postgres.url, CACHE_L3: "on", CACHE_L3_KEY: generateKeyPair("w1"), WARMING_POLL_MS: "200" },
  });
  redis = connectRedis(process.env.REDIS_URL!);
  db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
}, 300_000);

afterAll(async () => {
  redis?.disconnect();
  await db?.end();
  await host?.stop();
  await postgres?.stop();
});

/** Entries of this file's namespace in L3, read from the store's table (its keys are not encrypted). */
async function keysInL3(): Promise<number> {
  const [{ table_schema: schema }] = (await db.query("SELECT table_schema FROM information_schema.tables WHERE table_name = 'l3_entries'")).rows;
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM "${schema}".l3_entries WHERE key LIKE $1`, [`${ns}%`]);
  return rows[0].n;
}

test("an l3 job writes the keys Redis lost back into L2 from L3, counting the keys L2 still held as skipped", { timeout: 120_000 }, async () => {
  const keys = Array.from({ length: 30 }, (_, i) => `${ns}${String(i).padStart(2, "0")}`);
  for (const key of keys) expect((await api("PUT", `/api/cache/${encodeURIComponent(key)}`, { value: { key }, ttlSeconds: 600 })).status).toBe(200);
  expect((await api("GET", "/api/stats")).body.l3.state).toBe("ok");
  await eventually(keysInL3, (n) => n === keys.length, 30_000);

  // Redis loses 20 of the 30 values; the cache is not told.
  const lost = keys.slice(0, 20);
  expect(await redis.del(...lost.map(l2Key))).toBe(20);

  const job = await api("POST", "/api/warming/jobs", { name: `${ns}recover`, source: { type: "l3", pattern: `${ns}*` }, namespace: ns, batchSize: 8 });
  expect(job.status).toBe(200);
  const runId = (await api("POST", "/api/warming/trigger", { jobId: job.body.id })).body.runId;
  const run = (
    await eventually(
      () => api("GET", `/api/warming/runs/${runId}`),
      (r) => ["succeeded", "failed", "cancelled"].includes(r.body?.status),
      30_000,
    )
  ).body;
  expect(run).toMatchObject({ status: "succeeded", sourceType: "l3", warmed: 20, skipped: 10, failed: 0, total: 30 });
  expect(run.error).toBeUndefined();
  expect(run.batches).toBeGreaterThanOrEqual(Math.ceil(keys.length / 8));

  const held = await redis.pipeline(keys.map((key) => ["exists", l2Key(key)])).exec();
  expect(held!.map(([, exists]) => exists)).toEqual(keys.map(() => 1));
  const detail = await callApi(host.url, "GET", `/api/keys/${encodeURIComponent(lost[3])}`, { token: "viewer" });
  expect(detail.status).toBe(200);
  expect(JSON.parse(detail.body.preview)).toEqual({ key: lost[3] });
});
