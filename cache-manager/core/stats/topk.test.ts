import { describe, expect, test } from "vitest";
import { FakeClock } from "../../../lib/clock.ts";
import { StatsArgumentError } from "../../../lib/metrics/errors.ts";
import { seededRandom } from "../../../lib/random.ts";
import { TopK, type TopKEntry } from "./topk.ts";

/** `length` draws from a Zipf(s) distribution over `items` keys whose names do not reveal rank. */
function zipfStream(items: number, s: number, length: number, seed: number): string[] {
  const random = seededRandom(seed);
  const cdf = new Float64Array(items);
  let sum = 0;
  for (let rank = 0; rank < items; rank++) cdf[rank] = sum += 1 / (rank + 1) ** s;
  const names = Array.from({ length: items }, (_, i) => `key:${i}`);
  for (let i = items - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [names[i], names[j]] = [names[j], names[i]];
  }
  return Array.from({ length }, () => {
    const target = random() * sum;
    let lo = 0;
    let hi = items - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < target) lo = mid + 1;
      else hi = mid;
    }
    return names[lo];
  });
}

function exactCounts(stream: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of stream) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

function expectBoundsRespected(entries: TopKEntry[], truth: Map<string, number>, maxError: number): void {
  for (const { key, count, error } of entries) {
    const actual = truth.get(key) ?? 0;
    expect(count - error).toBeLessThanOrEqual(actual);
    expect(actual).toBeLessThanOrEqual(count);
    expect(error).toBeLessThanOrEqual(maxError);
  }
}

describe("TopK", () => {
  test("counts exactly while the distinct keys fit in its capacity", () => {
    const topk = new TopK({ k: 3, capacity: 10 });
    for (const [key, times] of [
      ["a", 5],
      ["b", 9],
      ["c", 1],
      ["d", 7],
    ] as const)
      for (let i = 0; i < times; i++) topk.offer(key);
    expect(topk.top()).toEqual([
      { key: "b", count: 9, error: 0 },
      { key: "d", count: 7, error: 0 },
      { key: "a", count: 5, error: 0 },
    ]);
    expect(topk.top(10)).toHaveLength(4);
    expect(topk.total).toBe(22);
  });

  test("on a Zipf stream, finds the true top 10 within its error bounds in bounded memory", () => {
    const stream = zipfStream(50_000, 1.1, 300_000, 1);
    const truth = exactCounts(stream);
    const topk = new TopK({ k: 10, capacity: 200 });
    for (const key of stream) topk.offer(key);

    const trueTop = [...truth.entries()].sort((a, b) => b[1] - a[1]).slice(0, 11);
    expect(trueTop[9][1]).toBeGreaterThan(trueTop[10][1]); // the true top 10 is unambiguous
    const reported = topk.top(10);
    expect(new Set(reported.map((e) => e.key))).toEqual(new Set(trueTop.slice(0, 10).map(([key]) => key)));
    expect(reported.map((e) => e.count)).toEqual([...reported.map((e) => e.count)].sort((a, b) => b - a));

    expect(topk.size).toBe(200);
    expectBoundsRespected(topk.top(200), truth, stream.length / topk.capacity);
  });

  test("on a uniform stream of 100,000 keys, memory stays at capacity and the bounds still hold", () => {
    const random = seededRandom(2);
    const stream = Array.from({ length: 200_000 }, () => `k${Math.floor(random() * 100_000)}`);
    const topk = new TopK({ k: 5, capacity: 100 });
    for (const key of stream) topk.offer(key);
    expect(topk.size).toBe(100);
    expectBoundsRespected(topk.top(100), exactCounts(stream), stream.length / 100);
  });

  test("weights count as that many occurrences", () => {
    const topk = new TopK({ k: 2 });
    topk.offer("big", 1_000);
    topk.offer("small", 3);
    topk.offer("small", 0.5);
    expect(topk.top()).toEqual([
      { key: "big", count: 1_000, error: 0 },
      { key: "small", count: 3.5, error: 0 },
    ]);
  });

  test("offerAll counts each listed key once per listing, with the decay applied first, as offers at that instant", () => {
    const clock = new FakeClock();
    const decay = { intervalMs: 1_000, factor: 0.5 };
    const [batched, single] = [new TopK({ k: 3, capacity: 3, decay, clock }), new TopK({ k: 3, capacity: 3, decay, clock })];
    const first = ["a", "b", "a", "c"];
    const second = ["d", "a", "d"]; // "d" is a newcomer in a full summary: Space-Saving applies
    batched.offerAll(first);
    for (const key of first) single.offer(key);
    clock.advance(1_000);
    batched.offerAll(second);
    for (const key of second) single.offer(key);
    expect(batched.top()).toEqual(single.top());
    expect(batched.total).toBe(single.total);
    expect(batched.estimate("a")).toEqual({ key: "a", count: 2 / 2 + 1, error: 0 });
  });

  test("a newcomer in a full summary takes the smallest counter and inherits its count as error", () => {
    const topk = new TopK({ k: 1, capacity: 2 });
    topk.offer("a", 5);
    topk.offer("b", 2);
    topk.offer("c");
    expect(topk.estimate("b")).toBeUndefined();
    expect(topk.estimate("c")).toEqual({ key: "c", count: 3, error: 2 });
    expect(topk.estimate("a")).toEqual({ key: "a", count: 5, error: 0 });
  });

  test("decay on an interval lets a newly popular key overtake a formerly hot one", () => {
    const clock = new FakeClock();
    const topk = new TopK({ k: 2, capacity: 20, decay: { intervalMs: 1_000, factor: 0.5 }, clock });
    for (let i = 0; i < 1_000; i++) topk.offer("yesterday");
    for (let i = 0; i < 10; i++) topk.offer("today");
    clock.advance(5_500);
    for (let i = 0; i < 100; i++) topk.offer("today");
    expect(topk.top(1)[0].key).toBe("today");
    expect(topk.estimate("yesterday")!.count).toBeCloseTo(1_000 / 32);
    expect(topk.estimate("today")!.count).toBeCloseTo(10 / 32 + 100);
    // The half interval left over is not lost: one more decay happens at 6 s.
    clock.advance(500);
    expect(topk.estimate("today")!.count).toBeCloseTo((10 / 32 + 100) / 2);
  });

  test("decay scales counts, errors and the total, and keeps the ranking", () => {
    const topk = new TopK({ k: 2, capacity: 2 });
    topk.offer("a", 8);
    topk.offer("b", 4);
    topk.offer("c", 2);
    topk.decay(0.25);
    expect(topk.top()).toEqual([
      { key: "a", count: 2, error: 0 },
      { key: "c", count: 1.5, error: 1 },
    ]);
    expect(topk.total).toBe(3.5);
  });

  test("reset forgets everything", () => {
    const topk = new TopK({ k: 2 });
    topk.offer("a");
    topk.reset();
    expect(topk.size).toBe(0);
    expect(topk.top()).toEqual([]);
    expect(topk.total).toBe(0);
    topk.offer("b");
    expect(topk.top()).toEqual([{ key: "b", count: 1, error: 0 }]);
  });

  test.each([
    ["k of 0", () => new TopK({ k: 0 })],
    ["a capacity below k", () => new TopK({ k: 10, capacity: 5 })],
    ["a decay factor above 1", () => new TopK({ k: 1, decay: { intervalMs: 1, factor: 2 } })],
    ["a decay interval of 0", () => new TopK({ k: 1, decay: { intervalMs: 0, factor: 0.5 } })],
    ["a zero weight", () => new TopK({ k: 1 }).offer("a", 0)],
    ["a NaN weight", () => new TopK({ k: 1 }).offer("a", NaN)],
    ["a negative n", () => new TopK({ k: 1 }).top(-1)],
    ["a decay factor of 0", () => new TopK({ k: 1 }).decay(0)],
  ])("refuses %s", (_label, call) => {
    expect(call).toThrow(StatsArgumentError);
  });
});
