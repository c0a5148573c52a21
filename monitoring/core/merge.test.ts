import { describe, expect, test } from "vitest";
import { LatencyHistogram } from "../../lib/metrics/histogram.ts";
import { seededRandom } from "../../lib/random.ts";
import type { MetricsReport } from "../../lib/metrics/report.ts";
import { mergeReports, total } from "./series.ts";
import { buildSnapshot, mergeTopKeys } from "./snapshot.ts";
import { cacheReport } from "./testing.ts";
import { RecentWindow } from "./window.ts";

describe("merging instance reports", () => {
  test("counters are summed exactly, L1 sizes summed, lags maxed", () => {
    const reports = [
      cacheReport("a", 1000, { hitsL1: 1_000_003, hitsL2: 7, misses: 11, l1Bytes: 100, writeBehindLagSeconds: 2, errors: { E_L2_READ: 2 } }),
      cacheReport("b", 1000, {
        hitsL1: 5,
        hitsL2: 9_007_199_254_000,
        misses: 13,
        l1Bytes: 50,
        writeBehindLagSeconds: 9,
        errors: { E_L2_READ: 1, E_REFRESH: 4 },
      }),
    ];
    const merged = mergeReports(reports);
    expect(total(merged.counters, "cache_hits", { tier: "l1" })).toBe(1_000_008);
    expect(total(merged.counters, "cache_hits", { tier: "l2" })).toBe(9_007_199_254_007);
    expect(total(merged.counters, "cache_misses")).toBe(24);
    expect(total(merged.counters, "cache_errors", { type: "E_L2_READ" })).toBe(3);
    expect(total(merged.gauges, "cache_size_bytes")).toBe(150);
    expect(total(merged.gauges, "cache_write_behind_lag_seconds")).toBe(9);
  });

  test("a malformed sketch is left out and named; the rest still merge", () => {
    const good = cacheReport("a", 1000, { latencies: { l1: [1, 2, 3] } });
    const bad: MetricsReport = {
      ...cacheReport("b", 1000, {}),
      sketches: [{ name: "cache_request_duration_ms", labels: { tier: "l1" }, sketch: { counts: "nope" } }],
    };
    const merged = mergeReports([good, bad]);
    expect(merged.invalidSketches).toEqual(["cache-manager:b:cache_request_duration_ms"]);
    expect([...merged.sketches.values()].find((s) => s.labels.tier === "l1")!.sketch.count).toBe(3);
  });

  test("on 1,000,000 samples spread over three instances, merged percentiles are within 1% of the exact ones", () => {
    const random = seededRandom(42);
    const n = 1_000_000;
    const values = new Float64Array(n);
    const parts = [new LatencyHistogram(), new LatencyHistogram(), new LatencyHistogram()];
    for (let i = 0; i < n; i++) {
      // Three instances with different latency profiles: a fast L1, a slower L2, a slow origin.
      const which = i % 3;
      const v = which === 0 ? 0.02 + random() * 0.2 : which === 1 ? 0.5 + random() * 3 : Math.exp(Math.log(60) + 0.8 * (random() + random() + random() - 1.5));
      values[i] = v;
      parts[which].record(v);
    }
    // Through the wire format, as reports carry them.
    const reports = parts.map((h, i): MetricsReport => ({
      ...cacheReport(`i${i}`, 1000, {}),
      sketches: [{ name: "cache_request_duration_ms", labels: { tier: "l1" }, sketch: JSON.parse(JSON.stringify(h.toJSON())) }],
    }));
    const merged = [...mergeReports(reports).sketches.values()][0].sketch;
    const sorted = values.slice().sort();
    for (const q of [0.5, 0.9, 0.95, 0.99, 0.999]) {
      const exact = sorted[Math.floor(q * (n - 1))];
      expect(Math.abs(merged.quantile(q) - exact) / exact, `q=${q}`).toBeLessThanOrEqual(0.01);
    }
    expect(merged.count).toBe(n);
  });

  test("top keys add up across instances, highest first", () => {
    const reports = [
      cacheReport("a", 1000, {
        topHits: [
          { key: "k1", count: 5 },
          { key: "k2", count: 4 },
        ],
        topMisses: [{ key: "m1", count: 2 }],
      }),
      cacheReport("b", 1000, { topHits: [{ key: "k2", count: 3 }], topMisses: [{ key: "m2", count: 9 }] }),
    ];
    expect(mergeTopKeys(reports)).toEqual({
      hits: [
        { key: "k2", count: 7 },
        { key: "k1", count: 5 },
      ],
      misses: [
        { key: "m2", count: 9 },
        { key: "m1", count: 2 },
      ],
    });
  });
});

describe("rates and recent percentiles", () => {
  test("rates come from increases per instance; a restart counts its new total, a newcomer is a baseline", () => {
    const window = new RecentWindow();
    window.observe([cacheReport("a", 0, { hitsL1: 100, misses: 10 })], 0);
    window.observe([cacheReport("a", 1000, { hitsL1: 130, misses: 20 }), cacheReport("b", 1000, { hitsL1: 5000 })], 1000);
    // a restarted (its counter went down); b did 10 more.
    window.observe([cacheReport("a", 2000, { hitsL1: 4, misses: 0 }), cacheReport("b", 2000, { hitsL1: 5010 })], 2000);
    const view = window.window(10);
    expect(view.seconds).toBe(2);
    expect(total(view.counters, "cache_hits")).toBe(30 + 4 + 10);
    expect(total(view.counters, "cache_misses")).toBe(10);
  });

  test("the same report seen twice adds nothing", () => {
    const window = new RecentWindow();
    window.observe([cacheReport("a", 0, { hitsL1: 1 })], 0);
    const r = cacheReport("a", 1000, { hitsL1: 11 });
    window.observe([r], 1000);
    window.observe([r], 1500);
    expect(total(window.window(10).counters, "cache_hits")).toBe(10);
  });

  test("recent percentiles reflect only the latencies recorded inside the window", () => {
    const window = new RecentWindow();
    const slow = Array.from({ length: 1000 }, () => 500);
    const fast = Array.from({ length: 1000 }, () => 1);
    window.observe([cacheReport("a", 0, { latencies: { l2: slow } })], 0);
    window.observe([cacheReport("a", 1000, { latencies: { l2: [...slow, ...fast] } })], 1000);
    const snapshot = buildSnapshot([cacheReport("a", 1000, { latencies: { l2: [...slow, ...fast] } })], window.window(10), 1000);
    const l2 = snapshot.latencyMs.find((t) => t.tier === "l2")!;
    expect(l2.count).toBe(1000);
    expect(l2.p99).toBeCloseTo(1, 1);
    expect(snapshot.opsPerSecond.find((t) => t.tier === "l2")!.opsPerSecond).toBe(1000);
  });

  test("the snapshot has hit ratios, sizes and per-instance health", () => {
    const now = 10_000;
    const reports = [
      cacheReport("a", now - 200, { hitsL1: 30, misses: 10, l1Bytes: 2048, l1Entries: 3 }),
      cacheReport("b", now - 3000, { hitsL2: 60, breakerOpen: true }),
      cacheReport("c", now, { breakerOpen: true }),
    ];
    const s = buildSnapshot(reports, new RecentWindow().window(10), now);
    expect(s.hitRatioTotal).toBe(0.9);
    expect(s.hitRatio).toBeNull();
    expect(s.sizes).toEqual({ l1Bytes: 2048, l1Entries: 3 });
    expect(s.breakerOpenInstances).toBe(2);
    expect(s.perInstance.map((r) => [r.instanceId, r.health, r.hitRatio])).toEqual([
      ["a", "healthy", 0.75],
      ["b", "late", 1],
      ["c", "degraded", null],
    ]);
  });

  test("L3 across instances: the worst state, breakers, the largest backlog and copier lag, copies summed; per instance in its row", () => {
    const now = 10_000;
    const reports = [
      cacheReport("a", now, { hitsL3: 5, l3: { state: "ok", pendingInvalidations: 2, copied: 100, copyFailures: 1, copierLagMs: 42_000 } }),
      cacheReport("b", now, { l3: { state: "degraded", breaker: "open", pendingInvalidations: 9, copied: 40, copierLagMs: 180 } }),
      cacheReport("c", now, { l3: { state: "off" } }),
      cacheReport("d", now, {}), // an older build that does not report L3
    ];
    const s = buildSnapshot(reports, new RecentWindow().window(10), now);
    expect(s.totals.hitsL3).toBe(5);
    expect(s.hitRatioTotal).toBe(1);
    expect(s.l3).toEqual({
      state: "degraded",
      instancesOk: 1,
      instancesDegraded: 1,
      instancesOff: 1,
      breakerOpenInstances: 1,
      pendingInvalidations: 9,
      copied: 140,
      copyFailures: 1,
      copierLagSeconds: 42,
    });
    expect(s.perInstance.map((r) => [r.instanceId, r.health, r.l3State, r.l3PendingInvalidations, r.l3CopierLagSeconds])).toEqual([
      ["a", "healthy", "ok", 2, 42],
      ["b", "degraded", "degraded", 9, 0.18],
      ["c", "healthy", "off", 0, null],
      ["d", "healthy", null, null, null],
    ]);
  });

  test("without any instance reporting L3 the summary says off, with zeros and no copier lag", () => {
    const s = buildSnapshot([cacheReport("a", 1000, { hitsL1: 1 })], new RecentWindow().window(10), 1000);
    expect(s.l3).toEqual({
      state: "off",
      instancesOk: 0,
      instancesDegraded: 0,
      instancesOff: 0,
      breakerOpenInstances: 0,
      pendingInvalidations: 0,
      copied: 0,
      copyFailures: 0,
      copierLagSeconds: null,
    });
  });

  test("L3 on but no copier batch finished yet: the copier lag is null, not 0", () => {
    const s = buildSnapshot([cacheReport("a", 1000, { l3: { state: "ok" } })], new RecentWindow().window(10), 1000);
    expect(s.l3.state).toBe("ok");
    expect(s.l3.copierLagSeconds).toBeNull();
    expect(s.perInstance[0].l3CopierLagSeconds).toBeNull();
  });
});
