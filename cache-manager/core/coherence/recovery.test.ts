import { describe, expect, test } from "vitest";
import { startRedisServer, type EmbeddedRedis } from "../../../infra/node-host/embedded/redis.ts";
import { startFaultProxy } from "../../../infra/node-host/testing/fault-proxy.ts";
import { connectRedis } from "../../../lib/redis.ts";
import { clientId, dropStreamAfterTest, inspector, onTestEnd, openBus, randomStreamKey, waitUntil } from "./fixtures.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A redis-server of the test's own, stopped after the test (whichever process holds the port then). */
async function dedicatedRedis(args: string[] = []): Promise<{ server: () => EmbeddedRedis; restart: () => Promise<void>; url: string }> {
  let current = await startRedisServer({ args });
  onTestEnd(() => current.stop());
  return {
    server: () => current,
    url: current.url,
    async restart() {
      await current.stop();
      current = await startRedisServer({ port: current.port, args });
    },
  };
}

describe("replay after a reconnect", () => {
  test("an instance whose connection is killed hears everything announced meanwhile, without a gap", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const a = await openBus(stream, { follow: false });
    const b = await openBus(stream, { instanceId: "b-killed" });
    const admin = inspector();
    const followName = "cachet-coherence:b-killed:follow";

    const sent: string[] = [];
    const announce = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const key = `k:${sent.length}`;
        sent.push(key);
        a.bus.announce([key]);
        await a.bus.flush();
      }
    };
    await announce(50);
    for (let kill = 1; kill <= 3; kill++) {
      const id = await clientId(admin, followName);
      expect(id).toBeDefined();
      await admin.client("KILL", "ID", id!);
      // B is reconnecting (ioredis backs off >= 100 ms) while these are announced.
      await announce(100);
      await waitUntil(() => b.bus.stats().reconnects === kill, `B's reconnect #${kill}`);
      await waitUntil(async () => (await clientId(admin, followName)) !== undefined, "B's follow connection to be back");
    }
    await waitUntil(() => b.heard.keys.length >= sent.length, "B to hear every key");

    expect(b.heard.keys).toEqual(sent);
    expect(b.heard.gaps).toEqual([]);
    expect(b.bus.stats()).toMatchObject({ gapsDetected: 0, reconnects: 3, connected: true });
  });
});

describe("gap detection", () => {
  test.each([
    ["exact", true, 50],
    ["approximate", false, 10],
  ])("entries trimmed (%s MAXLEN) before a paused instance read them are a gap; it then carries on", async (_label, exactTrim, maxLen) => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const a = await openBus(stream, { follow: false, maxLen, exactTrim });
    const b = await openBus(stream);

    let release!: () => void;
    b.heard.gate = new Promise((resolve) => (release = resolve));
    a.bus.announce(["first"]);
    await a.bus.flush();
    await waitUntil(() => b.heard.keys.length === 1, "B to be inside its handler");

    // B is paused inside onInvalidate while A announces far more than MAXLEN entries.
    for (let i = 0; i < 400; i++) {
      a.bus.announce([`k${i}`]);
      await a.bus.flush();
    }
    const retained = await inspector().xlen(stream);
    expect(retained).toBeLessThan(400);
    b.heard.gate = null;
    release();

    await waitUntil(() => b.heard.keys.includes("k399"), "B to catch up with what was retained");
    expect(b.heard.gaps).toHaveLength(1);
    expect(b.heard.gaps[0]).toMatchObject({ reason: "trimmed", missedEntries: 400 - retained });
    // Every retained entry is still delivered after the gap, in order.
    expect(b.heard.keys.slice(1)).toEqual(Array.from({ length: retained }, (_, i) => `k${400 - retained + i}`));

    a.bus.announce(["after"]);
    await a.bus.flush();
    await waitUntil(() => b.heard.keys.at(-1) === "after", "B to hear what comes after the gap");
    expect(b.bus.stats()).toMatchObject({ gapsDetected: 1, lastGap: { reason: "trimmed" } });
  });

  test("a Redis restarted empty on the same port is a gap; announcements after it arrive", async () => {
    const redis = await dedicatedRedis();
    const stream = randomStreamKey();
    const a = await openBus(stream, { follow: false, publishTimeoutMs: 15_000 }, redis.url);
    const b = await openBus(stream, {}, redis.url);
    a.bus.announce(["before"]);
    await a.bus.flush();
    await waitUntil(() => b.heard.keys.length === 1, "B to hear the first key");

    await redis.server().stop();
    a.bus.announce(["during"]);
    const durable = a.bus.flush();
    await redis.restart();
    await durable; // A retried the announcement against the new server

    await waitUntil(() => b.heard.gaps.length > 0, "B to detect the restart", 10_000);
    expect(b.heard.gaps[0].reason).toBe("redis-restarted");
    a.bus.announce(["after"]);
    await a.bus.flush();
    await waitUntil(() => b.heard.keys.includes("after"), "B to hear the key announced after the restart");
    expect(b.heard.gaps).toHaveLength(1);
    expect(await inspector(redis.url).xrange(stream, "-", "+")).toHaveLength(2); // "during" and "after"
  });

  test("a stream deleted and recreated under a connected instance is a gap", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const a = await openBus(stream, { follow: false });
    const b = await openBus(stream);
    for (const key of ["x", "y"]) {
      a.bus.announce([key]);
      await a.bus.flush();
    }
    await waitUntil(() => b.heard.keys.length === 2, "B to hear x and y");
    await inspector().del(stream);
    a.bus.announce(["z"]);
    await a.bus.flush();
    await waitUntil(() => b.heard.keys.length === 3, "B to hear z");
    expect(b.heard.gaps.map((g) => g.reason)).toEqual(["stream-reset"]);
  });

  test("reconnecting after more than maxOutageMs without a read is a gap", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    let skew = 0;
    const clock = { now: () => performance.now() + skew };
    const a = await openBus(stream, { follow: false });
    // A long block: no idle read may return (and refresh the last-read time) after the skew below.
    const b = await openBus(stream, { instanceId: "b-outage", clock, maxOutageMs: 10_000, blockMs: 20_000 });
    const admin = inspector();

    skew += 60_000; // a minute passes on B's monotonic clock while its read is blocked
    await admin.client("KILL", "ID", (await clientId(admin, "cachet-coherence:b-outage:follow"))!);
    await waitUntil(() => b.heard.gaps.length === 1, "B to report the outage");
    expect(b.heard.gaps[0]).toMatchObject({ reason: "outage" });

    a.bus.announce(["after"]);
    await a.bus.flush();
    await waitUntil(() => b.heard.keys.includes("after"), "B to carry on");
  });

  test("a read that outlives blockMs + stallGraceMs drops the connection and resumes without loss", async () => {
    const redis = await dedicatedRedis(["--enable-debug-command", "yes"]);
    const stream = randomStreamKey();
    const a = await openBus(stream, { follow: false }, redis.url);
    const b = await openBus(stream, { blockMs: 100, stallGraceMs: 300 }, redis.url);
    const admin = inspector(redis.url);

    // The whole server freezes for 1.2 s: no reply, no RST, like a network partition.
    await admin.call("DEBUG", "SLEEP", "1.2");
    a.bus.announce(["after-freeze"]);
    await a.bus.flush();
    await waitUntil(() => b.heard.keys.includes("after-freeze"), "B to hear the key");
    expect(b.bus.stats().stalls).toBeGreaterThanOrEqual(1);
    expect(b.heard.gaps).toEqual([]);
  });
});

describe("the outage bound while only the follow connection is down", () => {
  test("past maxOutageMs without a read the follower declares an outage at once; it ends only after the reconnect's gap", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    const target = new URL(process.env.REDIS_URL!);
    const proxy = await startFaultProxy({ target: { host: target.hostname, port: Number(target.port) } });
    onTestEnd(() => proxy.close());
    let fakeNow = 0;
    const clock = { now: () => fakeNow };
    const events: string[] = [];
    const b = await openBus(stream, {
      clock,
      maxOutageMs: 500,
      blockMs: 100,
      // Only the follow connection goes through the proxy; announcements and L2 stay up.
      connect: (role, required) => connectRedis(role === "follow" ? proxy.url("redis") : process.env.REDIS_URL!, required),
      onOutage: (lost) => events.push(lost ? "lost" : "back"),
      onGap: (reason) => void events.push(`gap:${reason}`),
    });

    proxy.setMode("refuse"); // the fault: the follow connection is cut and cannot come back
    await waitUntil(() => !b.bus.stats().connected, "the follower to notice the cut");
    fakeNow += 400; // within the bound: nothing declared, however long the real wait
    await sleep(300);
    expect(events).toEqual([]);
    expect(b.bus.stats().outage).toBe(false);

    fakeNow += 200; // 600 ms without a read > 500 ms
    await waitUntil(() => events.length > 0, "the watchdog to declare the outage");
    expect(events).toEqual(["lost"]);
    expect(b.bus.stats()).toMatchObject({ outage: true, outages: 1 });

    proxy.setMode("pass");
    await waitUntil(() => events.includes("back"), "reading to resume", 10_000);
    // L1 is cleared (the gap) before it may be served again.
    expect(events).toEqual(["lost", "gap:outage", "back"]);
    expect(b.bus.stats().outage).toBe(false);
  });

  test("a connected follower whose blocking reads keep returning never declares an outage", async () => {
    const stream = randomStreamKey();
    dropStreamAfterTest(stream);
    let fakeNow = 0;
    const lost: boolean[] = [];
    const b = await openBus(stream, { clock: { now: () => fakeNow }, maxOutageMs: 40, blockMs: 20, onOutage: (l) => lost.push(l) });
    for (let i = 0; i < 10; i++) {
      fakeNow += 30; // each step is within the bound, and an idle read returns within every step
      await sleep(60);
    }
    expect(lost).toEqual([]);
    expect(b.bus.stats()).toMatchObject({ outage: false, outages: 0, connected: true });
  });
});

describe("publishing across an outage", () => {
  test("announcements queued while Redis is down are sent, in order, once it is back", async () => {
    const redis = await dedicatedRedis();
    const stream = randomStreamKey();
    const a = await openBus(stream, { follow: false, publishTimeoutMs: 15_000 }, redis.url);
    await redis.server().stop();
    for (let i = 0; i < 10; i++) a.bus.announce([`queued:${i}`]);
    const durable = a.bus.flush();
    await sleep(300);
    expect(a.bus.stats().publishFailures).toBeGreaterThan(0);
    await redis.restart();
    await durable;
    const entries = await inspector(redis.url).xrange(stream, "-", "+");
    expect(entries.flatMap(([, fields]) => JSON.parse(fields[fields.indexOf("keys") + 1]))).toEqual(Array.from({ length: 10 }, (_, i) => `queued:${i}`));
  });
});
