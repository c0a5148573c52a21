import { describe, expect, test } from "vitest";
import { seededRandom } from "../random.ts";
import { LatencyHistogram } from "./histogram.ts";

describe("LatencyHistogram differences and bucket counts", () => {
  test("now − before holds exactly the values recorded in between", () => {
    const random = seededRandom(7);
    const before = new LatencyHistogram();
    const between = new LatencyHistogram();
    const now = new LatencyHistogram();
    for (let i = 0; i < 50_000; i++) {
      const v = Math.exp(random() * 8);
      before.record(v);
      now.record(v);
    }
    before.record(0);
    now.record(0);
    for (let i = 0; i < 20_000; i++) {
      const v = 1 + random() * 10;
      between.record(v);
      now.record(v);
    }
    const diff = now.clone().subtract(before);
    expect(diff.count).toBe(20_000);
    for (const q of [0.01, 0.5, 0.9, 0.99]) expect(diff.quantile(q)).toBe(between.quantile(q));
    expect(diff.sum).toBeCloseTo(between.sum, 3);
    expect(LatencyHistogram.fromJSON(JSON.parse(JSON.stringify(diff.toJSON()))).count).toBe(20_000);
  });

  test("subtracting an equal or larger (restarted) histogram leaves nothing or the newer one", () => {
    const a = new LatencyHistogram();
    a.record(5);
    expect(a.clone().subtract(a).count).toBe(0);
    const bigger = new LatencyHistogram();
    bigger.record(1, 10);
    expect(a.clone().subtract(bigger).count).toBe(1);
  });

  test("countAtMost counts values up to a bound, within the relative accuracy", () => {
    const h = new LatencyHistogram();
    for (let v = 1; v <= 1000; v++) h.record(v);
    h.record(0);
    expect(h.countAtMost(-1)).toBe(0);
    expect(h.countAtMost(0)).toBe(1);
    expect(h.countAtMost(1000)).toBe(1001);
    for (const bound of [10, 100, 500]) {
      const n = h.countAtMost(bound);
      expect(n).toBeGreaterThanOrEqual(Math.floor(bound * 0.99) + 1);
      expect(n).toBeLessThanOrEqual(Math.ceil(bound * 1.01) + 1);
    }
  });
});
