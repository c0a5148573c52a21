/**
 * The Pub/Sub runtime against a real Redis: retries, dead letters, hand-over after a consumer
 * dies, concurrency limits and consumer groups created ahead of their subscribers. Several
 * "processes" are simulated with one PubSubRuntime each (own instanceId and connections); the
 * SIGKILL case runs a real child process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, test, vi } from "vitest";
import { connectRedis } from "../../../lib/redis.ts";
import {
  PubSubConfigError,
  publishMessage,
  resolveSubscriptionOptions,
  Subscription,
  Topic,
  type SubscriptionConfig,
  type SubscriptionRegistration,
} from "../encore/pubsub.ts";
import type { Manifest } from "../manifest/types.ts";
import { currentContext } from "../runtime/reqctx.ts";
import { PubSubRuntime, retryDelayMs, type PubSubDeps, type PubSubRuntimeOptions } from "../runtime/pubsub.ts";
import { setHostState } from "../runtime/state.ts";

const redisUrl = process.env.REDIS_URL!;
const silent = { warn: () => {}, error: () => {} };
const pos = { file: "svc/worker.ts", line: 1, column: 1 };

/** Test-sized timings: deadlines of a second, backoffs of tens of milliseconds. */
const fast: Omit<SubscriptionConfig<unknown>, "handler"> = {
  ackDeadline: "1s",
  retryPolicy: { minBackoff: "50ms", maxBackoff: "200ms", maxRetries: 3 },
};

interface Delivery {
  payload: Record<string, unknown>;
  attempt: number;
  messageId: string;
  instance: string;
}

/** One test's world: a key prefix, a Redis connection, and the runtimes it started (stopped afterwards). */
function fixture() {
  const keyPrefix = `t${randomBytes(4).toString("hex")}:`;
  const redis = connectRedis(redisUrl);
  const runtimes: PubSubRuntime[] = [];
  const children: ChildProcess[] = [];
  const topic = "jobs";
  const stream = `${keyPrefix}topic:${topic}`;

  function manifest(subscriptions: Array<{ name: string; service: string }>): Manifest {
    return {
      hash: "test",
      services: [...new Set(subscriptions.map((s) => s.service))].map((name) => ({ name, dir: name, files: [] })),
      endpoints: [],
      topics: [{ name: topic, deliveryGuarantee: "at-least-once", pos }],
      subscriptions: subscriptions.map((s) => ({ topic, ...s, pos })),
      cronJobs: [],
      databases: [],
      authHandlers: [],
      gateways: [],
      secrets: [],
      types: {},
    };
  }

  function deps(instanceId: string, localServices: string[], m: Manifest): PubSubDeps {
    return { manifest: m, redis, redisUrl, localServices: new Set(localServices), instanceId, keyPrefix };
  }

  function subscription(
    name: string,
    handler: (msg: Record<string, unknown>) => Promise<unknown>,
    cfg: Omit<SubscriptionConfig<unknown>, "handler"> = fast,
  ): SubscriptionRegistration {
    return { topic, name, handler: handler as (msg: never) => Promise<unknown>, options: resolveSubscriptionOptions(name, cfg) };
  }

  /** Starts a runtime acting as one host process. */
  async function start(options: PubSubRuntimeOptions): Promise<PubSubRuntime> {
    const runtime = new PubSubRuntime({ blockMs: 100, logger: silent, shutdownTimeoutMs: 3000, ...options });
    runtimes.push(runtime);
    await runtime.start();
    return runtime;
  }

  /** A handler that records each delivery with the request meta it ran under. */
  function recorder(instance: string, deliveries: Delivery[], behave: (d: Delivery) => Promise<void> = async () => {}) {
    return async (payload: Record<string, unknown>) => {
      const meta = currentContext()?.meta;
      if (meta?.type !== "pubsub-message") throw new Error("handler ran outside a pubsub-message request");
      const delivery = { payload, attempt: meta.deliveryAttempt, messageId: meta.messageId, instance };
      deliveries.push(delivery);
      await behave(delivery);
    };
  }

  const publish = (msg: Record<string, unknown>) => publishMessage({ redis, keyPrefix }, topic, msg);

  async function pendingCount(group: string): Promise<number> {
    const summary = (await redis.xpending(stream, group)) as [number, ...unknown[]];
    return Number(summary[0]);
  }

  async function cleanup(): Promise<void> {
    for (const child of children) child.kill("SIGKILL");
    await Promise.all(runtimes.map((r) => r.stop()));
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
    await redis.quit();
  }

  return { keyPrefix, redis, topic, stream, manifest, deps, subscription, start, recorder, publish, pendingCount, children, cleanup };
}

const cleanups: Array<() => Promise<void>> = [];
function world() {
  const f = fixture();
  cleanups.push(f.cleanup);
  return f;
}
afterEach(async () => {
  setHostState(undefined);
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

const deliveryAttempt = () => {
  const meta = currentContext()?.meta;
  return meta?.type === "pubsub-message" ? meta.deliveryAttempt : undefined;
};
/** vi.waitFor with room for a few ack deadlines of one second. */
const waitFor = <T>(check: () => T | Promise<T>, options: { timeout?: number } = {}) => vi.waitFor(check, { timeout: 3000, interval: 25, ...options });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const never = () => new Promise<never>(() => {});

describe("delivery and retries", () => {
  test("a handler that fails twice then succeeds receives the message 3 times and acks it", async () => {
    const w = world();
    const deliveries: Delivery[] = [];
    const handler = w.recorder("a", deliveries, async (d) => {
      if (d.attempt <= 2) throw new Error(`failing attempt ${d.attempt}`);
    });
    await w.start({ deps: w.deps("a", ["svc"], w.manifest([{ name: "worker", service: "svc" }])), subscriptions: [w.subscription("worker", handler)] });

    const id = await w.publish({ job: "twice" });

    await waitFor(async () => {
      expect(deliveries).toHaveLength(3);
      expect(await w.pendingCount("worker")).toBe(0);
    });
    expect(deliveries.map((d) => d.attempt)).toEqual([1, 2, 3]);
    expect(deliveries.every((d) => d.messageId === id && d.payload.job === "twice")).toBe(true);
    await sleep(300);
    expect(deliveries).toHaveLength(3);
  });

  test("a handler that always fails sends the message to the dead-letter stream after maxRetries, acked", async () => {
    const w = world();
    const deliveries: Delivery[] = [];
    const handler = w.recorder("a", deliveries, async (d) => {
      throw new Error(`boom on attempt ${d.attempt}`);
    });
    const cfg = { ...fast, retryPolicy: { minBackoff: "20ms", maxBackoff: "50ms", maxRetries: 2 } } as const;
    await w.start({ deps: w.deps("a", ["svc"], w.manifest([{ name: "worker", service: "svc" }])), subscriptions: [w.subscription("worker", handler, cfg)] });

    const id = await w.publish({ job: "never" });

    const dlq = `${w.stream}:dlq:worker`;
    await waitFor(async () => expect(await w.redis.xlen(dlq)).toBe(1));
    const [[, flat]] = await w.redis.xrange(dlq, "-", "+");
    const entry = Object.fromEntries(flat.flatMap((_, i) => (i % 2 === 0 ? [[flat[i], flat[i + 1]]] : [])));
    expect(entry).toMatchObject({ messageId: id, topic: "jobs", subscription: "worker", attempts: "3" });
    expect(JSON.parse(entry.data)).toEqual({ job: "never" });
    expect(entry.error).toContain("boom on attempt 3");
    expect(deliveries.map((d) => d.attempt)).toEqual([1, 2, 3]);
    expect(await w.pendingCount("worker")).toBe(0);
  });

  test("a handler running past the ack deadline counts as failed and is retried", async () => {
    const w = world();
    const deliveries: Delivery[] = [];
    const handler = w.recorder("a", deliveries, async (d) => {
      if (d.attempt === 1) await never();
    });
    await w.start({ deps: w.deps("a", ["svc"], w.manifest([{ name: "worker", service: "svc" }])), subscriptions: [w.subscription("worker", handler)] });

    await w.publish({ job: "slow" });

    await waitFor(
      async () => {
        expect(deliveries.map((d) => d.attempt)).toEqual([1, 2]);
        expect(await w.pendingCount("worker")).toBe(0);
      },
      { timeout: 3000 },
    );
  });

  test("a message that is not JSON is dead-lettered at once", async () => {
    const w = world();
    const deliveries: Delivery[] = [];
    await w.start({
      deps: w.deps("a", ["svc"], w.manifest([{ name: "worker", service: "svc" }])),
      subscriptions: [w.subscription("worker", w.recorder("a", deliveries))],
    });

    await w.redis.xadd(w.stream, "*", "data", "{not json");

    await waitFor(async () => expect(await w.redis.xlen(`${w.stream}:dlq:worker`)).toBe(1));
    expect(deliveries).toHaveLength(0);
    expect(await w.pendingCount("worker")).toBe(0);
  });

  test("retry backoff doubles from minBackoff and is capped at maxBackoff", () => {
    const policy = { minBackoffMs: 100, maxBackoffMs: 1000 };
    expect([1, 2, 3, 4, 5, 50].map((attempt) => retryDelayMs(policy, attempt))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});

describe("hand-over between processes", () => {
  test("a consumer that dies holding a message: another consumer gets it after the ack deadline", async () => {
    const w = world();
    const m = w.manifest([{ name: "worker", service: "svc" }]);
    const deliveries: Delivery[] = [];
    const first = await w.start({ deps: w.deps("first", ["svc"], m), subscriptions: [w.subscription("worker", w.recorder("first", deliveries, never))] });
    await w.start({ deps: w.deps("second", ["svc"], m), subscriptions: [w.subscription("worker", w.recorder("second", deliveries))] });

    // Only the first consumer reads new messages until it dies.
    const id = await new Promise<string>((resolve, reject) => {
      const poll = async () => {
        const messageId = await w.publish({ job: "orphan" });
        await sleep(300);
        if (deliveries.some((d) => d.messageId === messageId && d.instance === "first")) return resolve(messageId);
        setTimeout(() => poll().catch(reject), 0);
      };
      poll().catch(reject);
    });
    first.abort();
    const diedAt = Date.now();

    await waitFor(() => expect(deliveries.find((d) => d.messageId === id && d.instance === "second")).toBeDefined(), { timeout: 5000 });
    const takeover = deliveries.find((d) => d.messageId === id && d.instance === "second")!;
    expect(takeover.attempt).toBe(2);
    // Claimed until the crash, so the message only becomes idle then.
    expect(Date.now() - diedAt).toBeGreaterThanOrEqual(600);
    await waitFor(async () => expect(await w.pendingCount("worker")).toBe(0));
  });

  test("a message waiting for its retry stays with its consumer even past the ack deadline", async () => {
    const w = world();
    const m = w.manifest([{ name: "worker", service: "svc" }]);
    const deliveries: Delivery[] = [];
    const slowRetry = { ...fast, retryPolicy: { minBackoff: "2s", maxBackoff: "2s", maxRetries: 3 } } as const;
    const failOnce = w.recorder("first", deliveries, async (d) => {
      if (d.attempt === 1) throw new Error("first attempt fails");
    });
    await w.start({ deps: w.deps("first", ["svc"], m), subscriptions: [w.subscription("worker", failOnce, slowRetry)] });

    const id = await w.publish({ job: "patient" });
    await waitFor(() => expect(deliveries).toHaveLength(1));
    // A second consumer joins while the first waits 2 s (twice the ack deadline) to retry.
    await w.start({ deps: w.deps("second", ["svc"], m), subscriptions: [w.subscription("worker", w.recorder("second", deliveries), slowRetry)] });

    await waitFor(() => expect(deliveries).toHaveLength(2), { timeout: 5000 });
    expect(deliveries.map((d) => [d.instance, d.attempt, d.messageId])).toEqual([
      ["first", 1, id],
      ["first", 2, id],
    ]);
  });

  test("a child process killed with SIGKILL while handling: another process gets the message", async () => {
    const w = world();
    const m = w.manifest([{ name: "worker", service: "svc" }]);
    const script = `
      import { connectRedis } from ${JSON.stringify(new URL("../../../lib/redis.ts", import.meta.url).pathname)};
      import { resolveSubscriptionOptions } from ${JSON.stringify(new URL("../encore/pubsub.ts", import.meta.url).pathname)};
      import { PubSubRuntime } from ${JSON.stringify(new URL("../runtime/pubsub.ts", import.meta.url).pathname)};
      const env = process.env;
      const runtime = new PubSubRuntime({
        deps: { manifest: JSON.parse(env.MANIFEST), redis: connectRedis(env.REDIS_URL), redisUrl: env.REDIS_URL,
                localServices: new Set(["svc"]), instanceId: "child", keyPrefix: env.PREFIX },
        subscriptions: [{ topic: "jobs", name: "worker", options: resolveSubscriptionOptions("child", JSON.parse(env.CFG)),
          handler: (msg) => { console.log("got " + JSON.stringify(msg)); return new Promise(() => {}); } }],
        blockMs: 100,
      });
      await runtime.start();
      console.log("ready");`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      env: { ...process.env, MANIFEST: JSON.stringify(m), PREFIX: w.keyPrefix, CFG: JSON.stringify(fast) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    w.children.push(child);
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe("ready");

    const id = await w.publish({ job: "killed" });
    expect((await lines.next()).value).toBe('got {"job":"killed"}');
    child.kill("SIGKILL");
    await once(child, "exit");

    const deliveries: Delivery[] = [];
    await w.start({ deps: w.deps("survivor", ["svc"], m), subscriptions: [w.subscription("worker", w.recorder("survivor", deliveries))] });
    await waitFor(() => expect(deliveries).toHaveLength(1), { timeout: 5000 });
    expect(deliveries[0]).toMatchObject({ messageId: id, attempt: 2, payload: { job: "killed" } });
    await waitFor(async () => expect(await w.pendingCount("worker")).toBe(0));
  });

  test("a message published before its subscriber's process started is still delivered", async () => {
    const w = world();
    const m = w.manifest([
      { name: "worker", service: "svc" },
      { name: "audit", service: "other" },
    ]);
    // The publishing process serves neither subscription, yet creates both groups at start.
    await w.start({ deps: w.deps("publisher", ["api"], m), subscriptions: [] });
    const id = await w.publish({ job: "early" });

    const deliveries: Delivery[] = [];
    await w.start({ deps: w.deps("subscriber", ["svc"], m), subscriptions: [w.subscription("worker", w.recorder("subscriber", deliveries))] });

    await waitFor(() => expect(deliveries).toHaveLength(1));
    expect(deliveries[0]).toMatchObject({ messageId: id, attempt: 1, payload: { job: "early" } });
    // The other subscription's group holds the message for its future consumer.
    const groups = (await w.redis.xinfo("GROUPS", w.stream)) as unknown[][];
    const audit = groups.map((g) => Object.fromEntries(g.flatMap((_, i) => (i % 2 === 0 ? [[g[i], g[i + 1]]] : [])))).find((g) => g.name === "audit");
    expect(audit).toBeDefined();
    expect(audit!["last-delivered-id"]).toBe("0-0");
  });
});

describe("concurrency and shutdown", () => {
  test("maxConcurrency is never exceeded, and every message is handled", async () => {
    const w = world();
    let running = 0;
    let peak = 0;
    const handled = new Set<string>();
    const handler = async (msg: Record<string, unknown>) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(20);
      running--;
      // Some first attempts fail, so retries compete with new messages for the same slots.
      if (Number(msg.n) % 5 === 0 && deliveryAttempt() === 1) throw new Error("retry me");
      handled.add(String(msg.n));
    };
    await w.start({
      deps: w.deps("a", ["svc"], w.manifest([{ name: "worker", service: "svc" }])),
      subscriptions: [w.subscription("worker", handler, { ...fast, maxConcurrency: 3 })],
    });

    await Promise.all(Array.from({ length: 40 }, (_, n) => w.publish({ n })));

    await waitFor(() => expect(handled.size).toBe(40), { timeout: 10_000 });
    expect(peak).toBe(3);
    await waitFor(async () => expect(await w.pendingCount("worker")).toBe(0));
  });

  test("stop() waits for running handlers, acks them, and leaves unread messages in the stream", async () => {
    const w = world();
    const deliveries: Delivery[] = [];
    let finished = 0;
    const handler = w.recorder("a", deliveries, async () => {
      await sleep(300);
      finished++;
    });
    const runtime = await w.start({
      deps: w.deps("a", ["svc"], w.manifest([{ name: "worker", service: "svc" }])),
      subscriptions: [w.subscription("worker", handler, { ...fast, maxConcurrency: 1 })],
    });
    await w.publish({ job: 1 });
    await w.publish({ job: 2 });
    await waitFor(() => expect(deliveries).toHaveLength(1));

    const started = Date.now();
    await runtime.stop();

    expect(Date.now() - started).toBeLessThan(2000);
    expect(finished).toBe(1);
    expect(await w.pendingCount("worker")).toBe(0);
    const groups = (await w.redis.xinfo("GROUPS", w.stream)) as unknown[][];
    const lag = groups[0][groups[0].indexOf("lag") + 1];
    expect(lag).toBe(1);
  });
});

describe("the encore.dev/pubsub shim", () => {
  test("Topic.publish and Subscription work through the host state and registry", async () => {
    const w = world();
    const topic = new Topic<{ greeting: string }>(w.topic, { deliveryGuarantee: "at-least-once" });
    const received: Array<{ greeting: string }> = [];
    new Subscription(topic, "shim-sub", {
      handler: async (msg) => {
        received.push(msg);
      },
      ...fast,
    });
    const m = w.manifest([{ name: "shim-sub", service: "svc" }]);
    setHostState({ ...w.deps("host", ["svc"], m), appRoot: "/app", callEndpoint: async () => undefined });
    await w.start({});

    const id = await topic.publish({ greeting: "hello" });

    expect(id).toMatch(/^\d+-\d+$/);
    await waitFor(() => expect(received).toEqual([{ greeting: "hello" }]));
    expect(topic.ref()).toBe(topic);
  });

  test("a registered subscription missing from the manifest fails start() with a clear error", async () => {
    const w = world();
    const runtime = new PubSubRuntime({
      deps: w.deps("a", ["svc"], w.manifest([])),
      subscriptions: [w.subscription("ghost", async () => {})],
      logger: silent,
    });
    await expect(runtime.start()).rejects.toThrow(/jobs\/ghost.*stale, regenerate/);
  });

  test("a local subscription with no registered handler fails start() with a clear error", async () => {
    const w = world();
    const runtime = new PubSubRuntime({ deps: w.deps("a", ["svc"], w.manifest([{ name: "worker", service: "svc" }])), subscriptions: [], logger: silent });
    await expect(runtime.start()).rejects.toThrow(/no handler registered.*jobs\/worker/);
  });

  test.each([
    [{ ackDeadline: "500ms" }, /ackDeadline must be at least 1s/],
    [{ ackDeadline: "soon" }, /ackDeadline invalid duration "soon"/],
    [{ retryPolicy: { minBackoff: "1m", maxBackoff: "1s" } }, /minBackoff .* is longer than retryPolicy.maxBackoff/],
    [{ retryPolicy: { maxRetries: -5 } }, /maxRetries must be a positive integer/],
    [{ maxConcurrency: 1.5 }, /maxConcurrency must be an integer/],
  ])("the subscription config %j is rejected", (cfg, message) => {
    expect(() => resolveSubscriptionOptions("sub", cfg as never)).toThrow(PubSubConfigError);
    expect(() => resolveSubscriptionOptions("sub", cfg as never)).toThrow(message);
  });

  test("defaults follow Encore: 100 concurrent, 30s ack deadline, 10s..10m backoff, 100 retries", () => {
    expect(resolveSubscriptionOptions("sub", {})).toEqual({
      maxConcurrency: 100,
      ackDeadlineMs: 30_000,
      minBackoffMs: 10_000,
      maxBackoffMs: 600_000,
      maxRetries: 100,
    });
    expect(resolveSubscriptionOptions("sub", { retryPolicy: { maxRetries: -1 } }).maxRetries).toBe(Infinity);
    expect(resolveSubscriptionOptions("sub", { retryPolicy: { maxRetries: -2 } }).maxRetries).toBe(0);
  });
});
