/**
 * Pub/Sub across a Redis that restarts empty (no persistence), on a real `redis-server` of the
 * test's own. The publisher reaches Redis directly; the subscriber goes through a fault proxy so
 * the test decides exactly when it notices the restart: after messages were already published
 * to the recreated stream, which is the order that used to lose them (the subscriber recreated
 * its group at `$`, after them, and they stayed pending for good).
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { connectRedis } from "../../../lib/redis.ts";
import { startRedisServer, type EmbeddedRedis } from "../embedded/redis.ts";
import { publishMessage, resolveSubscriptionOptions, type SubscriptionRegistration } from "../encore/pubsub.ts";
import type { Manifest } from "../manifest/types.ts";
import { PubSubRuntime } from "../runtime/pubsub.ts";
import { startFaultProxy, type FaultProxy } from "../testing/fault-proxy.ts";

const silent = { warn: () => {}, error: () => {} };
const pos = { file: "svc/worker.ts", line: 1, column: 1 };
const topic = "invalidations";
const keyPrefix = "restart:";
const stream = `${keyPrefix}topic:${topic}`;

const manifest: Manifest = {
  hash: "test",
  services: [{ name: "svc", dir: "svc", files: [] }],
  endpoints: [],
  topics: [{ name: topic, deliveryGuarantee: "at-least-once", pos }],
  subscriptions: [
    { topic, name: "worker", service: "svc", pos },
    { topic, name: "audit", service: "other", pos },
  ],
  cronJobs: [],
  databases: [],
  authHandlers: [],
  gateways: [],
  secrets: [],
  types: {},
};

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A redis-server, a proxy in front of it for the subscriber, and a subscriber recording what it handles. */
async function world() {
  let server: EmbeddedRedis = await startRedisServer();
  cleanups.push(() => server.stop());
  const proxy: FaultProxy = await startFaultProxy({ target: { host: "127.0.0.1", port: server.port } });
  cleanups.push(() => proxy.close());
  const publisher = connectRedis(server.url);
  publisher.on("error", () => undefined);
  cleanups.push(() => publisher.disconnect());
  const subscriberRedis = connectRedis(proxy.url("redis"));
  subscriberRedis.on("error", () => undefined);
  cleanups.push(() => subscriberRedis.disconnect());

  const handled: string[] = [];
  const registration: SubscriptionRegistration = {
    topic,
    name: "worker",
    handler: (async (msg: { n: string }) => void handled.push(msg.n)) as (msg: never) => Promise<unknown>,
    options: resolveSubscriptionOptions("worker", { ackDeadline: "2s", retryPolicy: { minBackoff: "50ms", maxBackoff: "200ms", maxRetries: 3 } }),
  };
  const runtime = new PubSubRuntime({
    deps: { manifest, redis: subscriberRedis, redisUrl: proxy.url("redis"), localServices: new Set(["svc"]), instanceId: "sub-1", keyPrefix },
    subscriptions: [registration],
    blockMs: 100,
    logger: silent,
    shutdownTimeoutMs: 2_000,
  });
  await runtime.start();
  cleanups.push(() => runtime.stop());

  return {
    publisher,
    proxy,
    handled,
    /** Stops the server and starts an empty one on the same port. */
    async restartEmpty() {
      await server.stop();
      server = await startRedisServer({ port: server.port });
    },
  };
}

const waitFor = <T>(check: () => T | Promise<T>) => vi.waitFor(check, { timeout: 10_000, interval: 25 });
const numbered = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe("a Redis restarted empty", () => {
  test("messages published before the subscriber notices are all delivered once its group is recreated (from 0, not $)", async () => {
    const w = await world();
    await publishMessage({ redis: w.publisher, keyPrefix }, topic, { n: "before" });
    await waitFor(() => expect(w.handled).toEqual(["before"]));

    w.proxy.setMode("refuse"); // the subscriber is cut off across the restart
    await w.restartEmpty();
    // A publisher that does not know the subscriptions (no groups): the stream is recreated bare.
    const after = numbered("after-", 27);
    for (const n of after) await publishMessage({ redis: w.publisher, keyPrefix }, topic, { n });
    w.proxy.setMode("pass"); // now the subscriber finds its group gone (NOGROUP) and recreates it

    await waitFor(() => expect(w.handled).toEqual(["before", ...after]));
    await waitFor(async () => expect(Number(((await w.publisher.xpending(stream, "worker")) as [number])[0])).toBe(0));
    expect(await groupProgress(w.publisher, "worker")).toEqual([27, 0]);
  });

  test("a publish that recreates the stream creates the topic's groups first, so a subscription with no live consumer keeps its messages", async () => {
    const w = await world();
    w.proxy.setMode("refuse");
    await w.restartEmpty();
    // The Topic.publish path: the host passes the manifest's subscriptions of the topic.
    const ids: string[] = [];
    for (const n of numbered("m", 5)) ids.push(await publishMessage({ redis: w.publisher, keyPrefix, groups: ["worker", "audit"] }, topic, { n }));

    // "audit" has no consumer anywhere; its group holds all five for whoever starts it.
    const [entriesRead, lag] = await groupProgress(w.publisher, "audit");
    expect(entriesRead).toBe(0);
    expect(lag).toBe(5);
    w.proxy.setMode("pass");
    await waitFor(() => expect(w.handled).toEqual(numbered("m", 5)));
    expect(ids).toHaveLength(5);
  });
});

/** XINFO GROUPS' `entries-read` (null before any read counts as 0) and `lag` for one group. */
async function groupProgress(redis: ReturnType<typeof connectRedis>, group: string): Promise<[number, number]> {
  const groups = (await redis.xinfo("GROUPS", stream)) as unknown[][];
  const info = groups.map((g) => Object.fromEntries(g.flatMap((_, i) => (i % 2 === 0 ? [[g[i], g[i + 1]]] : [])))).find((g) => g.name === group);
  if (!info) throw new Error(`no group ${group} on ${stream}`);
  return [Number(info["entries-read"] ?? 0), Number(info.lag)];
}
