import { describe, expect, test } from "vitest";
import { NOT_CACHED, NO_EXPIRY, rankObservations, refreshAheadKeys, timeOfDayWindows, zoneOffsetMs } from "./hot.ts";
import { decodeSnapshot, encodeSnapshot } from "./snapshot.ts";

const utc = (iso: string) => Date.parse(iso);
const MIN = 60_000;

describe("hot-key prediction", () => {
  test("refresh-ahead picks hot keys that expired or expire within the window, hottest first", () => {
    const hot = [
      { key: "product:1", count: 50, ttlMs: 5_000 },
      { key: "product:2", count: 90, ttlMs: NOT_CACHED },
      { key: "product:3", count: 70, ttlMs: 600_000 },
      { key: "product:4", count: 80, ttlMs: NO_EXPIRY },
      { key: "user:1", count: 99, ttlMs: 1_000 },
      { key: "product:5", count: 10, ttlMs: 59_000 },
    ];
    expect(refreshAheadKeys(hot, { refreshAheadMs: 60_000, namespace: "product:", topN: 10 })).toEqual(["product:2", "product:1", "product:5"]);
    expect(refreshAheadKeys(hot, { refreshAheadMs: 60_000, namespace: null, topN: 2 })).toEqual(["user:1", "product:2"]);
  });

  test("time-of-day windows are centred on the same time on previous days", () => {
    const windows = timeOfDayWindows(utc("2025-06-10T08:00:00Z"), { days: 2, lookaheadMs: 15 * MIN, halfWidthMs: 10 * MIN });
    expect(windows.map(([a, b]) => [new Date(a).toISOString(), new Date(b).toISOString()])).toEqual([
      ["2025-06-09T08:05:00.000Z", "2025-06-09T08:25:00.000Z"],
      ["2025-06-08T08:05:00.000Z", "2025-06-08T08:25:00.000Z"],
    ]);
  });

  test("time-of-day windows follow local time across a DST change", () => {
    // Monday 2025-03-31 09:00 CEST = 07:00Z; the day before DST began, 09:00 CET = 08:00Z.
    const windows = timeOfDayWindows(utc("2025-03-31T07:00:00Z"), { days: 2, lookaheadMs: 0, halfWidthMs: 0, timeZone: "Europe/Berlin" });
    expect(windows.map(([a]) => new Date(a).toISOString())).toEqual(["2025-03-30T07:00:00.000Z", "2025-03-29T08:00:00.000Z"]);
    expect(zoneOffsetMs(utc("2025-07-01T00:00:00Z"), "Europe/Berlin")).toBe(2 * 3600_000);
  });

  test("observations are ranked by their summed counts", () => {
    const rows = [
      { key: "a", count: 5 },
      { key: "b", count: 4 },
      { key: "a", count: 1 },
      { key: "c", count: 7 },
      { key: "b", count: 4 },
    ];
    expect(rankObservations(rows, 2)).toEqual(["b", "c"]);
  });
});

describe("snapshots", () => {
  test("values survive the compressed round trip and repetitive values compress well", async () => {
    const entries = Array.from({ length: 500 }, (_, i) => ({ key: `product:${i}`, value: { id: i, name: `Product ${i}`, tags: ["x", "y"] }, ttlMs: 60_000 }));
    const encoded = await encodeSnapshot(entries);
    expect(encoded.count).toBe(500);
    expect(encoded.compressedBytes).toBeLessThan(encoded.rawBytes / 4);
    expect(await decodeSnapshot(encoded.data)).toEqual(entries);
  });

  test("data that is not a snapshot is refused", async () => {
    await expect(decodeSnapshot(Buffer.from("not gzip"))).rejects.toThrow();
  });
});
