/**
 * Series identity and the merge of instance reports: counters summed exactly, gauges summed or
 * maxed by meaning, latency sketches merged (DDSketch merges losslessly within its accuracy).
 * Pure; no IO.
 */
import { LatencyHistogram } from "../../lib/metrics/histogram.ts";
import { CACHE_GAUGES } from "../../lib/metrics/names.ts";
import type { MetricSample, MetricsReport } from "../../lib/metrics/report.ts";

export type Labels = Record<string, string>;

/** `name{a="1",b="2"}` with labels sorted: one string per series. */
export function seriesKey(name: string, labels?: Labels): string {
  if (!labels) return name;
  const names = Object.keys(labels).sort();
  if (names.length === 0) return name;
  return `${name}{${names.map((n) => `${n}=${JSON.stringify(labels[n])}`).join(",")}}`;
}

export interface Series {
  name: string;
  labels: Labels;
  value: number;
}

export interface SketchSeries {
  name: string;
  labels: Labels;
  sketch: LatencyHistogram;
}

/** Gauges that add up across instances (each instance's own L1); the rest are cluster-wide or per-instance maxima. */
const SUMMED_GAUGES = new Set<string>([CACHE_GAUGES.sizeBytes, CACHE_GAUGES.entries]);

export interface MergedMetrics {
  counters: Map<string, Series>;
  gauges: Map<string, Series>;
  sketches: Map<string, SketchSeries>;
  /** Sketches that failed validation, by instance (they are left out, not fatal). */
  invalidSketches: string[];
}

function addSample(into: Map<string, Series>, sample: MetricSample, combine: (a: number, b: number) => number): void {
  const key = seriesKey(sample.name, sample.labels);
  const existing = into.get(key);
  if (existing) existing.value = combine(existing.value, sample.value);
  else into.set(key, { name: sample.name, labels: { ...sample.labels }, value: sample.value });
}

/** Parses a report's sketch, or undefined when it is malformed. */
export function readSketch(sketch: unknown): LatencyHistogram | undefined {
  try {
    return LatencyHistogram.fromJSON(sketch);
  } catch {
    return undefined;
  }
}

/** Merges the reports of every live instance. */
export function mergeReports(reports: readonly MetricsReport[]): MergedMetrics {
  const merged: MergedMetrics = { counters: new Map(), gauges: new Map(), sketches: new Map(), invalidSketches: [] };
  for (const report of reports) {
    for (const sample of report.counters) addSample(merged.counters, sample, (a, b) => a + b);
    for (const sample of report.gauges) addSample(merged.gauges, sample, SUMMED_GAUGES.has(sample.name) ? (a, b) => a + b : Math.max);
    for (const { name, labels, sketch } of report.sketches) {
      const parsed = readSketch(sketch);
      if (!parsed) {
        merged.invalidSketches.push(`${report.service}:${report.instanceId}:${name}`);
        continue;
      }
      const key = seriesKey(name, labels);
      const existing = merged.sketches.get(key);
      if (existing) existing.sketch.merge(parsed);
      else merged.sketches.set(key, { name, labels: { ...labels }, sketch: parsed });
    }
  }
  return merged;
}

/** The sum of every series of `name` whose labels include `match`. */
export function total(series: Map<string, Series>, name: string, match: Labels = {}): number {
  let sum = 0;
  for (const s of series.values()) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** The largest value among the series of `name`, or null when there is none. */
export function maximum(series: Map<string, Series>, name: string): number | null {
  let max: number | null = null;
  for (const s of series.values()) if (s.name === name) max = max === null ? s.value : Math.max(max, s.value);
  return max;
}

/** Series of `name` grouped by the value of `label`, summed. */
export function byLabel(series: Map<string, Series>, name: string, label: string): Array<{ value: string; total: number }> {
  const groups = new Map<string, number>();
  for (const s of series.values()) {
    if (s.name !== name) continue;
    const v = s.labels[label] ?? "";
    groups.set(v, (groups.get(v) ?? 0) + s.value);
  }
  return [...groups].map(([value, sum]) => ({ value, total: sum })).sort((a, b) => b.total - a.total || a.value.localeCompare(b.value));
}
