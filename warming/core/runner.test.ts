import { describe, expect, test } from "vitest";
import { FakeClock } from "../../lib/clock.ts";
import { rebatch, runBatches, type RunControl, type RunProgress } from "./runner.ts";

async function* pages<T>(items: T[], size: number): AsyncGenerator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
const keys = (n: number) => Array.from({ length: n }, (_, i) => `k:${i}`);
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** 200 keys in batches of 10, each batch taking a turn of the loop, reporting to `afterBatch`. */
const runTwoHundred = (concurrency: number, afterBatch: (progress: RunProgress) => Promise<void>) =>
  runBatches({
    items: pages(keys(200), 50),
    batchSize: 10,
    concurrency,
    keyOf: (k) => k,
    clock: new FakeClock(0),
    control: { stop: null },
    process: async (batch) => {
      await tick();
      return { warmed: batch.length, skipped: 0 };
    },
    afterBatch,
  });

describe("runBatches", () => {
  test("regroups pages of any size into batches of exactly batchSize", async () => {
    const out: number[] = [];
    for await (const batch of rebatch(pages(keys(23), 7), 10)) out.push(batch.length);
    expect(out).toEqual([10, 10, 3]);
  });

  test("warms every key once and never has more than `concurrency` batches in flight", async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: string[] = [];
    const { progress, stopped } = await runBatches({
      items: pages(keys(1000), 33),
      batchSize: 25,
      concurrency: 4,
      keyOf: (k) => k,
      clock: new FakeClock(0),
      control: { stop: null },
      process: async (batch) => {
        peak = Math.max(peak, ++inFlight);
        await tick();
        seen.push(...batch);
        inFlight--;
        return { warmed: batch.length, skipped: 0 };
      },
    });
    expect(stopped).toBeNull();
    expect(peak).toBe(4);
    expect(progress).toMatchObject({ warmed: 1000, failed: 0, batches: 40 });
    expect(new Set(seen).size).toBe(1000);
  });

  test("a failing batch is retried with growing delays, then succeeds", async () => {
    const clock = new FakeClock(0);
    const attempts = new Map<string, number>();
    const { progress } = await clock.drive(
      runBatches({
        items: pages(keys(30), 30),
        batchSize: 10,
        concurrency: 1,
        keyOf: (k) => k,
        clock,
        control: { stop: null },
        retryDelayMs: 100,
        retries: 2,
        process: async (batch) => {
          const n = (attempts.get(batch[0]) ?? 0) + 1;
          attempts.set(batch[0], n);
          if (batch[0] === "k:10" && n < 3) throw new Error("origin timeout");
          return { warmed: batch.length, skipped: 0 };
        },
      }),
    );
    expect(progress).toMatchObject({ warmed: 30, failed: 0, retries: 2, errorSamples: [] });
    expect(attempts.get("k:10")).toBe(3);
    expect(clock.now()).toBe(100 + 200);
  });

  test("a batch that keeps failing is recorded as failed keys with an error sample, and the run goes on", async () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const { progress } = await clock.drive(
      runBatches({
        items: pages(keys(30), 30),
        batchSize: 10,
        concurrency: 2,
        keyOf: (k) => k,
        clock,
        control: { stop: null },
        retries: 1,
        process: async (batch) => {
          if (batch[0] === "k:20") throw new Error("origin answered 500");
          return { warmed: batch.length - 1, skipped: 1 };
        },
      }),
    );
    expect(progress).toMatchObject({ warmed: 18, skipped: 2, failed: 10, retries: 1 });
    expect(progress.errorSamples).toEqual([
      { at: "2025-01-01T00:00:00.200Z", message: "origin answered 500", keys: ["k:20", "k:21", "k:22", "k:23", "k:24"], attempts: 2 },
    ]);
  });

  test("a stop request is honoured between batches: the batch in flight finishes, no new one starts", async () => {
    const control: RunControl = { stop: null };
    const started: string[] = [];
    const result = await runBatches({
      items: pages(keys(100), 100),
      batchSize: 10,
      concurrency: 1,
      keyOf: (k) => k,
      clock: new FakeClock(0),
      control,
      process: async (batch) => {
        started.push(batch[0]);
        return { warmed: batch.length, skipped: 0 };
      },
      afterBatch: async (p) => {
        if (p.batches === 3) control.stop = "cancelled";
      },
    });
    expect(result.stopped).toBe("cancelled");
    expect(started).toEqual(["k:0", "k:10", "k:20"]);
    expect(result.progress.warmed).toBe(30);
  });

  test("progress is reported one call at a time, never going backwards", async () => {
    const reported: number[] = [];
    let reporting = 0;
    await runTwoHundred(8, async (p) => {
      expect(++reporting).toBe(1);
      reported.push(p.warmed);
      await tick();
      reporting--;
    });
    expect([...reported].sort((a, b) => a - b)).toEqual(reported);
    expect(reported.at(-1)).toBe(200);
  });

  test("batches that finish while a report waits share that report: fewer reports than batches, the last one covers all", async () => {
    const saved: number[] = [];
    await runTwoHundred(4, async (p) => {
      const warmed = p.warmed;
      await tick();
      await tick();
      saved.push(warmed);
    });
    expect(saved.length).toBeLessThan(20);
    expect(new Set(saved).size).toBe(saved.length);
    expect(saved.at(-1)).toBe(200);
  });

  test("a source that fails rejects the run after the batches in flight finish", async () => {
    async function* broken() {
      yield keys(10);
      throw new Error("listing failed: origin unreachable");
    }
    let processed = 0;
    await expect(
      runBatches({
        items: broken(),
        batchSize: 5,
        concurrency: 2,
        keyOf: (k) => k,
        clock: new FakeClock(0),
        control: { stop: null },
        process: async (batch) => {
          processed += batch.length;
          return { warmed: batch.length, skipped: 0 };
        },
      }),
    ).rejects.toThrow("listing failed");
    expect(processed).toBe(10);
  });
});
