import { describe, expect, test } from "vitest";
import { NOT_CACHED, NO_EXPIRY, rankObservations, refreshAheadKeys, timeOfDayWindows, zoneOffsetMs } from "./hot.ts";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { decodeSnapshot, encodeSnapshot, secondsLeft } from "./snapshot.ts";

const utc = (iso: string) => Date.parse(iso);
const MIN = 60_000;
const T = utc("2026-03-01T08:00:00Z");

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
    const entries = Array.from({ length: 500 }, (_, i) => ({
      key: `product:${i}`,
      value: { id: i, name: `Product ${i}`, tags: ["x", "y"] },
      expiresAt: T + 60_000,
    }));
    const encoded = await encodeSnapshot(entries);
    expect(encoded.count).toBe(500);
    expect(encoded.compressedBytes).toBeLessThan(encoded.rawBytes / 4);
    expect(await decodeSnapshot(encoded.data, T)).toEqual(entries);
  });

  test("a format-1 snapshot's TTLs count from the snapshot's creation", async () => {
    const raw = JSON.stringify({
      format: 1,
      entries: [
        { key: "a", value: 1, ttlMs: 30_000 },
        { key: "b", value: 2, ttlMs: -1, tags: ["t"] },
      ],
    });
    const data = await promisify(gzip)(Buffer.from(raw));
    expect(await decodeSnapshot(data, T)).toEqual([
      { key: "a", value: 1, expiresAt: T + 30_000 },
      { key: "b", value: 2, expiresAt: null, tags: ["t"] },
    ]);
  });

  test.each([
    [T + 90_500, T, 90],
    [T + 90_500, T + 90_000, 0],
    [T + 1_000, T + 2_000, 0],
    [null, T + 2_000, null],
  ])("a value expiring at %s has, at %s, %s whole seconds left", (expiresAt, now, left) => {
    expect(secondsLeft({ key: "k", value: 1, expiresAt }, now)).toBe(left);
  });

  test("data that is not a snapshot is refused", async () => {
    await expect(decodeSnapshot(Buffer.from("not gzip"), T)).rejects.toThrow();
  });
});
