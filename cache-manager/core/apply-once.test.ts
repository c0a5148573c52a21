import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, test } from "vitest";
import { connectRedis } from "../../lib/redis.ts";
import { applyOnce, RequestInProgressError } from "./apply-once.ts";

const redis = connectRedis(process.env.REDIS_URL!);
afterAll(() => redis.quit());

const keysOf = () => {
  const id = randomBytes(5).toString("hex");
  return { outcomeKey: `test:once:${id}:outcome`, leaseKey: `test:once:${id}:running` };
};
const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
};

describe("applyOnce", () => {
  test("a redelivery while the first run is still going waits for it and gets its outcome; the work runs once", async () => {
    const keys = keysOf();
    const release = gate();
    let runs = 0;
    const work = async () => {
      runs += 1;
      await release.opened;
      return { deleted: runs };
    };
    const first = applyOnce(redis, { ...keys, leaseMs: 300 }, work);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = applyOnce(redis, { ...keys, leaseMs: 300, pollMs: 10 }, work);
    await new Promise((resolve) => setTimeout(resolve, 700)); // past two lease lifetimes: renewals keep it
    release.open();
    expect(await first).toEqual({ outcome: { deleted: 1 }, ran: true });
    expect(await second).toEqual({ outcome: { deleted: 1 }, ran: false });
    expect(runs).toBe(1);
    // A later delivery finds the outcome without running anything.
    expect(await applyOnce(redis, keys, work)).toEqual({ outcome: { deleted: 1 }, ran: false });
    expect(runs).toBe(1);
    await redis.del(keys.outcomeKey);
  });

  test("a delivery that waits past waitMs throws RequestInProgressError so Pub/Sub retries it later", async () => {
    const keys = keysOf();
    const release = gate();
    const first = applyOnce(redis, keys, async () => release.opened.then(() => "done"));
    await new Promise((resolve) => setTimeout(resolve, 30));
    await expect(applyOnce(redis, { ...keys, waitMs: 100, pollMs: 10 }, async () => "again")).rejects.toBeInstanceOf(RequestInProgressError);
    release.open();
    expect((await first).outcome).toBe("done");
    await redis.del(keys.outcomeKey);
  });

  test("a holder that died (its lease lapsed, no outcome) is taken over: the work was never completed", async () => {
    const keys = keysOf();
    await redis.set(keys.leaseKey, "dead-process", "PX", 100);
    expect(await applyOnce(redis, { ...keys, pollMs: 10 }, async () => "taken over")).toEqual({ outcome: "taken over", ran: true });
    expect(await redis.exists(keys.leaseKey)).toBe(0);
    await redis.del(keys.outcomeKey);
  });

  test("a failed run releases the lease and records nothing, so the retry runs it", async () => {
    const keys = keysOf();
    await expect(applyOnce(redis, keys, async () => Promise.reject(new Error("L2 down")))).rejects.toThrow("L2 down");
    expect(await redis.exists(keys.leaseKey, keys.outcomeKey)).toBe(0);
    expect(await applyOnce(redis, keys, async () => "second try")).toEqual({ outcome: "second try", ran: true });
    await redis.del(keys.outcomeKey);
  });
});
