/**
 * A cron job runs exactly once per due time with two host processes running. Uses the real
 * clock (the fixture job runs every minute), so this file waits for the next minute boundary.
 */
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, expect, test } from "vitest";
import { startHostProcesses } from "../testing/hosts.ts";

const fixtureApp = join(import.meta.dirname, "fixtures/app");
const prefix = `cr${Date.now()}:`;
const redis = new Redis(process.env.REDIS_URL!);
afterAll(() => redis.quit());

test("two host processes fire each due time of a cron job exactly once", { timeout: 120_000 }, async () => {
  const hosts = await startHostProcesses(2, { env: { CACHET_APP_ROOT: fixtureApp, CACHET_KEY_PREFIX: prefix, FIXTURE_PREFIX: prefix }, services: ["jobs"] });
  const startMinute = Math.floor(Date.now() / 60_000);
  // Wait until the next minute boundary has passed (plus slack for the handler).
  await new Promise((resolve) => setTimeout(resolve, (startMinute + 1) * 60_000 + 3_000 - Date.now()));
  const ticks = await redis.lrange(`${prefix}ticks`, 0, -1);
  const minutes = ticks.map((t) => Number(t.split(":")[0]));
  expect(minutes).toContain(startMinute + 1);
  expect(new Set(minutes).size).toBe(minutes.length);
  const pids = new Set(hosts.map((h) => String(h.child.pid)));
  for (const tick of ticks) expect(pids.has(tick.split(":")[1])).toBe(true);
  await Promise.all(hosts.map((h) => h.stop()));
});
