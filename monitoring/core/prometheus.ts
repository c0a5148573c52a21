/**
 * `/metrics` in the Prometheus text format, with prom-client: every live instance's counters,
 * gauges and latency histogram, labelled with `instance` (its id) and `service`. Counters get the
 * `_total` suffix and a `cache_` prefix where the report name lacks one (`warmed_keys` →
 * `cache_warmed_keys_total`); latency sketches become `cache_request_duration_seconds` histograms
 * with fixed buckets (each bucket count is within the sketch's 1% relative accuracy).
 *
 * Cardinality is bounded: labels come from small fixed sets (see lib/metrics/names.ts), an
 * instance's series vanish when it stops reporting, and at most `maxSeriesPerMetric` series of
 * one name are exposed (the rest are counted in `cachet_metrics_dropped_series`).
 */
import { Counter, Gauge, Registry, type Metric } from "prom-client";
import { CACHE_SKETCHES } from "../../lib/metrics/names.ts";
import type { MetricsReport } from "../../lib/metrics/report.ts";
import { readSketch } from "./series.ts";

/** Bucket upper bounds in seconds: 50 µs to 10 s. */
export const DURATION_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const HELP: Record<string, string> = {
  cache_hits_total: "Cache hits by tier (l1, l2, l3).",
  cache_misses_total: "Reads that had to go to the origin.",
  cache_loads_total: "Origin loads by result (ok, failed).",
  cache_sets_total: "Writes to the cache.",
  cache_deletes_total: "Keys deleted through the cache API.",
  cache_errors_total: "Errors by stable error code.",
  cache_evictions_total: "L1 entries evicted for capacity or expiry.",
  cache_stale_served_total: "Stale values served (grace period, fallbacks).",
  cache_coherence_gaps_total: "Coherence stream gaps detected (L1 cleared).",
  cache_invalidations_total: "Invalidation requests by kind.",
  cache_invalidated_keys_total: "Keys removed by invalidations.",
  cache_warming_runs_total: "Warming runs by status.",
  cache_warmed_keys_total: "Keys loaded by warming runs.",
  cache_size_bytes: "Bytes held by the tier.",
  cache_entries: "Entries held by the tier.",
  cache_l2_breaker_open: "1 while the L2 circuit breaker is not closed.",
  cache_l2_breaker_state: "1 for the L2 breaker's current state.",
  cache_degradation_level: "1 for the instance's current degradation level.",
  cache_write_behind_depth: "Keys waiting in the write-behind queue.",
  cache_write_behind_lag_seconds: "Age of the oldest write-behind entry.",
  cache_coherence_lag_seconds: "Latency of the last coherence announcement heard.",
  cache_coherence_connected: "1 while the coherence follower is connected.",
  cache_l3_state: "1 for the instance's current L3 state (off, ok, degraded).",
  cache_l3_breaker_state: "1 for the L3 breaker's current state.",
  cache_l3_pending_invalidations: "Invalidations L3 has not received yet (reads skip L3 meanwhile).",
  cache_l3_copier_lag_seconds: "How long the oldest write of the L3 copier's last batch waited to reach L3.",
  cache_l3_copied_total: "Keys copied from L2 into L3.",
  cache_l3_copy_failures_total: "Batches of L2 to L3 copies that failed.",
};

/** The exposed name of a report counter or gauge. */
export function exposedName(name: string, kind: "counter" | "gauge"): string {
  const base = name.startsWith("cache_") ? name : `cache_${name}`;
  return kind === "counter" ? `${base}_total` : base;
}

/** Names that are always declared, so a scrape shows them even before the first sample. */
const DECLARED_COUNTERS: Record<string, string[]> = {
  cache_hits_total: ["tier"],
  cache_misses_total: [],
  cache_evictions_total: [],
  cache_errors_total: ["type"],
  cache_invalidations_total: ["kind"],
  cache_invalidated_keys_total: [],
  cache_warming_runs_total: ["status"],
  cache_warmed_keys_total: [],
};
const DECLARED_GAUGES: Record<string, string[]> = { cache_size_bytes: ["tier"], cache_entries: ["tier"] };

export interface RenderOptions {
  maxSeriesPerMetric?: number;
}

/**
 * A histogram metric whose buckets come from DDSketches rather than from `observe()` calls
 * (prom-client's own Histogram can only count observations it sees).
 */
class SketchHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  add(labels: Record<string, string>, sketchMs: NonNullable<ReturnType<typeof readSketch>>): void {
    for (const le of DURATION_BUCKETS) {
      this.values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le }, value: sketchMs.countAtMost(le * 1000) });
    }
    this.values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: "+Inf" }, value: sketchMs.count });
    this.values.push({ metricName: `${this.name}_sum`, labels, value: sketchMs.sum / 1000 });
    this.values.push({ metricName: `${this.name}_count`, labels, value: sketchMs.count });
  }

  async get() {
    return { name: this.name, help: this.help, type: this.type, values: this.values, aggregator: this.aggregator };
  }

  reset(): void {}
}

/** The exposition text for the live reports. */
export async function renderPrometheus(reports: readonly MetricsReport[], options: RenderOptions = {}): Promise<{ text: string; contentType: string }> {
  const maxSeries = options.maxSeriesPerMetric ?? 2000;
  const registry = new Registry();
  const metrics = new Map<string, { metric: Counter | Gauge; labelNames: Set<string>; series: number }>();
  let dropped = 0;

  const declare = (name: string, kind: "counter" | "gauge", labelNames: string[]) => {
    const existing = metrics.get(name);
    if (existing) return existing;
    const config = {
      name,
      help: HELP[name] ?? `${name} (reported by Cachet services).`,
      labelNames: ["instance", "service", ...labelNames],
      registers: [registry],
    };
    const entry = { metric: kind === "counter" ? new Counter(config) : new Gauge(config), labelNames: new Set(config.labelNames), series: 0 };
    metrics.set(name, entry);
    return entry;
  };
  for (const [name, labels] of Object.entries(DECLARED_COUNTERS)) declare(name, "counter", labels);
  for (const [name, labels] of Object.entries(DECLARED_GAUGES)) declare(name, "gauge", labels);
  const histogram = new SketchHistogram("cache_request_duration_seconds", "Cache read latency by the tier that answered (l1, l2, l3, origin).");
  registry.registerMetric(histogram as unknown as Metric);

  for (const report of reports) {
    const own = { instance: report.instanceId, service: report.service };
    const put = (kind: "counter" | "gauge", samples: MetricsReport["counters"]) => {
      for (const sample of samples) {
        const name = exposedName(sample.name, kind);
        const entry = metrics.get(name) ?? declare(name, kind, Object.keys(sample.labels ?? {}).sort());
        const labels = { ...sample.labels, ...own };
        // A sample whose labels do not match the metric's declared ones, or one too many, is left out.
        if (Object.keys(labels).some((l) => !entry.labelNames.has(l)) || entry.series >= maxSeries || (kind === "counter" && sample.value < 0)) {
          dropped++;
          continue;
        }
        entry.series++;
        if (entry.metric instanceof Counter) entry.metric.inc(labels, sample.value);
        else entry.metric.set(labels, sample.value);
      }
    };
    put("counter", report.counters);
    put("gauge", report.gauges);
    for (const { name, labels, sketch } of report.sketches) {
      if (name !== CACHE_SKETCHES.requestDuration) continue;
      const parsed = readSketch(sketch);
      if (parsed) histogram.add({ ...own, tier: labels?.tier ?? "all" }, parsed);
    }
  }
  const droppedGauge = new Gauge({
    name: "cachet_metrics_dropped_series",
    help: "Report samples left out of this scrape (label mismatch or the series limit).",
    registers: [registry],
  });
  droppedGauge.set(dropped);
  const instances = new Gauge({ name: "cachet_reporting_instances", help: "Instances reporting, by service.", labelNames: ["service"], registers: [registry] });
  for (const report of reports) instances.inc({ service: report.service });
  return { text: await registry.metrics(), contentType: registry.contentType };
}
