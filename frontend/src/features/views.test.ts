import { describe, expect, test } from "vitest";
import { jobRunStats, type RunSummary } from "../api/warming";
import { describeBars, describeSeries, groupBars, pivot } from "../components/charts";
import { splitList } from "./invalidation/state";
import { snapshotRates } from "./overview/series";
import { formFromJob, jobInputFromForm } from "./warming/JobForm";

const run = (id: number, jobId: number, status: RunSummary["status"]): RunSummary => ({
  id,
  jobId,
  status,
  trigger: "manual",
  priority: 5,
  warmed: 0,
  failed: 0,
  skipped: 0,
  createdAt: "",
});

describe("view logic", () => {
  test("job stats: last run is the newest, success rate over finished runs only", () => {
    const stats = jobRunStats([run(9, 1, "running"), run(8, 1, "succeeded"), run(7, 1, "failed"), run(6, 2, "succeeded"), run(5, 1, "succeeded")]);
    expect(stats.get(1)).toMatchObject({ last: { id: 9 }, finished: 3, succeeded: 2 });
    expect(stats.get(2)).toMatchObject({ finished: 1, succeeded: 1 });
  });

  test("rates between snapshots; a counter reset counts as zero, not negative", () => {
    const rates = snapshotRates([
      { at: 0, totals: { invalidations: 0, invalidatedKeys: 0, warmedKeys: 0 } },
      { at: 2000, totals: { invalidations: 4, invalidatedKeys: 100, warmedKeys: 10 } },
      { at: 3000, totals: { invalidations: 1, invalidatedKeys: 100, warmedKeys: 30 } },
    ]);
    expect(
      rates.map(({ invalidationsPerSecond, invalidatedKeysPerSecond, warmedKeysPerSecond }) => [
        invalidationsPerSecond,
        invalidatedKeysPerSecond,
        warmedKeysPerSecond,
      ]),
    ).toEqual([
      [2, 50, 5],
      [0, 0, 20],
    ]);
  });

  test("chart pivots: long points → rows by x; bars → rows by group", () => {
    expect(
      pivot([
        { x: 2, series: "a", value: 1 },
        { x: 1, series: "b", value: 2 },
        { x: 2, series: "b", value: 3 },
      ]),
    ).toEqual({
      rows: [
        { x: 1, b: 2 },
        { x: 2, a: 1, b: 3 },
      ],
      series: ["a", "b"],
    });
    expect(
      groupBars([
        { group: "p50", variant: "miss", value: 50 },
        { group: "p50", variant: "hit", value: 1 },
      ]).rows,
    ).toEqual([{ group: "p50", miss: 50, hit: 1 }]);
  });

  test("a chart's text alternative states its figures: latest value and range per series", () => {
    const pct = (v: number) => `${Math.round(v * 100)}%`;
    const rows = [
      { hit: 0.9, miss: 0.1 },
      { hit: 1, miss: null },
      { hit: 0.95, miss: 0.05 },
    ];
    expect(
      describeSeries(rows, [
        { key: "hit", name: "hit ratio", format: pct },
        { key: "miss", name: "miss ratio", format: pct },
        { key: "absent", name: "absent", format: pct },
      ]),
    ).toBe("Latest of 3 points: hit ratio 95% (90% to 100%); miss ratio 5% (5% to 10%).");
    expect(describeSeries([{ a: 2 }], [{ key: "a", name: "a", format: String }])).toBe("Latest of 1 points: a 2.");
    expect(describeSeries([], [{ key: "a", name: "a", format: String }])).toBe("No data yet.");
    expect(describeBars([{ group: "p50", miss: 50, hit: 1 }], ["miss", "hit"], (v) => `${v} ms`)).toBe("p50: miss 50 ms, hit 1 ms.");
  });

  test("a job form becomes the request body the warming service validates", () => {
    const form = { ...formFromJob(), name: " nightly ", schedule: "0 4 * * *", timeZone: "", keys: "a:1\na:2, a:3", ttlSeconds: "" };
    expect(jobInputFromForm(form)).toEqual({
      name: "nightly",
      enabled: true,
      schedule: "0 4 * * *",
      timeZone: "UTC",
      source: { type: "keys", keys: ["a:1", "a:2", "a:3"] },
      namespace: undefined,
      priority: 5,
      batchSize: 100,
      concurrency: 4,
      ttlSeconds: undefined,
    });
  });

  test("keys and tags typed in the console are split and de-duplicated", () => {
    expect(splitList(" a b,c\n\na ")).toEqual(["a", "b", "c"]);
  });
});
