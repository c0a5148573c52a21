/**
 * Encore's duration grammar, from the crate its parser uses (duration-string 0.3, read by
 * tsparser/litparser/src/lib.rs): each case is a verdict of that parser.
 */
import { describe, expect, test } from "vitest";
import { parseDuration, tryParseDuration } from "./duration.ts";

describe("Encore's duration grammar", () => {
  test.each([
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["1h 30m", 5_400_000],
    [" 1 h ", 3_600_000],
    ["500ms", 500],
    ["250us", 0.25],
    ["2d", 172_800_000],
    ["1w", 604_800_000],
    ["1y", 31_556_926_000],
    ["0s", 0],
    ["1m1m", 120_000],
    ["5 m s", 5], // whitespace is dropped first: "5ms"
  ])("accepts %j as %d ms", (text, ms) => {
    expect(tryParseDuration(text)).toBe(ms);
  });

  test.each(["1.5h", "90", "h", "", "1 hour", "1H", "10µs", "-5s", "+5s", "1h30", "99999999999999999999s"])("refuses %j", (text) => {
    expect(tryParseDuration(text)).toBeUndefined();
    expect(() => parseDuration(text)).toThrow(/Encore expects integer groups with a unit/);
  });
});
