/**
 * Pub/Sub through the Node host, in separate processes sharing Redis: retries, dead letters,
 * and redelivery when the process holding a message dies.
 */
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, describe, expect, test } from "vitest";
import { eventually as waitFor } from "../testing/api.ts";
import { startHostProcess, startHostProcesses, type HostProcess } from "../testing/hosts.ts";

const fixtureApp = join(import.meta.dirname, "fixtures/app");
const prefix = `ps${Date.now()}:`;
const env = { CACHET_APP_ROOT: fixtureApp, CACHET_KEY_PREFIX: prefix, FIXTURE_PREFIX: prefix };
const redis = new Redis(process.env.REDIS_URL!);
afterAll(() => redis.quit());

async function publish(host: HostProcess, job: { id: string; failTimes: number; workMs?: number }) {
  const response = await fetch(`${host.url}/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(job) });
  expect(response.status).toBe(200);
  return (await response.json()) as { messageId: string };
}

const deliveries = (id: string) => redis.lrange(`${prefix}deliveries:${id}`, 0, -1);
const done = () => redis.lrange(`${prefix}done`, 0, -1);

describe("pub/sub on the Node host", () => {
  test("a handler that fails twice then succeeds gets the message 3 times and acks it", async () => {
    const host = await startHostProcess({ env, services: ["jobs"] });
    await publish(host, { id: "twice", failTimes: 2 });
    const finished = await waitFor(done, (ids) => ids.includes("twice"));
    expect(finished).toContain("twice");
    expect(await deliveries("twice")).toHaveLength(3);
    const pending = (await redis.xpending(`${prefix}topic:jobs`, "worker")) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
    await host.stop();
  });

  test("a handler that always fails puts the message on the dead-letter stream after maxRetries", async () => {
    const host = await startHostProcess({ env, services: ["jobs"] });
    await publish(host, { id: "never", failTimes: -1 });
    const dead = await waitFor(
      () => redis.xrange(`${prefix}topic:jobs:dlq:worker`, "-", "+"),
      (entries) => entries.some(([, fields]) => fields.join(" ").includes("never")),
    );
    expect(dead.some(([, fields]) => fields.join(" ").includes("never"))).toBe(true);
    expect(await deliveries("never")).toHaveLength(1 + 3);
    await host.stop();
  });

  test("killing the process that holds an unacked message → another process gets it", { timeout: 60_000 }, async () => {
    const hosts = await startHostProcesses(2, { env, services: ["jobs"] });
    await publish(hosts[0], { id: "orphan", failTimes: 0, workMs: 3000 });
    const taken = await waitFor(
      () => deliveries("orphan"),
      (list) => list.length === 1,
    );
    const holder = hosts.find((h) => String(h.child.pid) === taken[0])!;
    const survivor = hosts.find((h) => h !== holder)!;
    await holder.kill();
    // The survivor takes the message over once it has been idle for the ack deadline (4 s).
    const finished = await waitFor(done, (ids) => ids.includes("orphan"), 40_000);
    expect(finished).toContain("orphan");
    expect(await deliveries("orphan")).toEqual([String(holder.child.pid), String(survivor.child.pid)]);
    await survivor.stop();
  });
});
