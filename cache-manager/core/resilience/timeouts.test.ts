import { describe, expect, test } from "vitest";
import { seededRandom } from "../../../lib/random.ts";
import { FakeClock } from "../../../lib/clock.ts";
import { HardTimeoutError, ResilienceArgumentError } from "./errors.ts";
import { jitterTtl, withTimeouts, type LoadOutcome, type TimedCall } from "./timeouts.ts";

/** A load the test settles by hand, remembering the signal it was given. */
function controlledLoad<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const state: { signal?: AbortSignal; calls: number } = { calls: 0 };
  const load = (call: TimedCall) => {
    state.calls++;
    state.signal = call.signal;
    return promise;
  };
  return { load, resolve, reject, state };
}

/** Records whether a promise settled, without awaiting it. */
function track<T>(promise: Promise<T>) {
  const seen: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(seen, { settled: true, value }),
    (error: unknown) => Object.assign(seen, { settled: true, error }),
  );
  return seen;
}

describe("withTimeouts", () => {
  test("a load that beats both deadlines answers fresh and leaves no timer behind", async () => {
    const clock = new FakeClock();
    const origin = controlledLoad<string>();
    const result = withTimeouts(origin.load, { softMs: 100, hardMs: 1_000, stale: { value: "old" }, clock });
    await clock.advanceAsync(50);
    origin.resolve("fresh");
    await expect(result).resolves.toEqual({ value: "fresh", stale: false });
    expect(clock.pendingTimers).toBe(0);
    expect(origin.state.signal!.aborted).toBe(false);
  });

  test("past the soft deadline with a stale value: answers stale and hands the late value to onLateResult", async () => {
    const clock = new FakeClock();
    const origin = controlledLoad<string>();
    const late: LoadOutcome<string>[] = [];
    const result = track(withTimeouts(origin.load, { softMs: 100, hardMs: 1_000, stale: { value: "old" }, onLateResult: (o) => late.push(o), clock }));
    await clock.advanceAsync(99);
    expect(result.settled).toBe(false);
    await clock.advanceAsync(1);
    expect(result).toEqual({ settled: true, value: { value: "old", stale: true } });
    expect(origin.state.signal!.aborted).toBe(false);
    origin.resolve("fresh");
    await clock.advanceAsync(0);
    expect(late).toEqual([{ ok: true, value: "fresh" }]);
    expect(clock.pendingTimers).toBe(0);
  });

  test("past the soft deadline without a stale value: keeps waiting for the load", async () => {
    const clock = new FakeClock();
    const origin = controlledLoad<string>();
    const result = track(withTimeouts(origin.load, { softMs: 100, hardMs: 1_000, clock }));
    await clock.advanceAsync(500);
    expect(result.settled).toBe(false);
    origin.resolve("slow but fresh");
    await clock.advanceAsync(0);
    expect(result).toEqual({ settled: true, value: { value: "slow but fresh", stale: false } });
  });

  test("past the hard deadline: rejects with HardTimeoutError and aborts the load with it", async () => {
    const clock = new FakeClock();
    const origin = controlledLoad<string>();
    const result = track(withTimeouts(origin.load, { softMs: 100, hardMs: 1_000, clock }));
    await clock.advanceAsync(999);
    expect(result.settled).toBe(false);
    await clock.advanceAsync(1);
    expect(result.error).toBeInstanceOf(HardTimeoutError);
    expect(result.error).toMatchObject({ code: "E_LOAD_HARD_TIMEOUT", timeoutMs: 1_000 });
    expect(origin.state.signal!.aborted).toBe(true);
    expect(origin.state.signal!.reason).toBe(result.error);
  });

  test("a background load that hits the hard deadline is aborted and reported to onLateResult", async () => {
    const clock = new FakeClock();
    const origin = controlledLoad<string>();
    const late: LoadOutcome<string>[] = [];
    const result = withTimeouts(origin.load, { softMs: 100, hardMs: 1_000, stale: { value: "old" }, onLateResult: (o) => late.push(o), clock });
    await clock.advanceAsync(100);
    await expect(result).resolves.toEqual({ value: "old", stale: true });
    await clock.advanceAsync(900);
    expect(origin.state.signal!.aborted).toBe(true);
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({ ok: false, error: expect.any(HardTimeoutError) });
    // The load finishing after it was abandoned is discarded.
    origin.resolve("too late");
    await clock.advanceAsync(0);
    expect(late).toHaveLength(1);
  });

  test("a load failure passes through unchanged, and a late failure goes to onLateResult", async () => {
    const clock = new FakeClock();
    const boom = new Error("origin 500");
    const first = controlledLoad<string>();
    const failed = withTimeouts(first.load, { softMs: 100, hardMs: 1_000, stale: { value: "old" }, clock });
    first.reject(boom);
    await expect(failed).rejects.toBe(boom);

    const second = controlledLoad<string>();
    const late: LoadOutcome<string>[] = [];
    const served = withTimeouts(second.load, { softMs: 100, stale: { value: "old" }, onLateResult: (o) => late.push(o), clock });
    await clock.advanceAsync(100);
    await expect(served).resolves.toMatchObject({ stale: true });
    second.reject(boom);
    await clock.advanceAsync(0);
    expect(late).toEqual([{ ok: false, error: boom }]);
  });

  test("a synchronous throw or a plain value from the load behaves like a promise", async () => {
    await expect(
      withTimeouts(() => {
        throw new Error("sync");
      }),
    ).rejects.toThrow("sync");
    await expect(withTimeouts(() => 7, { clock: new FakeClock() })).resolves.toEqual({ value: 7, stale: false });
  });

  test("a throwing onLateResult does not surface anywhere", async () => {
    const clock = new FakeClock();
    const origin = controlledLoad<string>();
    const result = withTimeouts(origin.load, {
      softMs: 10,
      stale: { value: "old" },
      onLateResult: () => {
        throw new Error("callback bug");
      },
      clock,
    });
    await clock.advanceAsync(10);
    await expect(result).resolves.toMatchObject({ stale: true });
    origin.resolve("fresh");
    await clock.advanceAsync(0);
  });

  test("a signal the load first reads after the hard deadline is already aborted, with the deadline's error", async () => {
    const clock = new FakeClock();
    let given: TimedCall | undefined;
    const result = track(
      withTimeouts(
        (call) => {
          given = call;
          return new Promise<string>(() => undefined);
        },
        { hardMs: 1_000, clock },
      ),
    );
    await clock.advanceAsync(1_000);
    expect(result.error).toBeInstanceOf(HardTimeoutError);
    expect(given!.signal.aborted).toBe(true);
    expect(given!.signal.reason).toBe(result.error);
  });

  test("hardMs 0 still lets the load start, then rejects at once", async () => {
    const clock = new FakeClock();
    const origin = controlledLoad<string>();
    const result = withTimeouts(origin.load, { hardMs: 0, clock });
    clock.advance(0);
    await expect(result).rejects.toThrow(HardTimeoutError);
    expect(origin.state.calls).toBe(1);
  });

  test.each([
    ["a negative softMs", { softMs: -1 }],
    ["a NaN hardMs", { hardMs: NaN }],
    ["an infinite hardMs", { hardMs: Infinity }],
  ])("refuses %s", (_label, options) => {
    expect(() => withTimeouts(() => 1, options)).toThrow(ResilienceArgumentError);
  });
});

describe("jitterTtl", () => {
  test.each([
    [0, 54_000],
    [0.25, 57_000],
    [0.5, 60_000],
    [0.75, 63_000],
    [0.999999, 66_000],
  ])("with random() = %s, 60 s ±10%% becomes %s ms", (r, expected) => {
    expect(jitterTtl(60_000, 0.1, () => r)).toBe(expected);
  });

  test("stays within ±ratio, spreads over the range and is reproducible with a seeded random", () => {
    const random = seededRandom(7);
    const ttls = Array.from({ length: 10_000 }, () => jitterTtl(10_000, 0.2, random));
    expect(Math.min(...ttls)).toBeGreaterThanOrEqual(8_000);
    expect(Math.max(...ttls)).toBeLessThanOrEqual(12_000);
    expect(Math.min(...ttls)).toBeLessThan(8_100);
    expect(Math.max(...ttls)).toBeGreaterThan(11_900);
    const mean = ttls.reduce((a, b) => a + b, 0) / ttls.length;
    expect(Math.abs(mean - 10_000)).toBeLessThan(50);
    const again = seededRandom(7);
    expect(Array.from({ length: 10_000 }, () => jitterTtl(10_000, 0.2, again))).toEqual(ttls);
  });

  test("never returns less than 1 ms, and ratio 0 leaves the TTL as it is", () => {
    expect(jitterTtl(1, 0.9, () => 0)).toBe(1);
    expect(jitterTtl(1_234, 0, () => 0.3)).toBe(1_234);
  });

  test.each<[string, number, number, () => number]>([
    ["a zero TTL", 0, 0.1, () => 0.5],
    ["an infinite TTL", Infinity, 0.1, () => 0.5],
    ["a ratio of 1", 1_000, 1, () => 0.5],
    ["a negative ratio", 1_000, -0.1, () => 0.5],
    ["a random() of 1", 1_000, 0.1, () => 1],
  ])("refuses %s", (_label, ttl, ratio, random) => {
    expect(() => jitterTtl(ttl, ratio, random)).toThrow(ResilienceArgumentError);
  });
});
