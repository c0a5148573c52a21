/**
 * Invalidation end to end through host processes: requests are audited, published, applied by
 * whichever cache-manager instance takes the event, reach every instance's L1 through the
 * coherence stream, and complete in the audit log, whose hash chain stays verifiable.
 */
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startRedisServer, type EmbeddedRedis } from "../infra/node-host/embedded/redis";
import { callApi, eventually, type TestToken } from "../infra/node-host/testing/api";
import { TEST_INTERNAL_SECRET } from "../infra/node-host/testing/tokens";
import { startHostProcess, type HostProcess } from "../infra/node-host/testing/hosts";
import { startPostgresServer } from "../infra/node-host/testing/postgres";
import { compileGlob } from "../lib/glob";
import { readReports } from "../lib/metrics/report";
import { seededRandom } from "../lib/random";
import { schemaUrlFor } from "../infra/node-host/runtime/sqldb/postgres";

let redis: EmbeddedRedis;
let direct: Redis;
let a: HostProcess; // cache-manager + invalidation + warming
let b: HostProcess; // cache-manager

beforeAll(async () => {
  redis = await startRedisServer();
  direct = new Redis(redis.url);
  const env = { REDIS_URL: redis.url, INVALIDATION_CONFIRM_THRESHOLD: "50" };
  [a, b] = await Promise.all([
    startHostProcess({ services: ["cache-manager", "invalidation", "warming"], env }),
    startHostProcess({ services: ["cache-manager"], env }),
  ]);
});
afterAll(async () => {
  direct?.disconnect();
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
});

const call = (host: HostProcess, method: string, path: string, body?: unknown, token: TestToken = "admin") => callApi(host.url, method, path, { body, token });

/** Waits until the request has an outcome; returns its record. */
async function settled(id: string) {
  const record = await eventually(
    async () => (await call(a, "GET", `/api/invalidations/${id}`)).body,
    (r) => r?.status !== "pending",
    15_000,
    50,
  );
  expect(record.status).toBe("completed");
  return record;
}

/** Which of `keys` each instance serves from L1, and which L2 holds. */
async function where(keys: string[]) {
  const inL2 = new Set<string>();
  const flags = await direct.pipeline(keys.map((k) => ["exists", `cachet:v:${k}`])).exec();
  keys.forEach((k, i) => flags![i][1] === 1 && inL2.add(k));
  const inL1 = async (host: HostProcess) => {
    const body = (await call(host, "POST", "/api/batch/get", { keys })).body;
    return new Set<string>(body.entries.filter((e: { source?: string }) => e.source === "l1").map((e: { key: string }) => e.key));
  };
  return { inL2, l1a: await inL1(a), l1b: await inL1(b) };
}

describe("pattern invalidation (property test against a reference glob matcher)", () => {
  test("exactly the keys the pattern matches leave L2 and both L1s; no others do", async () => {
    const random = seededRandom(2024);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
    const patterns = ["pt:a*", "pt:?1*", "pt:[ab]2*", "pt:*:x", "pt:[^a]*y", "pt:c?:?", "pt:b\\*1:x", "pt:*1*"];
    for (let round = 0; round < 6; round++) {
      const keys = [...new Set(Array.from({ length: 120 }, () => `pt:${pick(["a", "b", "c", "b*"])}${pick(["1", "2", "12", ""])}:${pick(["x", "y"])}`))];
      const pattern = round < patterns.length ? pick(patterns) : patterns[round];
      await call(a, "POST", "/api/batch/set", { entries: keys.map((key) => ({ key, value: key })) });
      // Read on both instances until every key is in both L1s: a read on b that comes before b has
      // applied the batch's announcements fills its L1, and the announcement then drops the entry.
      const before = await eventually(
        () => where(keys),
        (w) => w.l1a.size === keys.length && w.l1b.size === keys.length,
        10_000,
        50,
      );
      expect([before.inL2.size, before.l1a.size, before.l1b.size]).toEqual([keys.length, keys.length, keys.length]);

      const accepted = await call(a, "POST", "/api/invalidate/pattern", { pattern, reason: `property round ${round}` });
      expect(accepted.status).toBe(202);
      const record = await settled(accepted.body.id);
      const expected = keys.filter(compileGlob(pattern));
      expect(record.deleted).toBe(expected.length);

      const after = await eventually(
        () => where(keys),
        (w) => expected.every((k) => !w.l1b.has(k)),
        5000,
        20,
      );
      const gone = (set: Set<string>) => keys.filter((k) => !set.has(k)).sort();
      expect({ pattern, l2: gone(after.inL2), l1a: gone(after.l1a), l1b: gone(after.l1b) }).toEqual({
        pattern,
        l2: [...expected].sort(),
        l1a: [...expected].sort(),
        l1b: [...expected].sort(),
      });
      await call(a, "POST", "/api/batch/delete", { keys });
    }
  });
});

describe("requests and their audit trail", () => {
  test("keys and tags invalidations complete with counts and the number of live cache-manager instances", async () => {
    await call(a, "POST", "/api/batch/set", {
      entries: [
        { key: "t:1", value: 1, tags: ["red"] },
        { key: "t:2", value: 2, tags: ["red"] },
        { key: "t:3", value: 3 },
      ],
    });
    const byKeys = await call(a, "POST", "/api/invalidate", { keys: ["t:3", "t:absent"], reason: "test" }, "operator");
    expect(byKeys.status).toBe(202);
    expect(await settled(byKeys.body.id)).toMatchObject({ kind: "keys", actor: "ops", matched: 1, deleted: 1, reason: "test", liveInstances: 2 });
    const byTags = await call(a, "POST", "/api/invalidate/tags", { tags: ["red"] }, "operator");
    expect(await settled(byTags.body.id)).toMatchObject({ kind: "tags", deleted: 2 });
    expect((await call(b, "GET", "/api/cache/t:1")).status).toBe(404);
  });

  test("rewarm: the invalidated keys are loaded again through a warming run", async () => {
    expect((await call(a, "GET", "/api/cache/product:77")).status).toBe(200);
    const accepted = await call(a, "POST", "/api/invalidate", { keys: ["product:77"], rewarm: true });
    await settled(accepted.body.id);
    const runs = await eventually(
      async () => (await call(a, "GET", "/api/warming/runs")).body.runs,
      (runs) => runs?.some((r: { trigger: string; status: string }) => r.trigger === "rewarm" && r.status === "succeeded"),
    );
    expect(runs.find((r: { trigger: string }) => r.trigger === "rewarm")).toMatchObject({ status: "succeeded", warmed: 1 });
    expect(await direct.exists("cachet:v:product:77")).toBe(1);
  });

  test("a dry run deletes nothing and reports what would be deleted", async () => {
    await call(a, "POST", "/api/batch/set", {
      entries: [
        { key: "dry:1", value: 1 },
        { key: "dry:2", value: 2 },
      ],
    });
    const dry = await call(a, "POST", "/api/invalidate/pattern", { pattern: "dry:*", dryRun: true });
    expect(await settled(dry.body.id)).toMatchObject({ dryRun: true, matched: 2, deleted: 0 });
    expect((await call(b, "GET", "/api/cache/dry:1")).body.value).toBe(1);
  });

  test("`*` and large patterns need confirm and the admin role", async () => {
    const star = await call(a, "POST", "/api/invalidate/pattern", { pattern: "*" });
    expect(star.status).toBe(400);
    expect(star.body.message).toMatch(/matches every key; send "confirm": true/);
    await call(a, "POST", "/api/batch/set", { entries: Array.from({ length: 60 }, (_, i) => ({ key: `big:${i}`, value: i })) });
    const unconfirmed = await call(a, "POST", "/api/invalidate/pattern", { pattern: "big:*" }, "operator");
    expect([unconfirmed.status, unconfirmed.body.message]).toEqual([400, expect.stringMatching(/more than 50 keys/)]);
    const operator = await call(a, "POST", "/api/invalidate/pattern", { pattern: "big:*", confirm: true }, "operator");
    expect([operator.status, operator.body.message]).toEqual([403, expect.stringMatching(/needs the admin role/)]);
    const admin = await call(a, "POST", "/api/invalidate/pattern", { pattern: "big:*", confirm: true });
    expect(await settled(admin.body.id)).toMatchObject({ deleted: 60 });
  });

  test("bad input and scope are refused with a message", async () => {
    const cases: Array<[string, unknown, TestToken, number, RegExp]> = [
      ["/api/invalidate/pattern", { pattern: "*[*[*[" }, "admin", 400, /unclosed `\[`/],
      ["/api/invalidate/pattern", { pattern: "a\\" }, "admin", 400, /lone `\\`/],
      ["/api/invalidate", { keys: [] }, "admin", 400, /1 to 1000 keys/],
      ["/api/invalidate", { keys: ["x".repeat(2000)] }, "admin", 400, /keys\[0\]/],
      ["/api/invalidate/tags", { tags: [""] }, "admin", 400, /tags\[0\]/],
      ["/api/invalidate", { keys: ["a"] }, "viewer", 403, /operator role/],
      ["/api/invalidate", { keys: ["user:1"] }, "scoped", 403, /product:/],
      ["/api/invalidate/pattern", { pattern: "*" }, "scoped", 403, /start the pattern with one of them/],
      ["/api/invalidate/tags", { tags: ["red"] }, "scoped", 403, /cannot invalidate by tag/],
    ];
    for (const [path, body, token, status, message] of cases) {
      const response = await call(a, "POST", path, body, token);
      expect({ path, body, status: response.status, message: response.body?.message }).toEqual({ path, body, status, message: expect.stringMatching(message) });
    }
    const scoped = await call(a, "POST", "/api/invalidate/pattern", { pattern: "product:9*", dryRun: true }, "scoped");
    expect(scoped.status).toBe(202);
  });

  test("preview: exact when the scan finished, an estimate when it stopped at its limit", async () => {
    // More keys than one SCAN round trip covers, so a small limit stops the scan early.
    for (let from = 0; from < 2500; from += 1000) {
      await call(a, "POST", "/api/batch/set", {
        entries: Array.from({ length: Math.min(1000, 2500 - from) }, (_, i) => ({ key: `pv:${from + i}`, value: i })),
      });
    }
    const exact = await call(a, "GET", "/api/invalidate/preview?pattern=pv:1*", undefined, "viewer");
    expect(exact.body).toMatchObject({ matched: 1111, exact: true, estimate: null, confirmThreshold: 50 });
    expect(exact.body.sample.every((k: string) => k.startsWith("pv:1"))).toBe(true);
    const limited = await call(a, "GET", "/api/invalidate/preview?pattern=pv:*&limit=10", undefined, "viewer");
    expect(limited.body.exact).toBe(false);
    expect(limited.body.estimate.matched).toBeGreaterThanOrEqual(10);
    expect(limited.body.estimate.method).toMatch(/scaled/);
    expect((await call(a, "GET", "/api/invalidate/preview?pattern=pv:[", undefined, "viewer")).status).toBe(400);
  });

  test("a redelivered event does not double the counts", async () => {
    await call(a, "PUT", "/api/cache/redeliver:1", { value: 1 });
    const accepted = await call(a, "POST", "/api/invalidate", { keys: ["redeliver:1"] });
    const first = await settled(accepted.body.id);
    const stream = (await direct.keys("*topic:cache-invalidation"))[0];
    const [[, fields]] = await direct.xrevrange(stream, "+", "-", "COUNT", 1);
    expect(JSON.parse(fields[1]).requestId).toBe(accepted.body.id);
    await direct.xadd(stream, "*", ...fields); // the same message again, as a redelivery would
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const again = (await call(a, "GET", `/api/invalidations/${accepted.body.id}`)).body;
    expect(again).toEqual(first);
    const trail = (await call(a, "GET", `/api/invalidations?limit=200`)).body.items.filter((r: { id: string }) => r.id === accepted.body.id);
    expect(trail).toHaveLength(1);
  });

  test("the trail pages and filters; 200 concurrent requests keep the chain intact", async () => {
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => call(a, "POST", "/api/invalidate", { keys: [`burst:${i}`], reason: "burst" }, "operator")),
    );
    expect(responses.every((r) => r.status === 202)).toBe(true);
    for (const r of responses) await settled(r.body.id);
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: { items: Array<{ id: string; actor: string }>; nextCursor: string | null } = (
        await call(a, "GET", `/api/invalidations?actor=ops&kind=keys&status=completed&limit=70${cursor ? `&cursor=${cursor}` : ""}`, undefined, "viewer")
      ).body;
      page.items.forEach((item) => seen.add(item.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(responses.every((r) => seen.has(r.body.id))).toBe(true);
    const verify = (await call(a, "GET", "/api/audit/verify", undefined, "viewer")).body;
    expect(verify).toMatchObject({ intact: true, firstBad: null });
    expect(verify.checked).toBeGreaterThanOrEqual(400);
    expect((await call(a, "GET", "/api/invalidations?status=done", undefined, "viewer")).body.message).toMatch(/pending, completed, failed/);
    expect((await call(a, "GET", "/api/invalidations/nope", undefined, "viewer")).status).toBe(404);
  });
});

// The last three describes each run their own Redis and hosts and need nothing of the others:
// they run at the same time (most of their time is host processes starting and stopping).
describe.concurrent("cache-manager down when a request is accepted", () => {
  test("the invalidation is applied when it comes back", async () => {
    const own = await startRedisServer();
    const probe = new Redis(own.url);
    try {
      const env = { REDIS_URL: own.url };
      const cache = await startHostProcess({ services: ["cache-manager"], env });
      expect((await callApi(cache.url, "PUT", "/api/cache/later:1", { body: { value: 1 } })).status).toBe(200);
      await cache.stop();
      const inv = await startHostProcess({ services: ["invalidation"], env: { ...env, CACHET_SERVICE_URLS: `cache-manager=${cache.url}` } });
      const accepted = await callApi(inv.url, "POST", "/api/invalidate", { body: { keys: ["later:1"] } });
      expect(accepted.status).toBe(202);
      // An invalidation-only process reports as invalidation, never as a cache-manager instance
      // (it once built a whole cache runtime by importing cache-manager's subscriber module).
      const reporting = await eventually(
        async () => (await readReports(probe, Date.now())).reports.map((r) => r.service).sort(),
        (services) => services.includes("invalidation") && !services.includes("cache-manager"),
        10_000,
        100,
      );
      expect(reporting).toEqual(["invalidation"]);
      expect((await callApi(inv.url, "GET", `/api/invalidations/${accepted.body.id}`)).body.status).toBe("pending");
      const back = await startHostProcess({ services: ["cache-manager"], env });
      const done = await eventually(
        async () => (await callApi(inv.url, "GET", `/api/invalidations/${accepted.body.id}`)).body,
        (r) => r.status !== "pending",
        20_000,
        100,
      );
      expect(done).toMatchObject({ status: "completed", deleted: 1 });
      expect((await callApi(back.url, "GET", "/api/cache/later:1")).status).toBe(404);
      await Promise.all([inv.stop(), back.stop()]);
    } finally {
      probe.disconnect();
      await own.stop();
    }
  }, 120_000);
});

describe.concurrent("an invalidation whose event was lost (dead-lettered)", () => {
  test("stays pending until the redrive publishes it again; then it completes, once", async () => {
    const own = await startRedisServer();
    const direct = new Redis(own.url);
    try {
      const env = { REDIS_URL: own.url, INVALIDATION_REDRIVE_AFTER_MS: String(3600_000) }; // the cron stays out of it
      const cache = await startHostProcess({ services: ["cache-manager"], env });
      expect((await callApi(cache.url, "PUT", "/api/cache/lost:1", { body: { value: 1 } })).status).toBe(200);
      await cache.stop();
      const inv = await startHostProcess({ services: ["invalidation"], env: { ...env, CACHET_SERVICE_URLS: `cache-manager=${cache.url}` } });
      const accepted = await callApi(inv.url, "POST", "/api/invalidate", { body: { keys: ["lost:1"] } });
      // The event leaves the queue undelivered, as a dead-lettered one does.
      const stream = (await direct.keys("*topic:cache-invalidation"))[0];
      const [[entryId]] = await direct.xrange(stream, "-", "+");
      await direct.xdel(stream, entryId);
      const back = await startHostProcess({ services: ["cache-manager"], env });
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect((await callApi(inv.url, "GET", `/api/invalidations/${accepted.body.id}`)).body.status).toBe("pending");

      const redrive = () =>
        callApi(inv.url, "POST", "/internal/invalidation/redrive", {
          body: { olderThanMs: 100 },
          token: null,
          headers: { "x-cachet-internal": TEST_INTERNAL_SECRET },
        });
      const first = await redrive();
      expect(first.status).toBe(200);
      expect(first.body.redriven).toEqual([accepted.body.id]);
      expect((await redrive()).body.redriven).toEqual([]); // once per period
      const done = await eventually(
        async () => (await callApi(inv.url, "GET", `/api/invalidations/${accepted.body.id}`)).body,
        (r) => r.status !== "pending",
        20_000,
        100,
      );
      expect(done).toMatchObject({ status: "completed", deleted: 1 });
      expect((await callApi(back.url, "GET", "/api/cache/lost:1")).status).toBe(404);
      await Promise.all([inv.stop(), back.stop()]);
    } finally {
      direct.disconnect();
      await own.stop();
    }
  }, 120_000);
});

describe.concurrent("on a PostgreSQL server", () => {
  test("a row altered as superuser is reported by /api/audit/verify; with PostgreSQL down, requests get 503 and nothing is published", async () => {
    // Its own Redis: instances sharing a Redis share Pub/Sub subscriptions, so they must share databases too.
    const [postgres, ownRedis] = await Promise.all([startPostgresServer(), startRedisServer()]);
    const own = new Redis(ownRedis.url);
    const host = await startHostProcess({
      services: ["cache-manager", "invalidation"],
      env: { REDIS_URL: ownRedis.url, DATABASE_URL: postgres.url, CACHET_DATABASE_PREFIX: "inv_", AUDIT_VERIFY_CACHE_MS: "0" },
    });
    const superuser = new pg.Client({ connectionString: schemaUrlFor(postgres.url, "inv_invalidation") });
    superuser.on("error", () => undefined);
    try {
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await callApi(host.url, "POST", "/api/invalidate", { body: { keys: [`pg:${i}`] } })).body.id);
      for (const id of ids)
        await eventually(
          async () => (await callApi(host.url, "GET", `/api/invalidations/${id}`)).body,
          (r) => r.status === "completed",
        );
      expect((await callApi(host.url, "GET", "/api/audit/verify")).body).toMatchObject({ intact: true, checked: 6 });
      await superuser.connect();
      await superuser.query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update");
      await superuser.query('UPDATE audit_log SET target = \'{"keys": ["pg:other"]}\' WHERE seq = 3');
      const verify = (await callApi(host.url, "GET", "/api/audit/verify")).body;
      expect(verify).toMatchObject({ intact: false, checked: 2, firstBad: { seq: 3, problem: expect.stringMatching(/altered/) } });

      const stream = (await own.keys("*topic:cache-invalidation"))[0];
      const published = await own.xlen(stream);
      await postgres.stop();
      const refused = await callApi(host.url, "POST", "/api/invalidate", { body: { keys: ["pg:refused"] } });
      expect([refused.status, refused.body.code]).toEqual([503, "unavailable"]);
      expect(refused.body.message).toMatch(/audit log \(PostgreSQL\) is unavailable/);
      expect(await own.xlen(stream)).toBe(published);
    } finally {
      await superuser.end().catch(() => undefined);
      own.disconnect();
      await host.stop();
      await Promise.all([postgres.stop(), ownRedis.stop()]);
    }
  }, 120_000);
});
