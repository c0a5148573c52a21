/**
 * Cron due times (pure) and the cron runtime against a real Redis with a fake clock: several
 * runtimes sharing Redis stand for several host processes.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, test, vi } from "vitest";
import { connectRedis } from "../../../lib/redis.ts";
import { CronJob } from "../encore/cron.ts";
import type { CronJobManifest, Manifest } from "../manifest/types.ts";
import { CronRuntime, CronScheduleError, cronTiming, registeredCronJobs, type CronClock, type CronDeps } from "../runtime/cron.ts";

const iso = (text: string) => Date.parse(text);
const at = (ms: number) => new Date(ms).toISOString();
const silent = { warn: () => {}, error: () => {} };

/** A clock tests move by hand. Timers due at the same instant run concurrently, as in separate processes. */
class FakeClock implements CronClock {
  private readonly timers = new Map<number, { at: number; fn: () => void | Promise<void> }>();
  private nextId = 1;
  /** When false, advancing does not wait for what the timers return (runs keep going in the background). */
  awaitCallbacks = true;

  constructor(private current: number) {}

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void | Promise<void>, delayMs: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.current + delayMs, fn });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Moves time to `target`, firing due timers in order and awaiting what they return. */
  async advanceTo(target: number): Promise<void> {
    for (;;) {
      const due = [...this.timers].filter(([, timer]) => timer.at <= target);
      if (due.length === 0) break;
      const next = Math.min(...due.map(([, timer]) => timer.at));
      this.current = Math.max(this.current, next);
      const batch = due.filter(([, timer]) => timer.at === next);
      for (const [id] of batch) this.timers.delete(id);
      const results = Promise.all(batch.map(([, timer]) => timer.fn()));
      if (this.awaitCallbacks) await results;
    }
    this.current = Math.max(this.current, target);
  }

  /** Moves time without firing anything, like a process that was suspended; overdue timers fire on the next advance. */
  jump(ms: number): void {
    this.current += ms;
  }

  pendingTimers(): number {
    return this.timers.size;
  }
}

interface Call {
  instance: string;
  service: string;
  endpoint: string;
  payload: unknown;
  at: number;
}

function job(id: string, timing: { every?: string; schedule?: string }, service = "warming"): CronJobManifest {
  return { id, ...timing, endpoint: { service, name: `${id}-endpoint` }, service, pos: { file: `${service}/cron.ts`, line: 1, column: 1 } };
}

function manifest(cronJobs: CronJobManifest[]): Manifest {
  return {
    hash: "test",
    services: [],
    endpoints: [],
    topics: [],
    subscriptions: [],
    cronJobs,
    databases: [],
    authHandlers: [],
    gateways: [],
    secrets: [],
    types: {},
  };
}

/** One test's world: a key prefix, a Redis connection, a fake clock and the runtimes it started. */
function world(startAt: number) {
  const keyPrefix = `c${randomBytes(4).toString("hex")}:`;
  const redis = connectRedis(process.env.REDIS_URL!);
  const clock = new FakeClock(startAt);
  const calls: Call[] = [];
  const runtimes: CronRuntime[] = [];

  function deps(instanceId: string, m: Manifest, endpoint?: (call: Call) => Promise<unknown>, localServices = ["warming"]): CronDeps {
    return {
      manifest: m,
      redis,
      localServices: new Set(localServices),
      instanceId,
      keyPrefix,
      async callEndpoint(service, name, payload) {
        const call = { instance: instanceId, service, endpoint: name, payload, at: clock.now() };
        calls.push(call);
        return endpoint?.(call);
      },
    };
  }

  async function start(instanceId: string, m: Manifest, endpoint?: (call: Call) => Promise<unknown>, localServices?: string[]) {
    const runtime = new CronRuntime({ deps: deps(instanceId, m, endpoint, localServices), clock, logger: silent, shutdownTimeoutMs: 500 });
    runtimes.push(runtime);
    await runtime.start();
    return runtime;
  }

  async function cleanup() {
    await Promise.all(runtimes.map((r) => r.stop()));
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }

  return { keyPrefix, redis, clock, calls, deps, start, cleanup };
}

const cleanups: Array<() => Promise<void>> = [];
function testWorld(startAt: number) {
  const w = world(startAt);
  cleanups.push(w.cleanup);
  return w;
}
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

describe("due times", () => {
  test.each([
    ["1h", "2025-01-01T00:30:00Z", "2025-01-01T01:00:00.000Z"],
    ["10m", "2025-01-01T00:30:00Z", "2025-01-01T00:40:00.000Z"],
    ["30m", "2025-01-01T01:00:00Z", "2025-01-01T01:30:00.000Z"],
    ["90m", "2025-01-01T02:00:00Z", "2025-01-01T03:00:00.000Z"],
    ["6h", "2025-01-01T07:00:00Z", "2025-01-01T12:00:00.000Z"],
    ["24h", "2025-01-01T07:00:00Z", "2025-01-02T00:00:00.000Z"],
  ])("every %s after %s is due at %s (aligned to midnight UTC)", (every, from, expected) => {
    expect(at(cronTiming("job", { every }).nextAfter(iso(from)))).toBe(expected);
  });

  test.each([
    ["*/5 * * * *", "2025-01-01T00:00:30Z", "2025-01-01T00:05:00.000Z"],
    ["*/5 * * * *", "2025-01-01T00:05:00Z", "2025-01-01T00:10:00.000Z"],
    ["0 4 15 * *", "2025-01-01T00:00:00Z", "2025-01-15T04:00:00.000Z"],
    ["0 9 * * 1", "2025-01-01T00:00:00Z", "2025-01-06T09:00:00.000Z"],
    ["30 23 31 12 *", "2025-06-01T00:00:00Z", "2025-12-31T23:30:00.000Z"],
  ])("schedule %s after %s is due at %s (UTC)", (schedule, from, expected) => {
    expect(at(cronTiming("job", { schedule }).nextAfter(iso(from)))).toBe(expected);
  });

  test.each([
    [{ every: "10m" }, "2025-01-01T00:40:00Z", "2025-01-01T00:40:00.000Z"],
    [{ every: "10m" }, "2025-01-01T00:49:59.999Z", "2025-01-01T00:40:00.000Z"],
    [{ schedule: "*/5 * * * *" }, "2025-01-01T00:05:00Z", "2025-01-01T00:05:00.000Z"],
    [{ schedule: "*/5 * * * *" }, "2025-01-01T00:09:59.999Z", "2025-01-01T00:05:00.000Z"],
  ])("the latest due time of %j at or before %s is %s", (spec, when, expected) => {
    expect(at(cronTiming("job", spec).latestAtOrBefore(iso(when)))).toBe(expected);
  });

  test.each([
    [{ schedule: "61 * * * *" }, /cron job "job": invalid schedule "61 \* \* \* \*": .*61/],
    [{ schedule: "0 0 31 2 *" }, /invalid schedule "0 0 31 2 \*"/],
    [{ schedule: "* * * * * *" }, /must have 5 fields .* got 6/],
    [{ schedule: "@daily" }, /must have 5 fields/],
    [{ schedule: "" }, /must have 5 fields/],
    [{ every: "7h" }, /every must divide 24 hours evenly .* got "7h"/],
    [{ every: "90s" }, /every must be a whole number of minutes, got "90s"/],
    [{ every: "48h" }, /every must be between 1 minute and 24 hours/],
    [{ every: "often" }, /every: invalid duration "often"/],
    [{ every: "1h", schedule: "0 * * * *" }, /either "every" or "schedule", not both/],
    [{}, /set "every" .* or "schedule"/],
  ])("%j is rejected with a clear CronScheduleError", (spec, message) => {
    expect(() => cronTiming("job", spec)).toThrow(CronScheduleError);
    expect(() => cronTiming("job", spec)).toThrow(message);
  });

  test("new CronJob validates its timing and registers itself", () => {
    const endpoint = async () => undefined;
    expect(() => new CronJob("broken", { endpoint, schedule: "every day" })).toThrow(CronScheduleError);
    const ok = new CronJob("nightly", { title: "Nightly", endpoint, schedule: "0 3 * * *" });
    expect(ok.name).toBe("nightly");
    expect(ok.cfg.title).toBe("Nightly");
    expect(registeredCronJobs()).toContainEqual(expect.objectContaining({ id: "nightly", schedule: "0 3 * * *", endpoint }));
    expect(registeredCronJobs().map((j) => j.id)).not.toContain("broken");
  });
});

describe("the cron runtime", () => {
  test("two processes sharing Redis run each due time exactly once, at the due time", async () => {
    const w = testWorld(iso("2025-01-01T00:00:30Z"));
    const m = manifest([job("tick", { every: "1m" }), job("sweep", { schedule: "*/5 * * * *" })]);
    await w.start("host-a", m);
    await w.start("host-b", m);

    await w.clock.advanceTo(iso("2025-01-01T00:10:30Z"));

    const ticks = w.calls.filter((c) => c.endpoint === "tick-endpoint");
    const sweeps = w.calls.filter((c) => c.endpoint === "sweep-endpoint");
    expect(ticks.map((c) => at(c.at))).toEqual(Array.from({ length: 10 }, (_, i) => at(iso("2025-01-01T00:01:00Z") + i * 60_000)));
    expect(sweeps.map((c) => at(c.at))).toEqual(["2025-01-01T00:05:00.000Z", "2025-01-01T00:10:00.000Z"]);
    expect(w.calls.every((c) => c.service === "warming" && c.payload === undefined)).toBe(true);
    // The lock of a due time names the process that ran it.
    const first = ticks[0];
    expect(await w.redis.get(`${w.keyPrefix}cron:tick:${first.at}`)).toBe(first.instance);
  });

  test("a process whose timer fires late runs the job once, for the latest due time, without replaying missed runs", async () => {
    const w = testWorld(iso("2025-01-01T00:00:30Z"));
    await w.start("host-a", manifest([job("tick", { every: "1m" })]));

    w.clock.jump(60 * 60_000); // suspended for an hour
    await w.clock.advanceTo(w.clock.now());

    expect(w.calls).toHaveLength(1);
    expect(await w.redis.exists(`${w.keyPrefix}cron:tick:${iso("2025-01-01T01:00:00Z")}`)).toBe(1);
    await w.clock.advanceTo(iso("2025-01-01T01:02:00Z"));
    expect(w.calls.map((c) => at(c.at))).toEqual(["2025-01-01T01:00:30.000Z", "2025-01-01T01:01:00.000Z", "2025-01-01T01:02:00.000Z"]);
  });

  test("a due time already run by another process is not run again by a late one", async () => {
    const w = testWorld(iso("2025-01-01T00:00:30Z"));
    const m = manifest([job("tick", { every: "1m" })]);
    await w.start("host-a", m);
    await w.clock.advanceTo(iso("2025-01-01T00:01:00Z"));
    // A second process that computed the same due time fires it (e.g. a restarted host racing the lock).
    await w.redis.set(`${w.keyPrefix}cron:tick:${iso("2025-01-01T00:02:00Z")}`, "host-b");

    await w.clock.advanceTo(iso("2025-01-01T00:02:30Z"));

    expect(w.calls.map((c) => [c.instance, at(c.at)])).toEqual([["host-a", "2025-01-01T00:01:00.000Z"]]);
  });

  test("only jobs of local services run, but every job's schedule is validated", async () => {
    const w = testWorld(iso("2025-01-01T00:00:30Z"));
    await w.start("host-a", manifest([job("local", { every: "1m" }), job("remote", { every: "1m" }, "monitoring")]));
    await w.clock.advanceTo(iso("2025-01-01T00:01:00Z"));
    expect(w.calls.map((c) => c.endpoint)).toEqual(["local-endpoint"]);

    const bad = new CronRuntime({ deps: w.deps("host-b", manifest([job("broken", { schedule: "* * *" }, "monitoring")])), clock: w.clock, logger: silent });
    await expect(bad.start()).rejects.toThrow(/cron job "broken": schedule "\* \* \*" must have 5 fields/);
  });

  test("a failing endpoint does not stop the schedule", async () => {
    const w = testWorld(iso("2025-01-01T00:00:30Z"));
    await w.start("host-a", manifest([job("tick", { every: "1m" })]), async () => {
      throw new Error("origin down");
    });
    await w.clock.advanceTo(iso("2025-01-01T00:03:00Z"));
    expect(w.calls).toHaveLength(3);
  });

  test("while a run is still in progress, the next due time is left to another process", async () => {
    const w = testWorld(iso("2025-01-01T00:00:30Z"));
    const m = manifest([job("tick", { every: "1m" })]);
    let release: () => void = () => {};
    const hang = new Promise<void>((resolve) => (release = resolve));
    const hangFirstRun = async (call: Call) => (at(call.at) === "2025-01-01T00:01:00.000Z" ? hang : undefined);
    await w.start("host-a", m, hangFirstRun);
    await w.start("host-b", m, hangFirstRun);
    w.clock.awaitCallbacks = false;

    await w.clock.advanceTo(iso("2025-01-01T00:01:00Z"));
    await vi.waitFor(() => expect(w.calls).toHaveLength(1));
    await w.clock.advanceTo(iso("2025-01-01T00:02:00Z"));
    await vi.waitFor(() => expect(w.calls).toHaveLength(2));
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();

    const [first, second] = w.calls;
    expect(w.calls).toHaveLength(2);
    expect(at(second.at)).toBe("2025-01-01T00:02:00.000Z");
    expect(second.instance).not.toBe(first.instance);
  });

  test("a due time weeks away is reached through bounded timers", async () => {
    const w = testWorld(iso("2025-01-01T00:00:30Z"));
    const runtime = await w.start("host-a", manifest([job("monthly", { schedule: "0 0 1 * *" })]));
    expect(runtime.nextRuns()).toEqual([{ id: "monthly", due: iso("2025-02-01T00:00:00Z") }]);
    await w.clock.advanceTo(iso("2025-01-31T23:59:59Z"));
    expect(w.calls).toHaveLength(0);
    await w.clock.advanceTo(iso("2025-02-01T00:00:00Z"));
    expect(w.calls.map((c) => at(c.at))).toEqual(["2025-02-01T00:00:00.000Z"]);
  });

  test("stop() cancels the timers", async () => {
    const w = testWorld(iso("2025-01-01T00:00:30Z"));
    const runtime = await w.start("host-a", manifest([job("tick", { every: "1m" })]));
    await runtime.stop();
    expect(w.clock.pendingTimers()).toBe(0);
    await w.clock.advanceTo(iso("2025-01-01T00:05:00Z"));
    expect(w.calls).toHaveLength(0);
  });
});
