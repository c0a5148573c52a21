import { describe, expect, test } from "vitest";
import { SingleFlight } from "./singleflight.ts";

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

describe("SingleFlight", () => {
  test("100 concurrent calls for one key run the function once and all get its value", async () => {
    const flights = new SingleFlight<string, number>();
    const gate = deferred<number>();
    let runs = 0;
    const calls = Array.from({ length: 100 }, () =>
      flights.do("user:1", () => {
        runs++;
        return gate.promise;
      }),
    );
    expect(flights.stats()).toEqual({ inFlight: 1, started: 1, joined: 99 });
    gate.resolve(42);
    expect(await Promise.all(calls)).toEqual(Array(100).fill(42));
    expect(runs).toBe(1);
    expect(flights.has("user:1")).toBe(false);
  });

  test("a failure reaches every waiter as the same error, and the next call runs again", async () => {
    const flights = new SingleFlight<string, string>();
    const gate = deferred<string>();
    const calls = Array.from({ length: 10 }, () => flights.do("k", () => gate.promise));
    const boom = new Error("origin down");
    gate.reject(boom);
    const results = await Promise.allSettled(calls);
    expect(results.every((r) => r.status === "rejected" && r.reason === boom)).toBe(true);
    expect(flights.has("k")).toBe(false);
    await expect(flights.do("k", () => "recovered")).resolves.toBe("recovered");
  });

  test("a synchronous throw becomes a shared rejection", async () => {
    const flights = new SingleFlight<string, string>();
    const first = flights.do("k", () => {
      throw new Error("sync");
    });
    const second = flights.do("k", () => "never");
    await expect(first).rejects.toThrow("sync");
    await expect(second).rejects.toThrow("sync");
  });

  test("different keys run independently and concurrently", async () => {
    const flights = new SingleFlight<string, string>();
    const a = deferred<string>();
    const b = deferred<string>();
    const callA = flights.do("a", () => a.promise);
    const callB = flights.do("b", () => b.promise);
    expect(flights.stats().inFlight).toBe(2);
    b.resolve("B");
    await expect(callB).resolves.toBe("B");
    expect(flights.has("a")).toBe(true);
    a.resolve("A");
    await expect(callA).resolves.toBe("A");
  });

  test("after forget, new callers start a fresh call while earlier waiters get the old result", async () => {
    const flights = new SingleFlight<string, string>();
    const old = deferred<string>();
    const fresh = deferred<string>();
    const before = flights.do("k", () => old.promise);
    expect(flights.forget("k")).toBe(true);
    const after = flights.do("k", () => fresh.promise);
    old.resolve("old value");
    await expect(before).resolves.toBe("old value");
    // The old call settling must not remove the fresh call's entry.
    expect(flights.has("k")).toBe(true);
    expect(flights.do("k", () => "third")).toBe(after);
    fresh.resolve("new value");
    await expect(after).resolves.toBe("new value");
    expect(flights.has("k")).toBe(false);
    expect(flights.forget("k")).toBe(false);
  });
});
