/**
 * The monitoring loop, one tick a second: read the live reports, fold them into the recent
 * window, build the snapshot the API and the live stream serve, and — on the one process that
 * holds the leader lease — append the history point, roll up and prune, and evaluate the alert
 * rules. IO comes in as functions and stores, time as a clock, so tests drive ticks by hand.
 */
import { CACHE_COUNTERS, CACHE_GAUGES, CACHE_SKETCHES, REQUEST_TIERS } from "../../lib/metrics/names.ts";
import type { MetricsReport } from "../../lib/metrics/report.ts";
import type { LatencyHistogram } from "../../lib/metrics/histogram.ts";
import { evaluateAlerts, type AlertRule, type AlertSignals, type AlertState, type AlertTier, type AlertTransition } from "./alerts.ts";
import type { AlertStore } from "./alert-store.ts";
import { pointFromStep, type HistoryStore } from "./history.ts";
import { maximum, mergeReports, total } from "./series.ts";
import { buildSnapshot, l3Summary, type MetricsSnapshot } from "./snapshot.ts";
import { RecentWindow, type WindowView } from "./window.ts";

export interface MonitorOptions {
  readReports: () => Promise<MetricsReport[]>;
  history: HistoryStore;
  alerts: AlertStore;
  /** Resolves true while this process holds the leader lease (history and alerts). */
  isLeader: () => Promise<boolean>;
  now?: () => number;
  /** The window of `GET /api/metrics` rates and percentiles (default 10 s). */
  snapshotWindowSeconds?: number;
  /** The window alert signals are computed over (default 60 s). */
  alertWindowSeconds?: number;
  /** Resolved alert episodes are kept this long (default 30 days). */
  alertRetentionMs?: number;
  onError?: (error: unknown, where: string) => void;
}

/** Alert signals from the live reports and the recent window. */
export function alertSignals(reports: readonly MetricsReport[], recent: WindowView): AlertSignals {
  const merged = mergeReports(reports);
  const hits = total(recent.counters, CACHE_COUNTERS.hits);
  const misses = total(recent.counters, CACHE_COUNTERS.misses);
  const p99: Record<AlertTier, number | null> = { all: null, l1: null, l2: null, l3: null, origin: null };
  let all: LatencyHistogram | undefined;
  for (const s of recent.sketches.values()) {
    if (s.name !== CACHE_SKETCHES.requestDuration || s.sketch.count === 0) continue;
    if ((REQUEST_TIERS as readonly string[]).includes(s.labels.tier)) p99[s.labels.tier as AlertTier] = s.sketch.quantile(0.99);
    all = all ? all.merge(s.sketch) : s.sketch.clone();
  }
  p99.all = all ? all.quantile(0.99) : null;
  const l3 = l3Summary(reports);
  return {
    missRate: hits + misses > 0 ? misses / (hits + misses) : null,
    p99LatencyMs: p99,
    l2BreakerOpen: reports.filter((r) => r.gauges.some((g) => g.name === CACHE_GAUGES.breakerOpen && g.value > 0)).length,
    writeBehindLagSeconds: maximum(merged.gauges, CACHE_GAUGES.writeBehindLagSeconds),
    coherenceLagSeconds: maximum(merged.gauges, CACHE_GAUGES.coherenceLagSeconds),
    errorRate: recent.seconds > 0 ? total(recent.counters, CACHE_COUNTERS.errors) / recent.seconds : null,
    instances: reports.filter((r) => r.service === "cache-manager").length,
    l3Degraded: l3.instancesDegraded,
    l3CopierLagSeconds: l3.copierLagSeconds,
    l3CopyFailureRate: recent.seconds > 0 ? total(recent.counters, CACHE_COUNTERS.l3CopyFailures) / recent.seconds : null,
  };
}

export class Monitor {
  private readonly window = new RecentWindow();
  private readonly now: () => number;
  private latest: { snapshot: MetricsSnapshot; reports: MetricsReport[] } | undefined;
  private alertState: AlertState | undefined;
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private rules: { value: AlertRule[]; readAt: number } | undefined;

  constructor(private readonly o: MonitorOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Ticks every `intervalMs` until stopped (timer unref'd). */
  start(intervalMs = 1000): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick().catch((error) => this.o.onError?.(error, "tick")), intervalMs);
    this.timer.unref();
    void this.tick().catch((error) => this.o.onError?.(error, "tick"));
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The newest snapshot, ticking first if there is none yet. */
  async snapshot(): Promise<MetricsSnapshot> {
    if (!this.latest) await this.tick();
    return this.latest!.snapshot;
  }

  /** The reports of the newest tick. */
  async reports(): Promise<MetricsReport[]> {
    if (!this.latest) await this.tick();
    return this.latest!.reports;
  }

  /** The rules in force (cached for a second, re-read after a PUT through `rulesChanged`). */
  async currentRules(): Promise<AlertRule[]> {
    const now = this.now();
    if (!this.rules || now - this.rules.readAt >= 1000) this.rules = { value: await this.o.alerts.rules(), readAt: now };
    return this.rules.value;
  }

  rulesChanged(rules: AlertRule[]): void {
    this.rules = { value: rules, readAt: this.now() };
  }

  /** One tick; concurrent callers share the tick in progress. */
  tick(): Promise<void> {
    this.ticking ??= this.runTick().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    const now = this.now();
    const reports = await this.o.readReports();
    const step = this.window.observe(reports, now);
    const snapshot = buildSnapshot(reports, this.window.window(this.o.snapshotWindowSeconds ?? 10), now);
    this.latest = { snapshot, reports };

    const leader = await this.o.isLeader().catch(() => false);
    if (!leader) {
      this.leading = false;
      this.alertState = undefined;
      return;
    }
    if (!this.leading) {
      this.leading = true;
      this.alertState = await this.o.alerts.openState();
    }
    // The first step after becoming leader (or starting) has no duration: nothing to record.
    if (step.ms > 0) await this.o.history.append(now, pointFromStep(step, reports));
    await this.o.history.maintain();
    await this.evaluate(reports, now);
  }

  /** Evaluates the rules against the last minute; returns the transitions recorded. */
  async evaluate(reports: readonly MetricsReport[], now: number): Promise<AlertTransition[]> {
    const windowSeconds = this.o.alertWindowSeconds ?? 60;
    const recent = this.window.window(windowSeconds);
    // Too little data yet (just started, or just became leader): judge nothing rather than
    // resolve open alerts for want of a signal.
    if (recent.seconds < Math.min(5, windowSeconds / 2)) return [];
    const signals = alertSignals(reports, recent);
    const { state, transitions } = evaluateAlerts(await this.currentRules(), signals, now, this.alertState ?? (await this.o.alerts.openState()));
    await this.o.alerts.record(transitions);
    this.alertState = state;
    if (transitions.length > 0) await this.o.alerts.prune(now - (this.o.alertRetentionMs ?? 30 * 86_400_000));
    return transitions;
  }
}
