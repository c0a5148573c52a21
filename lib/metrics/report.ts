/**
 * The per-second metrics report every service instance publishes for monitoring to merge.
 *
 * Each instance writes its whole report (cumulative counters, current gauges, latency sketches)
 * to one Redis key that expires after three intervals, and stamps its id in a sorted set by time.
 * Monitoring reads the live keys: an instance that stops reporting disappears on its own, and a
 * report lost on the way costs nothing because the next one carries the same totals.
 *
 * Names are Prometheus base names without the `_total` suffix (`cache_hits`, `warmed_keys`);
 * labels are a small fixed set per name so that cardinality stays bounded (see ./names.ts).
 */
import type { Redis } from "ioredis";

export interface MetricSample {
  name: string;
  labels?: Record<string, string>;
  value: number;
}

export interface KeyCount {
  key: string;
  count: number;
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
  /** Optional: the instance's most hit and most missed keys (decayed counts, bounded lists). */
  topKeys?: { hits: KeyCount[]; misses: KeyCount[] };
}

export type ReportContent = Pick<MetricsReport, "counters" | "gauges" | "sketches" | "topKeys">;

export const REPORT_KEY_PREFIX = "cachet:metrics:report:";
export const REPORT_INDEX_KEY = "cachet:metrics:instances";
/** An instance is gone once its report is this many intervals old (the key's expiry). */
export const REPORT_EXPIRY_INTERVALS = 3;

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
    .set(key, JSON.stringify(report), "PX", intervalMs * REPORT_EXPIRY_INTERVALS)
    .zadd(REPORT_INDEX_KEY, report.at, `${options.service}:${options.instanceId}`)
    .exec();
}

/**
 * Publishes a report every interval until stopped; a failed write (Redis down) is skipped and
 * the next one carries the same totals. `stop()` withdraws the report at once (a graceful
 * shutdown need not wait three intervals to disappear).
 */
export function startReporter(options: ReporterOptions): { stop(): Promise<void> } {
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  const tick = () => {
    // One write at a time: a slow Redis must not pile up reports.
    inFlight = inFlight.then(() => (stopped ? undefined : publishReport(options).catch(() => undefined)));
  };
  const timer = setInterval(tick, options.intervalMs ?? 1000);
  timer.unref();
  tick();
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await inFlight;
      await options.redis
        .multi()
        .del(reportKey(options.service, options.instanceId))
        .zrem(REPORT_INDEX_KEY, `${options.service}:${options.instanceId}`)
        .exec()
        .catch(() => undefined);
    },
  };
}

/** A report received over the wire was malformed; the message names the field. */
export class ReportFormatError extends Error {
  readonly code = "E_METRICS_REPORT_FORMAT";
}

const LABEL_VALUE_MAX = 200;

function checkLabels(labels: unknown, where: string): Record<string, string> | undefined {
  if (labels === undefined) return undefined;
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) throw new ReportFormatError(`${where}.labels must be an object`);
  for (const [name, value] of Object.entries(labels)) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new ReportFormatError(`${where}: label name "${name}" is not a Prometheus label name`);
    if (typeof value !== "string" || value.length > LABEL_VALUE_MAX)
      throw new ReportFormatError(`${where}: label "${name}" must be a string of at most ${LABEL_VALUE_MAX} characters`);
  }
  return labels as Record<string, string>;
}

function checkSamples(samples: unknown, where: string): MetricSample[] {
  if (!Array.isArray(samples)) throw new ReportFormatError(`${where} must be an array`);
  return samples.map((sample, i) => {
    const s = sample as Partial<MetricSample>;
    if (typeof s?.name !== "string" || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(s.name)) throw new ReportFormatError(`${where}[${i}].name must be a metric name`);
    if (typeof s.value !== "number" || !Number.isFinite(s.value)) throw new ReportFormatError(`${where}[${i}] (${s.name}).value must be a finite number`);
    return { name: s.name, labels: checkLabels(s.labels, `${where}[${i}]`), value: s.value };
  });
}

/**
 * Validates a report read from Redis (another process wrote it; trust nothing). Sketches are
 * passed through as received; the reader validates them with `LatencyHistogram.fromJSON`.
 *
 * @throws ReportFormatError naming the first malformed field.
 */
export function parseReport(text: string): MetricsReport {
  let data: Partial<MetricsReport>;
  try {
    data = JSON.parse(text) as Partial<MetricsReport>;
  } catch (error) {
    throw new ReportFormatError(`a report must be JSON: ${(error as Error).message}`);
  }
  if (typeof data !== "object" || data === null) throw new ReportFormatError("a report must be an object");
  if (typeof data.service !== "string" || typeof data.instanceId !== "string") throw new ReportFormatError("service and instanceId must be strings");
  if (typeof data.at !== "number" || typeof data.intervalMs !== "number" || !(data.intervalMs > 0))
    throw new ReportFormatError("at and intervalMs must be numbers");
  const sketches = data.sketches ?? [];
  if (!Array.isArray(sketches)) throw new ReportFormatError("sketches must be an array");
  const topKeys = data.topKeys;
  const keyCounts = (list: unknown, which: string): KeyCount[] => {
    if (!Array.isArray(list)) throw new ReportFormatError(`topKeys.${which} must be an array`);
    return list.filter((e): e is KeyCount => typeof e?.key === "string" && typeof e?.count === "number" && Number.isFinite(e.count)).slice(0, 100);
  };
  return {
    service: data.service,
    instanceId: data.instanceId,
    at: data.at,
    intervalMs: data.intervalMs,
    counters: checkSamples(data.counters ?? [], "counters"),
    gauges: checkSamples(data.gauges ?? [], "gauges"),
    sketches: sketches.map((s, i) => {
      if (typeof s?.name !== "string") throw new ReportFormatError(`sketches[${i}].name must be a string`);
      return { name: s.name, labels: checkLabels(s.labels, `sketches[${i}]`), sketch: s.sketch };
    }),
    ...(topKeys ? { topKeys: { hits: keyCounts(topKeys.hits, "hits"), misses: keyCounts(topKeys.misses, "misses") } } : {}),
  };
}

export interface ReadReportsResult {
  reports: MetricsReport[];
  /** Reports that were present but malformed: `instance` and why. */
  rejected: Array<{ instance: string; reason: string }>;
}

/**
 * Reads every live report: the index names the instances seen in the last minute, and the keys
 * that have not expired are the live ones. Index entries older than a minute are pruned.
 */
export async function readReports(redis: Redis, now = Date.now()): Promise<ReadReportsResult> {
  await redis.zremrangebyscore(REPORT_INDEX_KEY, "-inf", String(now - 60_000));
  const members = await redis.zrange(REPORT_INDEX_KEY, "0", "-1");
  if (members.length === 0) return { reports: [], rejected: [] };
  const values = await redis.mget(members.map((m) => REPORT_KEY_PREFIX + m));
  const result: ReadReportsResult = { reports: [], rejected: [] };
  values.forEach((text, i) => {
    if (text === null) return;
    try {
      result.reports.push(parseReport(text));
    } catch (error) {
      result.rejected.push({ instance: members[i], reason: (error as Error).message });
    }
  });
  return result;
}
