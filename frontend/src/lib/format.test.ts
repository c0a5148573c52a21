import { describe, expect, test } from "vitest";
import { csvCell, formatAgo, formatBytes, formatDuration, formatPercent, formatTtl, prettyJson, toCsv, ttlNow } from "./format";

describe("formatting", () => {
  test.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1536, "1.5 KB"],
    [10 * 1024, "10 KB"],
    [5_000_000, "4.8 MB"],
    [-1, "—"],
  ])("bytes %d → %s", (n, s) => expect(formatBytes(n)).toBe(s));

  test.each([
    [-1, "No limit"],
    [0, "expired"],
    [400, "< 1 s"],
    [4_200, "4 s"],
    [61_000, "1 min 1 s"],
    [3_600_000, "1 h"],
    [3_660_000, "1 h 1 min"],
    [90_061_000, "1 d 1 h"],
  ])("TTL %d → %s (its first units)", (ms, s) => expect(formatTtl(ms)).toBe(s));

  test("a TTL counts down from when it was observed, stopping at 0; no-limit stays", () => {
    expect(ttlNow(10_000, 1_000, 4_000)).toBe(7_000);
    expect(ttlNow(10_000, 1_000, 60_000)).toBe(0);
    expect(ttlNow(-1, 1_000, 60_000)).toBe(-1);
  });

  test.each([
    [0.0421, "42 µs"],
    [12.34, "12.3 ms"],
    [340.4, "340 ms"],
    [1234, "1.23 s"],
    [65_000, "1 min 5 s"],
  ])("duration %d ms → %s", (ms, s) => expect(formatDuration(ms)).toBe(s));

  test("percent and relative times", () => {
    expect(formatPercent(0.8731)).toBe("87.3%");
    expect(formatAgo(0, 500)).toBe("just now");
    expect(formatAgo(0, 12_000)).toBe("12 s ago");
    expect(formatAgo(0, 180_000)).toBe("3 min ago");
  });

  test("CSV cells are quoted when needed and formulas neutralised", () => {
    expect(csvCell("plain")).toBe("plain");
    expect(csvCell('a,"b"')).toBe('"a,""b"""');
    expect(csvCell("=cmd()")).toBe("'=cmd()");
    expect(csvCell(["t1", "t2"])).toBe("t1 t2");
    expect(
      toCsv(
        ["k", "n"],
        [
          ["a", 1],
          ["b\nc", 2],
        ],
      ),
    ).toBe('k,n\r\na,1\r\n"b\nc",2\r\n');
  });

  test("JSON is pretty-printed; a truncated preview is shown as it is", () => {
    expect(prettyJson('{"a":[1]}')).toBe('{\n  "a": [\n    1\n  ]\n}');
    expect(prettyJson('{"a":[1')).toBe('{"a":[1');
  });
});
