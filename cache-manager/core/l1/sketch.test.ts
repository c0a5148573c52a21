import { describe, expect, test } from "vitest";
import { FrequencySketch, hashKey } from "./sketch";

describe("FrequencySketch", () => {
  test("never estimates below the true count, up to the 4-bit maximum of 15", () => {
    const sketch = new FrequencySketch(1_024);
    const counts = new Map<string, number>();
    for (let i = 0; i < 2_000; i++) {
      const key = `k${(i * 31) % 300}`;
      sketch.increment(hashKey(key));
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const [key, count] of counts) expect(sketch.frequency(hashKey(key))).toBeGreaterThanOrEqual(Math.min(15, count));
  });

  test("estimates keys never seen as rare", () => {
    const sketch = new FrequencySketch(1_024);
    for (let i = 0; i < 1_000; i++) sketch.increment(hashKey(`seen${i}`));
    const overestimated = Array.from({ length: 1_000 }, (_, i) => sketch.frequency(hashKey(`unseen${i}`))).filter((f) => f > 1);
    expect(overestimated.length).toBeLessThan(20);
  });

  test("saturates a counter at 15", () => {
    const sketch = new FrequencySketch(1_024);
    for (let i = 0; i < 40; i++) sketch.increment(hashKey("hot"));
    expect(sketch.frequency(hashKey("hot"))).toBe(15);
  });

  test("halves every count after 10 × capacity increments, so old popularity fades", () => {
    const sketch = new FrequencySketch(16); // sample size 160
    for (let i = 0; i < 12; i++) sketch.increment(hashKey("old"));
    expect(sketch.frequency(hashKey("old"))).toBe(12);
    for (let i = 0; i < 148; i++) sketch.increment(hashKey(`other${i}`));
    expect(sketch.frequency(hashKey("old"))).toBe(6);
  });
});

describe("hashKey", () => {
  test("spreads keys that differ in one character", () => {
    const buckets = new Set(Array.from({ length: 1_000 }, (_, i) => hashKey(`key:${i}`) & 1023));
    expect(buckets.size).toBeGreaterThan(550); // ~632 expected for a uniform hash
  });
});
