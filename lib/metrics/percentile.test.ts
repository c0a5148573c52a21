import { describe, expect, test } from "vitest";
import { percentile } from "./percentile";

describe("percentile (nearest rank)", () => {
  test.each([
    [[5], 99, 5],
    [[1, 2, 3, 4], 50, 2],
    [[4, 3, 2, 1, 100], 99, 100],
    [[4, 3, 2, 1, 100], 0, 1],
    [[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90, 90],
    [[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 91, 100],
  ])("%j at p%d is %d", (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });

  test("no samples: NaN, or the fallback given", () => {
    expect(percentile([], 50)).toBeNaN();
    expect(percentile([], 50, 0)).toBe(0);
  });

  test("the input is not reordered", () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });
});
