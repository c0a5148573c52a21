/**
 * Rates and recent percentiles from cumulative reports. Each observation turns every instance's
 * cumulative counters and sketches into the increase since that instance's previous report
 * (a counter that went down means the instance restarted: its whole value is new), merges the
 * increases across instances, and keeps one step per observation in a bounded ring. A window
 * over the last N seconds sums the steps' counters and merges their sketches.
 *
 * An instance seen for the first time is a baseline: what it did before monitoring saw it is in
 * the totals, not in the rates. Pure; the caller passes the time.
 */
import type { LatencyHistogram } from "../../lib/metrics/histogram.ts";
import type { MetricsReport } from "../../lib/metrics/report.ts";
import { readSketch, seriesKey, type Series, type SketchSeries } from "./series.ts";

/** What happened between two observations, summed over instances. */
export interface Step {
  /** Epoch ms of the observation that closed the step. */
  at: number;
  /** Milliseconds the step covers. */
  ms: number;
  counters: Map<string, Series>;
  sketches: Map<string, SketchSeries>;
}

export interface WindowView {
  /** The seconds actually covered (≤ the requested window). */
  seconds: number;
  counters: Map<string, Series>;
  sketches: Map<string, SketchSeries>;
}

interface InstanceMemory {
  at: number;
  counters: Map<string, number>;
  sketches: Map<string, LatencyHistogram>;
  lastSeen: number;
}

export class RecentWindow {
  private readonly instances = new Map<string, InstanceMemory>();
  private readonly steps: Step[] = [];
  private lastObservedAt: number | null = null;

  /** Keeps the steps of the last `maxMs` (default 10 min). */
  constructor(private readonly maxMs = 10 * 60_000) {}

  /** Folds in the reports live at `now`; returns the step they make. */
  observe(reports: readonly MetricsReport[], now: number): Step {
    const step: Step = { at: now, ms: this.lastObservedAt === null ? 0 : Math.max(0, now - this.lastObservedAt), counters: new Map(), sketches: new Map() };
    this.lastObservedAt = now;
    for (const report of reports) {
      const id = `${report.service}:${report.instanceId}`;
      const memory = this.instances.get(id);
      if (memory && memory.at === report.at) {
        memory.lastSeen = now;
        continue; // the same report again: nothing new
      }
      const counters = new Map<string, number>();
      for (const sample of report.counters) {
        const key = seriesKey(sample.name, sample.labels);
        counters.set(key, sample.value);
        if (!memory) continue;
        const before = memory.counters.get(key) ?? 0;
        const increase = sample.value >= before ? sample.value - before : sample.value;
        if (increase > 0) add(step.counters, key, sample.name, sample.labels ?? {}, increase);
      }
      const sketches = new Map<string, LatencyHistogram>();
      for (const { name, labels, sketch } of report.sketches) {
        const current = readSketch(sketch);
        if (!current) continue;
        const key = seriesKey(name, labels);
        sketches.set(key, current);
        if (!memory) continue;
        const before = memory.sketches.get(key);
        const increase = before && before.count <= current.count ? current.clone().subtract(before) : current.clone();
        if (increase.count === 0) continue;
        const existing = step.sketches.get(key);
        if (existing) existing.sketch.merge(increase);
        else step.sketches.set(key, { name, labels: { ...labels }, sketch: increase });
      }
      this.instances.set(id, { at: report.at, counters, sketches, lastSeen: now });
    }
    // Forget instances not seen for a minute (their next report, if any, is a new baseline).
    for (const [id, memory] of this.instances) if (now - memory.lastSeen > 60_000) this.instances.delete(id);
    this.steps.push(step);
    while (this.steps.length > 0 && this.steps[0].at <= now - this.maxMs) this.steps.shift();
    return step;
  }

  /** The sum of the steps of the last `seconds` (ending at the newest observation). */
  window(seconds: number): WindowView {
    const view: WindowView = { seconds: 0, counters: new Map(), sketches: new Map() };
    if (this.steps.length === 0) return view;
    const end = this.steps[this.steps.length - 1].at;
    let ms = 0;
    for (let i = this.steps.length - 1; i >= 0; i--) {
      const step = this.steps[i];
      if (step.at <= end - seconds * 1000) break;
      ms += step.ms;
      for (const [key, s] of step.counters) add(view.counters, key, s.name, s.labels, s.value);
      for (const [key, s] of step.sketches) {
        const existing = view.sketches.get(key);
        if (existing) existing.sketch.merge(s.sketch);
        else view.sketches.set(key, { name: s.name, labels: s.labels, sketch: s.sketch.clone() });
      }
    }
    view.seconds = ms / 1000;
    return view;
  }
}

function add(into: Map<string, Series>, key: string, name: string, labels: Record<string, string>, value: number): void {
  const existing = into.get(key);
  if (existing) existing.value += value;
  else into.set(key, { name, labels: { ...labels }, value });
}
