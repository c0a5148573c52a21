import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { renderPrometheus } from "./prometheus.ts";
import { cacheReport } from "./testing.ts";

describe("Prometheus exposition", () => {
  test("per-instance series with bounded labels; histogram buckets from the sketches; promtool accepts it", async () => {
    const reports = [
      cacheReport("cm-1", 1, { hitsL1: 7, misses: 2, errors: { E_L2_READ: 1 }, latencies: { l1: [0.03, 0.04, 2], origin: [40, 60, 700] } }),
      cacheReport("cm-2", 1, {
        hitsL1: 5,
        hitsL3: 4,
        l1Bytes: 10,
        latencies: { l3: [8, 30] },
        l3: { state: "degraded", breaker: "open", pendingInvalidations: 3, copied: 250, copyFailures: 2, copierLagMs: 1250 },
      }),
    ];
    const { text, contentType } = await renderPrometheus(reports);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toMatch(/^cache_hits_total\{tier="l1",instance="cm-1",service="cache-manager"\} 7$/m);
    expect(text).toMatch(/^cache_hits_total\{tier="l1",instance="cm-2",service="cache-manager"\} 5$/m);
    expect(text).toMatch(/^cache_hits_total\{tier="l3",instance="cm-2",service="cache-manager"\} 4$/m);
    expect(text).toMatch(/^cache_request_duration_seconds_bucket\{instance="cm-2",service="cache-manager",tier="l3",le="0.01"\} 1$/m);
    expect(text).toMatch(/^cache_request_duration_seconds_count\{instance="cm-2",service="cache-manager",tier="l3"\} 2$/m);
    expect(text).toMatch(/^cache_errors_total\{type="E_L2_READ",instance="cm-1",service="cache-manager"\} 1$/m);
    expect(text).toMatch(/^cache_request_duration_seconds_bucket\{instance="cm-1",service="cache-manager",tier="origin",le="0.05"\} 1$/m);
    expect(text).toMatch(/^cache_request_duration_seconds_bucket\{instance="cm-1",service="cache-manager",tier="origin",le="0.1"\} 2$/m);
    expect(text).toMatch(/^cache_request_duration_seconds_bucket\{instance="cm-1",service="cache-manager",tier="origin",le="\+Inf"\} 3$/m);
    expect(text).toMatch(/^cache_request_duration_seconds_count\{instance="cm-1",service="cache-manager",tier="l1"\} 3$/m);
    expect(text).toMatch(/^cache_l3_state\{state="degraded",instance="cm-2",service="cache-manager"\} 1$/m);
    expect(text).toMatch(/^cache_l3_state\{state="ok",instance="cm-2",service="cache-manager"\} 0$/m);
    expect(text).toMatch(/^cache_l3_breaker_state\{state="open",instance="cm-2",service="cache-manager"\} 1$/m);
    expect(text).toMatch(/^cache_l3_pending_invalidations\{instance="cm-2",service="cache-manager"\} 3$/m);
    expect(text).toMatch(/^cache_l3_copied_total\{instance="cm-2",service="cache-manager"\} 250$/m);
    expect(text).toMatch(/^cache_l3_copy_failures_total\{instance="cm-2",service="cache-manager"\} 2$/m);
    expect(text).toMatch(/^cache_l3_copier_lag_seconds\{instance="cm-2",service="cache-manager"\} 1\.25$/m);
    expect(text).not.toMatch(/^cache_l3_copier_lag_seconds\{instance="cm-1"/m); // no L3 reported, no lag series
    expect(text).toMatch(/^# HELP cache_l3_copier_lag_seconds How long the oldest write of the L3 copier's last batch waited/m);
    expect(text).toMatch(/^# TYPE cache_l3_copier_lag_seconds gauge$/m);
    expect(text).toMatch(/^# HELP cache_l3_state 1 for the instance's current L3 state/m);
    expect(text).toMatch(/^# TYPE cache_warmed_keys_total counter$/m);
    expect(text).toMatch(/^cachet_reporting_instances\{service="cache-manager"\} 2$/m);
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.error, "promtool (Debian package prometheus) must be installed").toBeUndefined();
    expect(`${check.stdout}${check.stderr}`.trim()).toBe("");
    expect(check.status).toBe(0);
  });

  test("series beyond the per-metric limit are dropped and counted", async () => {
    const reports = Array.from({ length: 5 }, (_, i) => cacheReport(`cm-${i}`, 1, { misses: 1 }));
    const { text } = await renderPrometheus(reports, { maxSeriesPerMetric: 3 });
    expect(text.match(/^cache_misses_total\{/gm)?.length).toBe(3);
    expect(text).toMatch(/^cachet_metrics_dropped_series \d+$/m);
    expect(Number(/^cachet_metrics_dropped_series (\d+)$/m.exec(text)![1])).toBeGreaterThanOrEqual(2);
  });
});
