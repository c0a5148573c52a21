import { describe, expect, test } from "vitest";
import { TickBatch } from "./tick-batch";

describe("TickBatch", () => {
  test("calls made in one turn of the loop run as one batch, each getting its own result", async () => {
    const runs: number[][] = [];
    const batch = new TickBatch(async (items: number[]) => {
      runs.push([...items]);
      return items.map((n) => n * 10);
    });
    const results = await Promise.all([1, 2, 3].map((n) => batch.add(n)));
    expect(results).toEqual([10, 20, 30]);
    expect(runs).toEqual([[1, 2, 3]]);
  });

  test("a call made after the batch was sent starts the next batch", async () => {
    const runs: string[][] = [];
    const batch = new TickBatch(async (items: string[]) => {
      runs.push([...items]);
      return items;
    });
    const first = batch.add("a");
    await new Promise((resolve) => setImmediate(resolve));
    const second = batch.add("b");
    expect(await Promise.all([first, second])).toEqual(["a", "b"]);
    expect(runs).toEqual([["a"], ["b"]]);
  });

  test("a batch never holds more than maxItems", async () => {
    const sizes: number[] = [];
    const batch = new TickBatch(async (items: number[]) => {
      sizes.push(items.length);
      return items;
    }, 4);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => batch.add(i)));
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sizes).toEqual([4, 4, 2]);
  });

  test("a failed batch rejects every call in it, and the next batch runs normally", async () => {
    let fail = true;
    const batch = new TickBatch(async (items: number[]) => {
      if (fail) throw new Error("connection lost");
      return items;
    });
    const failed = await Promise.allSettled([batch.add(1), batch.add(2)]);
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect((failed[0] as PromiseRejectedResult).reason.message).toBe("connection lost");
    fail = false;
    expect(await batch.add(3)).toBe(3);
  });
});
