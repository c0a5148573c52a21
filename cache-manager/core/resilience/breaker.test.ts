import { describe, expect, test } from "vitest";
import { CircuitBreaker, type BreakerState, type CircuitBreakerOptions } from "./breaker.ts";
import { FakeClock } from "../../../lib/clock.ts";
import { BreakerOpenError, ResilienceArgumentError } from "./errors.ts";

const ok = () => Promise.resolve("ok");
const failing =
  (message = "l2 down") =>
  () =>
    Promise.reject(new Error(message));

function buildBreaker(options: Partial<CircuitBreakerOptions> = {}) {
  const clock = new FakeClock(10_000);
  const breaker = new CircuitBreaker({ name: "l2", failureThreshold: 3, openMs: 1_000, clock, ...options });
  const transitions: string[] = [];
  breaker.onStateChange(({ from, to }) => transitions.push(`${from}->${to}`));
  return { clock, breaker, transitions };
}

async function failTimes(breaker: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await expect(breaker.run(failing())).rejects.toThrow("l2 down");
}

/** A promise the test settles by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("CircuitBreaker with a consecutive-failure threshold", () => {
  test("stays closed below the threshold and opens when it is reached", async () => {
    const { breaker, transitions } = buildBreaker();
    await failTimes(breaker, 2);
    expect(breaker.state).toBe("closed");
    await failTimes(breaker, 1);
    expect(breaker.state).toBe("open");
    expect(transitions).toEqual(["closed->open"]);
  });

  test("a success resets the consecutive count", async () => {
    const { breaker } = buildBreaker();
    await failTimes(breaker, 2);
    await breaker.run(ok);
    await failTimes(breaker, 2);
    expect(breaker.state).toBe("closed");
    expect(breaker.stats().consecutiveFailures).toBe(2);
  });

  test("fails fast while open, without calling fn, naming when to retry and the failure behind it", async () => {
    const { breaker, clock } = buildBreaker();
    await failTimes(breaker, 3);
    clock.advance(400);
    let called = false;
    const error = await breaker
      .run(() => {
        called = true;
        return ok();
      })
      .catch((e: unknown) => e);
    expect(called).toBe(false);
    expect(error).toBeInstanceOf(BreakerOpenError);
    expect(error).toMatchObject({ code: "E_BREAKER_OPEN", breaker: "l2", retryAfterMs: 600 });
    expect(((error as Error).cause as Error).message).toBe("l2 down");
    expect(BreakerOpenError.code).toBe("E_BREAKER_OPEN");
    expect(breaker.stats()).toMatchObject({ state: "open", rejected: 1, calls: 3, failures: 3, opened: 1, openUntil: 11_000 });
  });

  test("after openMs a trial call runs; its success closes the breaker", async () => {
    const { breaker, clock, transitions } = buildBreaker();
    await failTimes(breaker, 3);
    clock.advance(999);
    expect(breaker.state).toBe("open");
    clock.advance(1);
    expect(breaker.state).toBe("half-open");
    await expect(breaker.run(ok)).resolves.toBe("ok");
    expect(breaker.state).toBe("closed");
    expect(transitions).toEqual(["closed->open", "open->half-open", "half-open->closed"]);
    expect(breaker.stats().consecutiveFailures).toBe(0);
  });

  test("a failed trial reopens the breaker for another openMs", async () => {
    const { breaker, clock, transitions } = buildBreaker();
    await failTimes(breaker, 3);
    clock.advance(1_000);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe("open");
    expect(breaker.stats()).toMatchObject({ opened: 2, openUntil: 12_000 });
    clock.advance(999);
    await expect(breaker.run(ok)).rejects.toThrow(BreakerOpenError);
    clock.advance(1);
    await expect(breaker.run(ok)).resolves.toBe("ok");
    expect(transitions).toEqual(["closed->open", "open->half-open", "half-open->open", "open->half-open", "half-open->closed"]);
  });

  test("half-open admits only halfOpenMaxCalls trials and closes once all of them succeed", async () => {
    const { breaker, clock } = buildBreaker({ halfOpenMaxCalls: 2 });
    await failTimes(breaker, 3);
    clock.advance(1_000);
    const first = deferred<string>();
    const second = deferred<string>();
    const trial1 = breaker.run(() => first.promise);
    const trial2 = breaker.run(() => second.promise);
    const extra = await breaker.run(ok).catch((e: unknown) => e);
    expect(extra).toBeInstanceOf(BreakerOpenError);
    expect(extra).toMatchObject({ retryAfterMs: 0 });
    first.resolve("one");
    await trial1;
    expect(breaker.state).toBe("half-open");
    second.resolve("two");
    await trial2;
    expect(breaker.state).toBe("closed");
  });

  test("a slow call that started while closed does not count as a trial when it fails later", async () => {
    const { breaker, clock } = buildBreaker();
    const slow = deferred<string>();
    const slowCall = breaker.run(() => slow.promise);
    await failTimes(breaker, 3);
    clock.advance(1_000);
    expect(breaker.state).toBe("half-open");
    slow.reject(new Error("late failure"));
    await expect(slowCall).rejects.toThrow("late failure");
    expect(breaker.state).toBe("half-open");
    await breaker.run(ok);
    expect(breaker.state).toBe("closed");
  });

  test("errors that isFailure rejects pass through without opening the breaker", async () => {
    class NotFound extends Error {}
    const { breaker } = buildBreaker({ isFailure: (error) => !(error instanceof NotFound) });
    for (let i = 0; i < 5; i++) await expect(breaker.run(() => Promise.reject(new NotFound("no key")))).rejects.toThrow(NotFound);
    expect(breaker.state).toBe("closed");
    expect(breaker.stats().failures).toBe(0);
  });

  test("a synchronous throw from fn counts as a failure", async () => {
    const { breaker } = buildBreaker({ failureThreshold: 1 });
    await expect(
      breaker.run(() => {
        throw new Error("sync");
      }),
    ).rejects.toThrow("sync");
    expect(breaker.state).toBe("open");
  });

  test("trip opens and reset closes on an operator's word", async () => {
    const { breaker, transitions } = buildBreaker();
    breaker.trip(new Error("maintenance"));
    await expect(breaker.run(ok)).rejects.toThrow(BreakerOpenError);
    breaker.reset();
    await expect(breaker.run(ok)).resolves.toBe("ok");
    expect(transitions).toEqual(["closed->open", "open->closed"]);
  });

  test("a listener that throws changes nothing, and an unsubscribed listener hears nothing", async () => {
    const { breaker } = buildBreaker({ failureThreshold: 1 });
    const heard: BreakerState[] = [];
    breaker.onStateChange(() => {
      throw new Error("listener bug");
    });
    const off = breaker.onStateChange(({ to }) => heard.push(to));
    await failTimes(breaker, 1);
    off();
    breaker.reset();
    expect(heard).toEqual(["open"]);
    expect(breaker.state).toBe("closed");
  });
});

describe("CircuitBreaker with a failure-rate threshold", () => {
  const rate = { ratio: 0.5, windowMs: 10_000, minCalls: 10 };

  test("does not open before the window holds minCalls calls", async () => {
    const { breaker } = buildBreaker({ failureThreshold: rate });
    await failTimes(breaker, 9);
    expect(breaker.state).toBe("closed");
    await failTimes(breaker, 1);
    expect(breaker.state).toBe("open");
  });

  test("opens when failures reach the ratio, even when they are not consecutive", async () => {
    const { breaker } = buildBreaker({ failureThreshold: rate });
    for (let i = 0; i < 6; i++) {
      await breaker.run(ok);
      if (i < 4) await failTimes(breaker, 1);
    }
    expect(breaker.stats().window).toEqual({ calls: 10, failures: 4 });
    expect(breaker.state).toBe("closed");
    await failTimes(breaker, 1);
    expect(breaker.stats().window).toEqual({ calls: 11, failures: 5 });
    await failTimes(breaker, 1);
    expect(breaker.state).toBe("open");
  });

  test("failures older than the window slide out and no longer count", async () => {
    const { breaker, clock } = buildBreaker({ failureThreshold: rate });
    await failTimes(breaker, 8);
    clock.advance(10_000);
    for (let i = 0; i < 8; i++) await breaker.run(ok);
    await failTimes(breaker, 2);
    expect(breaker.stats().window).toEqual({ calls: 10, failures: 2 });
    expect(breaker.state).toBe("closed");
  });
});

describe("CircuitBreaker options", () => {
  test.each<[string, Partial<CircuitBreakerOptions>]>([
    ["a zero failure threshold", { failureThreshold: 0 }],
    ["a fractional failure threshold", { failureThreshold: 2.5 }],
    ["a zero openMs", { openMs: 0 }],
    ["an infinite openMs", { openMs: Infinity }],
    ["zero halfOpenMaxCalls", { halfOpenMaxCalls: 0 }],
    ["a ratio above 1", { failureThreshold: { ratio: 1.5, windowMs: 1_000, minCalls: 5 } }],
    ["a zero window", { failureThreshold: { ratio: 0.5, windowMs: 0, minCalls: 5 } }],
    ["zero minCalls", { failureThreshold: { ratio: 0.5, windowMs: 1_000, minCalls: 0 } }],
  ])("refuses %s", (_label, options) => {
    expect(() => buildBreaker(options)).toThrow(ResilienceArgumentError);
  });
});
