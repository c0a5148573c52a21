import { describe, expect, test } from "vitest";
import { ClockArgumentError, FakeClock, monotonicClock, sleep, systemClock } from "./clock.ts";

describe("FakeClock", () => {
  test("fires due timers in order of due time, then of creation, reading each due time as now", () => {
    const clock = new FakeClock(1_000);
    const fired: [string, number][] = [];
    clock.setTimeout(() => fired.push(["c", clock.now()]), 30);
    clock.setTimeout(() => fired.push(["a", clock.now()]), 10);
    clock.setTimeout(() => fired.push(["b", clock.now()]), 10);
    clock.setTimeout(() => fired.push(["late", clock.now()]), 31);
    clock.advance(30);
    expect(fired).toEqual([
      ["a", 1_010],
      ["b", 1_010],
      ["c", 1_030],
    ]);
    expect(clock.now()).toBe(1_030);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(1);
    expect(fired.at(-1)).toEqual(["late", 1_031]);
    expect(clock.pendingTimers).toBe(0);
  });

  test("a cleared timer never fires, and clearing twice or after firing does nothing", () => {
    const clock = new FakeClock();
    let fired = 0;
    const handle = clock.setTimeout(() => fired++, 5);
    clock.clearTimeout(handle);
    clock.clearTimeout(handle);
    clock.advance(10);
    expect(fired).toBe(0);
    const other = clock.setTimeout(() => fired++, 5);
    clock.advance(5);
    clock.clearTimeout(other);
    expect(fired).toBe(1);
  });

  test("a timer scheduled by a timer fires in the same advance when it falls due within it", () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 0);
      clock.setTimeout(() => fired.push(clock.now()), 50);
      clock.setTimeout(() => fired.push(clock.now()), 200);
    }, 10);
    clock.advance(100);
    expect(fired).toEqual([10, 10, 60]);
    expect(clock.now()).toBe(100);
  });

  test("negative and NaN delays fire on the next advance, like Node's", () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push("negative"), -5);
    clock.setTimeout(() => fired.push("nan"), NaN);
    clock.advance(0);
    expect(fired).toEqual(["negative", "nan"]);
  });

  test("advance runs timers synchronously, so an async loop only gets one step per advance", async () => {
    const clock = new FakeClock();
    const steps: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(clock, 10);
        await Promise.resolve();
        steps.push(clock.now());
      }
    })();
    await Promise.resolve();
    clock.advance(30);
    await new Promise((resolve) => setImmediate(resolve));
    // The continuation ran only after advance returned, when the clock already read 30.
    expect(steps).toEqual([30]);
    await clock.advanceAsync(30);
    await loop;
    expect(steps).toEqual([30, 40, 50]);
  });

  test("advanceAsync lets awaits between timers proceed as in real time", async () => {
    const clock = new FakeClock();
    const steps: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(clock, 10);
        await Promise.resolve();
        steps.push(clock.now());
      }
    })();
    await clock.advanceAsync(30);
    await loop;
    expect(steps).toEqual([10, 20, 30]);
  });

  test("runAllAsync drains every timer, including those scheduled while draining", async () => {
    const clock = new FakeClock();
    const loop = (async () => {
      for (let i = 0; i < 5; i++) await sleep(clock, 1_000);
      return clock.now();
    })();
    await clock.runAllAsync();
    await expect(loop).resolves.toBe(5_000);
    expect(clock.pendingTimers).toBe(0);
  });

  test("a timer that reschedules itself forever is stopped by the guard", () => {
    const clock = new FakeClock(0, 1_000);
    const again = () => void clock.setTimeout(again, 0);
    again();
    expect(() => clock.advance(1)).toThrow(ClockArgumentError);
  });

  test.each([[-1], [NaN], [Infinity]])("advance(%s) is refused", (ms) => {
    expect(() => new FakeClock().advance(ms)).toThrow(ClockArgumentError);
  });
});

describe("sleep", () => {
  test("rejects with the signal's reason when aborted, and leaves no timer behind", async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const slept = sleep(clock, 1_000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(slept).rejects.toThrow("stop");
    expect(clock.pendingTimers).toBe(0);
  });

  test("rejects at once when the signal is already aborted", async () => {
    await expect(sleep(new FakeClock(), 10, AbortSignal.abort(new Error("gone")))).rejects.toThrow("gone");
  });
});

describe("real clocks", () => {
  test.each([
    ["systemClock", systemClock],
    ["monotonicClock", monotonicClock],
  ])("%s fires timers on real time and can clear them", async (_name, clock) => {
    const started = clock.now();
    let cleared = false;
    const handle = clock.setTimeout(() => (cleared = true), 5);
    clock.clearTimeout(handle);
    await sleep(clock, 20);
    expect(clock.now() - started).toBeGreaterThanOrEqual(15);
    expect(cleared).toBe(false);
  });

  test("systemClock reads wall-clock time", () => {
    expect(Math.abs(systemClock.now() - Date.now())).toBeLessThan(50);
  });
});

describe("FakeClock.drive", () => {
  test("fires timers until the work settles, however many it sets one after another", async () => {
    const clock = new FakeClock(0);
    const work = (async () => {
      for (const ms of [100, 200, 400]) await sleep(clock, ms);
      return clock.now();
    })();
    expect(await clock.drive(work)).toBe(700);
  });

  test("passes the work's rejection on", async () => {
    const clock = new FakeClock(0);
    const work = sleep(clock, 50).then(() => Promise.reject(new Error("boom")));
    await expect(clock.drive(work)).rejects.toThrow("boom");
    expect(clock.now()).toBe(50);
  });
});
