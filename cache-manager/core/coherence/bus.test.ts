import { describe, expect, test } from "vitest";
import { CoherenceBus } from "./bus.ts";
import { parseEntry } from "./entry.ts";
import { CoherenceArgumentError, CoherenceClosedError, CoherencePublishError, CoherenceUnavailableError } from "./errors.ts";
import { clientId, dropStreamAfterTest, inspector, onTestEnd, openBus, preciseWallClock, randomStreamKey, redisUrl, waitUntil } from "./fixtures.ts";
import { percentile } from "../../../lib/metrics/percentile.ts";

/** Every entry of a stream, decoded. */
async function readAll(streamKey: string) {
  const raw = await inspector().xrange(streamKey, "-", "+");
  return raw.map(([id, fields]) => parseEntry(id, fields)!);
}

describe("propagation between instances", () => {
  test("announcements from one instance arrive at another, in order, with their latency", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const a = await openBus(stream, { instanceId: "a", ignoreOwn: true, wallClock: preciseWallClock });
    const b = await openBus(stream, { instanceId: "b", wallClock: preciseWallClock });

    const sent: string[] = [];
    for (let i = 0; i < 2_000; i++) {
      const key = `user:${i}`;
      sent.push(key);
      a.bus.announce([key], i % 3 === 0 ? "delete" : "set");
      await a.bus.flush();
    }
    await waitUntil(() => b.heard.keys.length >= sent.length, "B to hear all 2000 keys");

    expect(b.heard.keys).toEqual(sent);
    expect(b.heard.gaps).toEqual([]);
    expect(b.heard.metas.every((m) => m.origin === "a" && !m.own)).toBe(true);
    expect(b.heard.metas.map((m) => m.seq)).toEqual(sent.map((_, i) => i + 1));
    await waitUntil(() => a.bus.stats().ownEntriesSkipped === 2_000, "A to read past its own announcements");
    expect(a.heard.keys).toEqual([]); // A skips its own announcements

    const latencies = b.heard.metas.map((m) => m.latencyMs).sort((x, y) => x - y);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    console.log(
      `coherence propagation over ${latencies.length} announcements (announce -> onInvalidate, one host): p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms, max ${latencies.at(-1)!.toFixed(3)} ms`,
    );
    expect(b.bus.stats()).toMatchObject({ entriesReceived: 2_000, keysInvalidated: 2_000, gapsDetected: 0, connected: true });
  });

  test("an instance that does not ignore its own announcements hears them marked own", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const a = await openBus(stream, { instanceId: "a" });
    a.bus.announce(["k"]);
    await a.bus.flush();
    await waitUntil(() => a.heard.keys.length === 1, "A to hear itself");
    expect(a.heard.metas[0]).toMatchObject({ own: true, origin: "a", kind: "set" });
  });

  test("a flush announcement reaches the other instance as onFlush, in order with keys", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const a = await openBus(stream, { follow: false });
    const b = await openBus(stream);
    a.bus.announce(["before"]);
    await a.bus.flush();
    a.bus.announce([], "flush");
    await a.bus.flush();
    a.bus.announce(["after"]);
    await a.bus.flush();
    await waitUntil(() => b.heard.keys.length === 2, "B to hear both keys");
    expect(b.heard.flushes).toHaveLength(1);
    expect(b.heard.metas[0].seq).toBeLessThan(b.heard.flushes[0].seq);
    expect(b.heard.flushes[0].seq).toBeLessThan(b.heard.metas[1].seq);
  });

  test("a bus started on an existing stream hears only what is appended after start()", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const a = await openBus(stream, { follow: false });
    a.bus.announce(["old"]);
    await a.bus.flush();
    const b = await openBus(stream);
    expect(b.bus.stats().position.seq).toBe(1);
    a.bus.announce(["new"]);
    await a.bus.flush();
    await waitUntil(() => b.heard.keys.length === 1, "B to hear the new key");
    expect(b.heard.keys).toEqual(["new"]);
    expect(b.heard.gaps).toEqual([]);
  });
});

describe("batching", () => {
  test("many announce() calls in one tick become a few stream entries", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const { bus } = await openBus(stream, { follow: false, maxBatchKeys: 256 });
    const keys = Array.from({ length: 1_000 }, (_, i) => `k:${i}`);
    for (const key of keys) bus.announce([key]);
    await bus.flush();

    const entries = await readAll(stream);
    expect(entries.map((e) => e.keys.length)).toEqual([256, 256, 256, 232]);
    expect(entries.flatMap((e) => e.keys)).toEqual(keys);
    expect(bus.stats()).toMatchObject({ keysAnnounced: 1_000, entriesPublished: 4, pendingKeys: 0 });
  });

  test("writers that flush while a send is in flight share the next script call (group commit)", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const { bus } = await openBus(stream, { follow: false, lingerMs: 10_000 });
    bus.announce(["first"]);
    const first = bus.flush(); // sent at once: nothing was in flight
    const others = Array.from({ length: 50 }, (_, i) => {
      bus.announce([`w${i}`]);
      return bus.flush(); // a send is in flight: these wait for the next batch
    });
    await Promise.all([first, ...others]);

    const entries = await readAll(stream);
    expect(entries.map((e) => e.keys.length)).toEqual([1, 50]);
    expect(bus.stats()).toMatchObject({ batchesPublished: 2, keysAnnounced: 51, pendingKeys: 0 });
  });

  test("a flush made as the previous send completes is sent at once, not after lingerMs", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const { bus } = await openBus(stream, { follow: false, lingerMs: 10_000 });
    bus.announce(["a"]);
    const started = performance.now();
    // Runs in the microtask right after the first batch turns durable, while the sender winds down.
    await bus.flush().then(() => {
      bus.announce(["b"]);
      return bus.flush();
    });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect((await readAll(stream)).map((e) => e.keys)).toEqual([["a"], ["b"]]);
  });

  test("a batch is also sealed by the bytes of its keys", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const { bus } = await openBus(stream, { follow: false, maxBatchBytes: 100 });
    for (let i = 0; i < 5; i++) bus.announce([`${i}`.padEnd(40, "x")]);
    await bus.flush();
    expect((await readAll(stream)).map((e) => e.keys.length)).toEqual([3, 2]);
  });

  test("flush() resolves only once the entry is readable by another connection", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const { bus } = await openBus(stream, { follow: false, lingerMs: 10_000 });
    const redis = inspector();
    for (let round = 1; round <= 20; round++) {
      bus.announce([`r${round}`]);
      await bus.flush();
      expect(await redis.xlen(stream)).toBe(round);
    }
  });

  test("without flush(), a batch is sent after lingerMs", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const { bus } = await openBus(stream, { follow: false, lingerMs: 5 });
    bus.announce(["a", "b"]);
    const redis = inspector();
    await waitUntil(async () => (await redis.xlen(stream)) === 1, "the lingering batch to be sent", 2_000);
  });

  test("keys are de-duplicated within a batch and kinds get entries of their own", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const { bus } = await openBus(stream, { follow: false });
    bus.announce(["a", "b"], "set");
    bus.announce(["a"], "set");
    bus.announce(["c", "c"], "delete");
    bus.announce(["d"], "set");
    await bus.flush();
    const entries = await readAll(stream);
    expect(entries.map((e) => [e.kind, e.keys])).toEqual([
      ["set", ["a", "b"]],
      ["delete", ["c"]],
      ["set", ["d"]],
    ]);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  test("the stream is bounded by maxLen", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const { bus } = await openBus(stream, { follow: false, maxLen: 10, exactTrim: true });
    for (let i = 0; i < 50; i++) {
      bus.announce([`k${i}`]);
      await bus.flush();
    }
    expect(await inspector().xlen(stream)).toBe(10);
  });
});

describe("when Redis cannot be reached", () => {
  const unreachable = { url: "redis://127.0.0.1:1", follow: false, redisOptions: { retryStrategy: () => 200 } };

  test("start() of a following bus rejects with CoherenceUnavailableError after startTimeoutMs", async () => {
    const bus = new CoherenceBus({
      ...unreachable,
      follow: true,
      startTimeoutMs: 150,
      onInvalidate: () => undefined,
      onFlush: () => undefined,
      onGap: () => undefined,
    });
    onTestEnd(() => bus.stop());
    await expect(bus.start()).rejects.toBeInstanceOf(CoherenceUnavailableError);
  });

  test("flush() rejects with CoherencePublishError after publishTimeoutMs", async () => {
    const bus = new CoherenceBus({ ...unreachable, publishTimeoutMs: 150 });
    onTestEnd(() => bus.stop());
    await bus.start();
    bus.announce(["k"]);
    await expect(bus.flush()).rejects.toBeInstanceOf(CoherencePublishError);
    expect(bus.stats().pendingKeys).toBe(1); // still queued for retry
  });

  test("a queue past maxQueuedKeys collapses into one flush announcement", async () => {
    const bus = new CoherenceBus({ ...unreachable, maxQueuedKeys: 10, maxBatchKeys: 4, publishTimeoutMs: 100 });
    onTestEnd(() => bus.stop());
    for (let i = 0; i < 25; i++) bus.announce([`k${i}`]);
    const stats = bus.stats();
    expect(stats.collapsedToFlush).toBeGreaterThanOrEqual(1);
    expect(stats.pendingKeys).toBeLessThanOrEqual(10);
  });
});

describe("lag", () => {
  test("lag() counts the entries a slow instance has not handled yet", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const a = await openBus(stream, { follow: false });
    const b = await openBus(stream);
    let release!: () => void;
    b.heard.gate = new Promise((resolve) => (release = resolve));
    for (let i = 0; i < 5; i++) {
      a.bus.announce([`k${i}`]);
      await a.bus.flush();
    }
    await waitUntil(() => b.heard.keys.length === 1, "B to start handling");
    expect((await b.bus.lag()).entriesBehind).toBe(4);
    b.heard.gate = null;
    release();
    await waitUntil(() => b.heard.keys.length === 5, "B to catch up");
    const lag = await b.bus.lag();
    expect(lag).toMatchObject({ entriesBehind: 0, connected: true, head: { seq: 5 } });
    expect(lag.msSinceLastRead).not.toBeNull();
  });
});

describe("lifecycle and arguments", () => {
  test("stop() ends the blocking read promptly and closes both connections", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const { bus } = await openBus(stream, { instanceId: "stopper", blockMs: 20_000 });
    const redis = inspector();
    bus.announce(["k"]);
    await bus.flush();
    await waitUntil(async () => (await clientId(redis, "cachet-coherence:stopper:follow")) !== undefined, "the follow connection");
    // Let the reader settle into its 20 s XREAD BLOCK.
    await new Promise((resolve) => setTimeout(resolve, 50));

    const started = performance.now();
    await bus.stop();
    const took = performance.now() - started;
    expect(took).toBeLessThan(1_000);
    expect(bus.stats().connected).toBe(false);
    await waitUntil(
      async () =>
        (await clientId(redis, "cachet-coherence:stopper:follow")) === undefined && (await clientId(redis, "cachet-coherence:stopper:announce")) === undefined,
      "both connections to close",
    );
    expect(() => bus.announce(["late"])).toThrow(CoherenceClosedError);
    await bus.stop(); // idempotent
  });

  test("stop() sends what was still queued", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const bus = new CoherenceBus({ url: redisUrl(), streamKey: stream, follow: false, lingerMs: 10_000 });
    await bus.start();
    bus.announce(["queued"]);
    await bus.stop();
    expect((await readAll(stream)).flatMap((e) => e.keys)).toEqual(["queued"]);
  });

  test("a following bus without handlers is refused", () => {
    expect(() => new CoherenceBus({ url: redisUrl(), onInvalidate: () => undefined })).toThrow(CoherenceArgumentError);
  });

  test.each([
    ["maxBatchKeys", 0],
    ["maxLen", -1],
    ["blockMs", 1.5],
    ["publishTimeoutMs", Number.NaN],
  ])("rejects %s = %s", (name, value) => {
    expect(() => new CoherenceBus({ url: redisUrl(), follow: false, [name]: value })).toThrow(CoherenceArgumentError);
  });

  test("announce() rejects an unknown kind and non-string keys", async () => {
    const bus = new CoherenceBus({ url: redisUrl(), follow: false });
    onTestEnd(() => bus.stop());
    expect(() => bus.announce(["k"], "upsert" as never)).toThrow(CoherenceArgumentError);
    expect(() => bus.announce([1 as never])).toThrow(CoherenceArgumentError);
  });
});
