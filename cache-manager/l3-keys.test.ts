/**
 * CACHE_L3_KEY from an operator's side, on host processes and a real PostgreSQL server: a key
 * that does not decrypt what L3 holds is a clear error from the start (every request a 503 naming
 * the key id, logged once), never garbage; a rotation that keeps the old key after the new one
 * reads the old entries.
 */
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { callApi, eventually } from "../infra/node-host/testing/api";
import { startHostProcess, type HostProcess } from "../infra/node-host/testing/hosts";
import { startPostgresServer, type TestPostgresServer } from "../infra/node-host/testing/postgres";
import { generateKeyPair } from "../lib/l3-keyring";
import { connectRedis } from "../lib/redis";

let postgres: TestPostgresServer;
const key = `l3k${Date.now().toString(36)}:1`;
const first = generateKeyPair("a1");

beforeAll(async () => {
  postgres = await startPostgresServer();
}, 120_000);
afterAll(() => postgres?.stop());

/** Whether L3's table holds `key` (keys are stored in the clear; values are not). */
async function inL3(wanted: string): Promise<boolean> {
  const db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
  try {
    const tables = await db.query("SELECT table_schema FROM information_schema.tables WHERE table_name = 'l3_entries'");
    if (tables.rows.length === 0) return false;
    const { rows } = await db.query(`SELECT 1 FROM "${tables.rows[0].table_schema}".l3_entries WHERE key = $1`, [wanted]);
    return rows.length > 0;
  } finally {
    await db.end();
  }
}

/** Runs `fn` against a cache-manager host whose L3 key is `l3Key`, then stops it. */
async function withHost<T>(l3Key: string, fn: (host: HostProcess) => Promise<T>): Promise<T> {
  const host = await startHostProcess({ services: ["cache-manager"], env: { DATABASE_URL: postgres.url, CACHE_L3_KEY: l3Key } });
  try {
    return await fn(host);
  } finally {
    await host.stop();
  }
}

test("a wrong key or a missing key id answers 503 naming it; the old key kept after a new one reads old entries", { timeout: 300_000 }, async () => {
  await withHost(first, async (host) => {
    expect(
      (await callApi(host.url, "PUT", `/api/cache/${encodeURIComponent(key)}`, { body: { value: { v: 1 }, ttlSeconds: 600 }, token: "operator" })).status,
    ).toBe(200);
    expect(await eventually(() => inL3(key), Boolean, 20_000)).toBe(true);
    expect((await callApi(host.url, "GET", "/api/l3", { token: "admin" })).body.byKeyId.a1).toBeGreaterThanOrEqual(1);
  });

  // Same id, other bytes: the key check fails.
  const sameIdOtherKey = generateKeyPair("a1");
  await withHost(sameIdOtherKey, async (host) => {
    const answer = await callApi(host.url, "GET", `/api/cache/${encodeURIComponent(key)}`, { token: "viewer" });
    expect(answer.status).toBe(503);
    expect(answer.body.message).toMatch(/CACHE_L3_KEY/);
    expect(answer.body.message).toMatch(/a1/);
  });

  // A new key alone: entries under a1 cannot be read.
  const second = generateKeyPair("b1");
  await withHost(second, async (host) => {
    const answer = await callApi(host.url, "GET", `/api/cache/${encodeURIComponent(key)}`, { token: "viewer" });
    expect(answer.status).toBe(503);
    expect(answer.body.message).toMatch(/"a1"/);
  });

  // Rotation: the new key first, the old one after it. Redis loses the value; L3 serves it.
  const redis = connectRedis(process.env.REDIS_URL!);
  try {
    await redis.del(`cachet:v:${key}`);
  } finally {
    redis.disconnect();
  }
  await withHost(`${second},${first}`, async (host) => {
    const answer = await callApi(host.url, "GET", `/api/cache/${encodeURIComponent(key)}`, { token: "viewer" });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ value: { v: 1 }, source: "l3" });
  });
});
