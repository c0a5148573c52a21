import { describe, expect, test } from "vitest";
import { CacheMetricsCollector, type CacheGauges } from "./collector.ts";
import { CacheCounters } from "./counters.ts";
import { createCacheEvents } from "./events.ts";
import { LatencyHistogram } from "../../../lib/metrics/histogram.ts";

const gauges: CacheGauges = {
  l1: { bytes: 4096, entries: 12 },
  breaker: "open",
  level: "l1-only",
  writeBehind: { depth: 3, lagMs: 1500 },
  coherence: { connected: true, lagMs: 4, gapsDetected: 1 },
  l3: { state: "degraded", breaker: "half-open", pendingInvalidations: 7, copied: 120, copyFailures: 2, copierLagMs: 250 },
};

function setup(options = {}) {
  const events = createCacheEvents();
  const collector = new CacheMetricsCollector(events, new CacheCounters(events), options);
  return { events, collector };
}

describe("the cache-manager report content", () => {
  test("counters by tier, gauges of the runtime, one-hot breaker and level", () => {
    const { events, collector } = setup();
    for (let i = 0; i < 3; i++) events.emit("hit", { key: "a", tier: "l1" });
    events.emit("hit", { key: "b", tier: "l2" });
    events.emit("hit", { key: "d", tier: "l3" });
    events.emit("hit", { key: "e", tier: "l3" });
    events.emit("miss", { key: "c" });
    events.emit("evict", { tier: "l1", reason: "capacity" });
    events.emit("error", { type: "E_L2_READ" });
    const content = collector.content(gauges);
    const value = (name: string, labels?: Record<string, string>) =>
      [...content.counters, ...content.gauges].find((s) => s.name === name && JSON.stringify(s.labels ?? {}) === JSON.stringify(labels ?? {}))?.value;
    expect(value("cache_hits", { tier: "l1" })).toBe(3);
    expect(value("cache_hits", { tier: "l2" })).toBe(1);
    expect(value("cache_hits", { tier: "l3" })).toBe(2);
    expect(value("cache_misses")).toBe(1);
    expect(value("cache_evictions")).toBe(1);
    expect(value("cache_errors", { type: "E_L2_READ" })).toBe(1);
    expect(value("cache_coherence_gaps")).toBe(1);
    expect(value("cache_size_bytes", { tier: "l1" })).toBe(4096);
    expect(value("cache_l2_breaker_open")).toBe(1);
    expect(value("cache_l2_breaker_state", { state: "open" })).toBe(1);
    expect(value("cache_l2_breaker_state", { state: "closed" })).toBe(0);
    expect(value("cache_degradation_level", { level: "l1-only" })).toBe(1);
    expect(value("cache_degradation_level", { level: "normal" })).toBe(0);
    expect(value("cache_write_behind_lag_seconds")).toBe(1.5);
    expect(value("cache_coherence_lag_seconds")).toBe(0.004);
    expect(value("cache_l3_state", { state: "degraded" })).toBe(1);
    expect(value("cache_l3_state", { state: "ok" })).toBe(0);
    expect(value("cache_l3_state", { state: "off" })).toBe(0);
    expect(value("cache_l3_breaker_state", { state: "half-open" })).toBe(1);
    expect(value("cache_l3_breaker_state", { state: "closed" })).toBe(0);
    expect(value("cache_l3_pending_invalidations")).toBe(7);
    expect(value("cache_l3_copied")).toBe(120);
    expect(value("cache_l3_copy_failures")).toBe(2);
    expect(value("cache_l3_copier_lag_seconds")).toBe(0.25);
    expect(collector.content({ ...gauges, writeBehind: null }).gauges.some((g) => g.name.startsWith("cache_write_behind"))).toBe(false);
  });

  test("the copier lag is left out until the copier finished a first batch", () => {
    const { collector } = setup();
    const lag = (copierLagMs: number | null) =>
      collector
        .content({ ...gauges, l3: { ...gauges.l3, copierLagMs } })
        .gauges.filter((g) => g.name === "cache_l3_copier_lag_seconds")
        .map((g) => g.value);
    expect(lag(null)).toEqual([]);
    expect(lag(0)).toEqual([0]);
    expect(lag(31_500)).toEqual([31.5]);
  });

  test("an instance without L3 says so: state off, breaker closed, nothing copied, no copier lag", () => {
    const { collector } = setup();
    const off = collector.content({
      ...gauges,
      l3: { state: "off", breaker: "closed", pendingInvalidations: 0, copied: 0, copyFailures: 0, copierLagMs: null },
    });
    const l3 = [...off.counters, ...off.gauges].filter((s) => s.name.startsWith("cache_l3_")).map((s) => [s.name, s.labels?.state ?? "", s.value]);
    expect(l3).toEqual([
      ["cache_l3_copied", "", 0],
      ["cache_l3_copy_failures", "", 0],
      ["cache_l3_state", "off", 1],
      ["cache_l3_state", "ok", 0],
      ["cache_l3_state", "degraded", 0],
      ["cache_l3_breaker_state", "closed", 1],
      ["cache_l3_breaker_state", "open", 0],
      ["cache_l3_breaker_state", "half-open", 0],
      ["cache_l3_pending_invalidations", "", 0],
    ]);
  });

  test("request latencies land in the sketch of the tier that answered", () => {
    const { events, collector } = setup();
    events.emit("request", { key: "a", source: "l1", ms: 0.05 });
    events.emit("request", { key: "a", source: "origin", ms: 120 });
    events.emit("request", { key: "b", source: "origin", ms: 80 });
    events.emit("request", { key: "c", source: "l3", ms: 12 });
    const sketches = Object.fromEntries(
      collector.content(gauges).sketches.map((s) => [`${s.name}:${s.labels?.tier ?? ""}`, LatencyHistogram.fromJSON(s.sketch)]),
    );
    expect(sketches["cache_request_duration_ms:l1"].count).toBe(1);
    expect(sketches["cache_request_duration_ms:l2"].count).toBe(0);
    expect(sketches["cache_request_duration_ms:l3"].count).toBe(1);
    expect(sketches["cache_request_duration_ms:l3"].max).toBe(12);
    expect(sketches["cache_request_duration_ms:origin"].count).toBe(2);
    expect(sketches["cache_request_duration_ms:origin"].max).toBe(120);
  });

  test("a batch of hits (hits) counts as a hit and a request of an equal share of its time for each key", () => {
    const { events, collector } = setup();
    events.emit("hits", { keys: ["a", "b", "a", "c"], tier: "l1", ms: 0.4 });
    events.emit("hit", { key: "a", tier: "l1" });
    events.emit("hits", { keys: [], tier: "l2", ms: 1 });
    const content = collector.content(gauges);
    expect(content.counters.find((s) => s.name === "cache_hits" && s.labels?.tier === "l1")?.value).toBe(5);
    expect(content.counters.find((s) => s.name === "cache_hits" && s.labels?.tier === "l2")?.value).toBe(0);
    expect(content.topKeys?.hits).toEqual([
      { key: "a", count: 3 },
      { key: "b", count: 1 },
      { key: "c", count: 1 },
    ]);
    const l1 = LatencyHistogram.fromJSON(content.sketches.find((s) => s.labels?.tier === "l1")!.sketch);
    expect(l1.count).toBe(4);
    expect(l1.max).toBeCloseTo(0.1);
    expect(LatencyHistogram.fromJSON(content.sketches.find((s) => s.labels?.tier === "l2")!.sketch).count).toBe(0);
  });

  test("top keys: most hit and most missed, separately", () => {
    const { events, collector } = setup({ topKeys: 2 });
    for (const [key, n] of [
      ["x", 5],
      ["y", 2],
      ["z", 9],
    ] as const)
      for (let i = 0; i < n; i++) events.emit("hit", { key, tier: "l1" });
    for (let i = 0; i < 4; i++) events.emit("miss", { key: "m" });
    expect(collector.content(gauges).topKeys).toEqual({
      hits: [
        { key: "z", count: 9 },
        { key: "x", count: 5 },
      ],
      misses: [{ key: "m", count: 4 }],
    });
  });

  test("error types beyond the limit are summed as other, so label cardinality stays bounded", () => {
    const { events, collector } = setup({ maxErrorTypes: 2 });
    for (const [type, n] of [
      ["A", 5],
      ["B", 4],
      ["C", 2],
      ["D", 1],
    ] as const)
      for (let i = 0; i < n; i++) events.emit("error", { type });
    const errors = collector
      .content(gauges)
      .counters.filter((c) => c.name === "cache_errors")
      .map((c) => [c.labels!.type, c.value]);
    expect(errors).toEqual([
      ["A", 5],
      ["B", 4],
      ["other", 3],
    ]);
  });

  test("close() stops listening", () => {
    const { events, collector } = setup();
    collector.close();
    events.emit("request", { key: "a", source: "l1", ms: 1 });
    expect(events.has("request")).toBe(false);
  });
});
