/**
 * The per-second metrics report every service instance publishes for monitoring to merge.
 *
 * Each instance writes its whole report (cumulative counters, current gauges, latency sketches)
 * to one Redis key that expires after three intervals, and stamps its id in a sorted set by time.
 * Monitoring reads the live keys: an instance that stops reporting disappears on its own, and a
 * report lost on the way costs nothing because the next one carries the same totals.
 *
 * Names are Prometheus base names without the `_total` suffix (`cache_hits`, `warmed_keys`);
 * labels are a small fixed set per name so that cardinality stays bounded.
 */
import type { Redis } from "ioredis";

export interface MetricSample {
  name: string;
  labels?: Record<string, string>;
  value: number;
}

export interface MetricsReport {
  service: string;
  instanceId: string;
  /** Epoch milliseconds when the report was taken. */
  at: number;
  intervalMs: number;
  /** Cumulative since the instance started (monotonic). */
  counters: MetricSample[];
  /** Current values. */
  gauges: MetricSample[];
  /** Serialised mergeable latency sketches (`HistogramJSON`), cumulative, in milliseconds. */
  sketches: Array<{ name: string; labels?: Record<string, string>; sketch: unknown }>;
}

export type ReportContent = Pick<MetricsReport, "counters" | "gauges" | "sketches">;

export const REPORT_KEY_PREFIX = "cachet:metrics:report:";
export const REPORT_INDEX_KEY = "cachet:metrics:instances";

export const reportKey = (service: string, instanceId: string) => `${REPORT_KEY_PREFIX}${service}:${instanceId}`;

export interface ReporterOptions {
  redis: Redis;
  service: string;
  instanceId: string;
  /** Default 1,000 ms. */
  intervalMs?: number;
  collect: () => ReportContent | Promise<ReportContent>;
}

/** Writes one report now. */
export async function publishReport(options: ReporterOptions): Promise<void> {
  const intervalMs = options.intervalMs ?? 1000;
  const report: MetricsReport = { service: options.service, instanceId: options.instanceId, at: Date.now(), intervalMs, ...(await options.collect()) };
  const key = reportKey(options.service, options.instanceId);
  await options.redis
    .multi()
    .set(key, JSON.stringify(report), "PX", intervalMs * 3)
    .zadd(REPORT_INDEX_KEY, report.at, `${options.service}:${options.instanceId}`)
    .exec();
}

/**
 * Publishes a report every interval until stopped; a failed write (Redis down) is skipped and
 * the next one carries the same totals.
 */
export function startReporter(options: ReporterOptions): { stop(): Promise<void> } {
  let stopped = false;
  const tick = () => publishReport(options).catch(() => undefined);
  const timer = setInterval(tick, options.intervalMs ?? 1000);
  timer.unref();
  void tick();
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
    },
  };
}
