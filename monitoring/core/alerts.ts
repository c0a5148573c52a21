/**
 * Alert rules and their evaluation, pure: the caller passes the signals and the time, and gets
 * back the new state and the transitions to record. A rule whose condition holds becomes
 * `pending`; after holding for `forSeconds` it fires; it resolves as soon as the condition stops
 * holding (or its signal has no value: no traffic means no miss-rate alert).
 *
 * The same rules exist in PromQL in infra/prometheus/alerts.yml for Prometheus users
 * (infra/prometheus/prometheus.test.ts checks that the two sets match).
 *
 * @example
 * let state = emptyAlertState();
 * const { state: next, transitions } = evaluateAlerts(rules, signals, clock.now(), state);
 */
import { listOf } from "../../lib/literal-union.ts";
import { REQUEST_TIERS, type RequestTier } from "../../lib/metrics/names.ts";

export type AlertMetric =
  | "miss_rate"
  | "p99_latency_ms"
  | "l2_breaker_open"
  | "write_behind_lag_seconds"
  | "coherence_lag_seconds"
  | "error_rate"
  | "instances"
  | "l3_degraded"
  | "l3_copier_lag_seconds"
  | "l3_copy_failure_rate";
export const ALERT_METRICS = listOf<AlertMetric>()(
  "miss_rate",
  "p99_latency_ms",
  "l2_breaker_open",
  "write_behind_lag_seconds",
  "coherence_lag_seconds",
  "error_rate",
  "instances",
  "l3_degraded",
  "l3_copier_lag_seconds",
  "l3_copy_failure_rate",
);
export type AlertOperator = ">" | ">=" | "<" | "<=";
export const ALERT_OPERATORS = listOf<AlertOperator>()(">", ">=", "<", "<=");
export type AlertSeverity = "warning" | "critical";
export const ALERT_SEVERITIES = listOf<AlertSeverity>()("warning", "critical");
export type AlertTier = RequestTier | "all";

export interface AlertRule {
  /** A slug: lowercase letters, digits and dashes. */
  id: string;
  name: string;
  /** Why the rule matters and why its threshold (shown with the rule; optional). */
  description?: string;
  metric: AlertMetric;
  /** For `p99_latency_ms`: which tier's requests (default all). */
  tier?: AlertTier;
  op: AlertOperator;
  threshold: number;
  /** How long the condition must hold before the alert fires (0 = at once). */
  forSeconds: number;
  severity: AlertSeverity;
  enabled: boolean;
}

/** The values rules compare, over the last minute; null when there is nothing to measure. */
export interface AlertSignals {
  /** misses / (hits + misses). */
  missRate: number | null;
  p99LatencyMs: Record<AlertTier, number | null>;
  /** Instances whose L2 breaker is not closed. */
  l2BreakerOpen: number;
  writeBehindLagSeconds: number | null;
  coherenceLagSeconds: number | null;
  /** Errors per second. */
  errorRate: number | null;
  /** cache-manager instances reporting. */
  instances: number;
  /** Instances whose L3 is `degraded` (its breaker open, or invalidations waiting to reach it). */
  l3Degraded: number;
  /** The longest L3 copier lag of the instances, s; null until a copier finished a batch. */
  l3CopierLagSeconds: number | null;
  /** Failed L2 → L3 copy batches per second, all instances. */
  l3CopyFailureRate: number | null;
}

export const DEFAULT_ALERT_RULES: AlertRule[] = [
  {
    id: "high-miss-rate",
    name: "Miss rate above 50% for 5 minutes",
    metric: "miss_rate",
    op: ">",
    threshold: 0.5,
    forSeconds: 300,
    severity: "warning",
    enabled: true,
  },
  {
    id: "high-p99-latency",
    name: "p99 read latency above 250 ms for 2 minutes",
    metric: "p99_latency_ms",
    tier: "all",
    op: ">",
    threshold: 250,
    forSeconds: 120,
    severity: "warning",
    enabled: true,
  },
  {
    id: "l2-breaker-open",
    name: "L2 circuit breaker open",
    metric: "l2_breaker_open",
    op: ">=",
    threshold: 1,
    forSeconds: 30,
    severity: "critical",
    enabled: true,
  },
  {
    id: "write-behind-lag",
    name: "Write-behind queue more than 60 s behind",
    metric: "write_behind_lag_seconds",
    op: ">",
    threshold: 60,
    forSeconds: 60,
    severity: "warning",
    enabled: true,
  },
  {
    id: "coherence-lag",
    name: "Coherence announcements more than 1 s late",
    metric: "coherence_lag_seconds",
    op: ">",
    threshold: 1,
    forSeconds: 60,
    severity: "warning",
    enabled: true,
  },
  {
    id: "l3-degraded",
    name: "L3 degraded for 5 minutes",
    description:
      "While L3 is degraded (its breaker open, or invalidations waiting to reach it) reads skip it, so a Redis loss now would send every read to the origin, " +
      "and writes reach L3 only as removals of older values (L3 loses warmth). The breaker and the replay, every second, ride out blips such as a " +
      "PostgreSQL restart or failover; 5 unbroken minutes mean L3 is down or the replay makes no progress. Serving goes on, hence a warning.",
    metric: "l3_degraded",
    op: ">=",
    threshold: 1,
    forSeconds: 300,
    severity: "warning",
    enabled: true,
  },
  {
    id: "l3-copier-lag",
    name: "L3 copier more than 30 s behind for 2 minutes",
    description:
      "Writes younger than the copier lag are missing from L3 if Redis loses its data. The copier waits 100 ms to gather a batch when idle and at most 1 s " +
      "when the process is saturated, so a healthy copier stays within a few seconds; 30 s is over ten times its worst pacing: it is not keeping up with the " +
      "writes, or is retrying failed batches. 2 minutes let a single retried batch (backoff up to 30 s) pass without an alert.",
    metric: "l3_copier_lag_seconds",
    op: ">",
    threshold: 30,
    forSeconds: 120,
    severity: "warning",
    enabled: true,
  },
  {
    id: "l3-copy-failures",
    name: "L3 copy batches failing for 5 minutes",
    description:
      "A batch L3 did not take has its keys removed from L3 instead of updated: warmth lost, never correctness, so one failed batch is no alert. Failures in " +
      "every minute for 5 minutes mean L3 keeps refusing writes, including the intermittent failures that never leave L3 degraded for the 5 unbroken minutes " +
      "the l3-degraded rule needs.",
    metric: "l3_copy_failure_rate",
    op: ">",
    threshold: 0,
    forSeconds: 300,
    severity: "warning",
    enabled: true,
  },
];

/** A rule set that is not acceptable; the message says which rule and what to fix. */
export class AlertRuleError extends Error {
  readonly code = "E_ALERT_RULE";
}

const MAX_RULES = 100;

/**
 * Checks a rule set from the outside world and returns it normalised (defaults filled in).
 *
 * @throws AlertRuleError naming the first problem.
 */
export function validateRules(input: unknown): AlertRule[] {
  if (!Array.isArray(input)) throw new AlertRuleError('"rules" must be an array of rules');
  if (input.length > MAX_RULES) throw new AlertRuleError(`at most ${MAX_RULES} rules, got ${input.length}`);
  const seen = new Set<string>();
  return input.map((raw, i): AlertRule => {
    const at = `rules[${i}]`;
    if (typeof raw !== "object" || raw === null) throw new AlertRuleError(`${at} must be an object`);
    const r = raw as Partial<AlertRule>;
    const where = typeof r.id === "string" ? `${at} ("${r.id}")` : at;
    if (typeof r.id !== "string" || !/^[a-z0-9][a-z0-9-]{0,63}$/.test(r.id))
      throw new AlertRuleError(`${at}.id must be a slug of lowercase letters, digits and dashes (at most 64)`);
    if (seen.has(r.id)) throw new AlertRuleError(`${where}: the id is used twice`);
    seen.add(r.id);
    if (!ALERT_METRICS.includes(r.metric as AlertMetric))
      throw new AlertRuleError(`${where}.metric must be one of ${ALERT_METRICS.join(", ")}; got ${JSON.stringify(r.metric)}`);
    if (!ALERT_OPERATORS.includes(r.op as AlertOperator))
      throw new AlertRuleError(`${where}.op must be one of ${ALERT_OPERATORS.join(" ")}; got ${JSON.stringify(r.op)}`);
    if (typeof r.threshold !== "number" || !Number.isFinite(r.threshold)) throw new AlertRuleError(`${where}.threshold must be a finite number`);
    if (r.metric === "miss_rate" && (r.threshold < 0 || r.threshold > 1))
      throw new AlertRuleError(`${where}.threshold is a ratio for miss_rate: between 0 and 1 (0.5 = 50%)`);
    const forSeconds = r.forSeconds ?? 0;
    if (typeof forSeconds !== "number" || !Number.isInteger(forSeconds) || forSeconds < 0 || forSeconds > 86_400)
      throw new AlertRuleError(`${where}.forSeconds must be a whole number of seconds from 0 to 86400`);
    const severity = r.severity ?? "warning";
    if (!ALERT_SEVERITIES.includes(severity)) throw new AlertRuleError(`${where}.severity must be warning or critical`);
    if (r.tier !== undefined && r.tier !== "all" && !(REQUEST_TIERS as readonly string[]).includes(r.tier))
      throw new AlertRuleError(`${where}.tier must be all, ${REQUEST_TIERS.join(", ")}`);
    if (r.tier !== undefined && r.metric !== "p99_latency_ms") throw new AlertRuleError(`${where}.tier applies to p99_latency_ms only`);
    const name = r.name ?? r.id;
    if (typeof name !== "string" || name.length === 0 || name.length > 200) throw new AlertRuleError(`${where}.name must be a string of 1 to 200 characters`);
    if (r.description !== undefined && (typeof r.description !== "string" || r.description.length > 2000))
      throw new AlertRuleError(`${where}.description must be a string of at most 2000 characters`);
    if (r.enabled !== undefined && typeof r.enabled !== "boolean") throw new AlertRuleError(`${where}.enabled must be true or false`);
    return {
      id: r.id,
      name,
      ...(r.description ? { description: r.description } : {}),
      metric: r.metric as AlertMetric,
      ...(r.metric === "p99_latency_ms" ? { tier: r.tier ?? "all" } : {}),
      op: r.op as AlertOperator,
      threshold: r.threshold,
      forSeconds,
      severity,
      enabled: r.enabled ?? true,
    };
  });
}

/** The signal a rule reads. */
export function signalFor(rule: AlertRule, signals: AlertSignals): number | null {
  switch (rule.metric) {
    case "miss_rate":
      return signals.missRate;
    case "p99_latency_ms":
      return signals.p99LatencyMs[rule.tier ?? "all"] ?? null;
    case "l2_breaker_open":
      return signals.l2BreakerOpen;
    case "write_behind_lag_seconds":
      return signals.writeBehindLagSeconds;
    case "coherence_lag_seconds":
      return signals.coherenceLagSeconds;
    case "error_rate":
      return signals.errorRate;
    case "instances":
      return signals.instances;
    case "l3_degraded":
      return signals.l3Degraded;
    case "l3_copier_lag_seconds":
      return signals.l3CopierLagSeconds;
    case "l3_copy_failure_rate":
      return signals.l3CopyFailureRate;
  }
}

function holds(op: AlertOperator, value: number, threshold: number): boolean {
  switch (op) {
    case ">":
      return value > threshold;
    case ">=":
      return value >= threshold;
    case "<":
      return value < threshold;
    case "<=":
      return value <= threshold;
  }
}

export interface RuleState {
  /** When the condition started holding (pending or firing). */
  since: number;
  firing: boolean;
  /** When it fired. */
  firedAt?: number;
}

export type AlertState = Map<string, RuleState>;

export const emptyAlertState = (): AlertState => new Map();

export interface AlertTransition {
  kind: "firing" | "resolved";
  rule: AlertRule;
  at: number;
  /** The signal's value at the transition (null when it vanished). */
  value: number | null;
  message: string;
}

/** Evaluates every enabled rule at `now`. `state` is not modified. */
export function evaluateAlerts(
  rules: readonly AlertRule[],
  signals: AlertSignals,
  now: number,
  state: AlertState,
): { state: AlertState; transitions: AlertTransition[] } {
  const next: AlertState = new Map();
  const transitions: AlertTransition[] = [];
  for (const rule of rules) {
    const previous = state.get(rule.id);
    const value = rule.enabled ? signalFor(rule, signals) : null;
    const active = value !== null && holds(rule.op, value, rule.threshold);
    if (!active) {
      if (previous?.firing) transitions.push({ kind: "resolved", rule, at: now, value, message: `${rule.name}: resolved (${describe(rule, value)})` });
      continue;
    }
    const since = previous?.since ?? now;
    const due = now - since >= rule.forSeconds * 1000;
    if (previous?.firing) {
      next.set(rule.id, previous);
    } else if (due) {
      next.set(rule.id, { since, firing: true, firedAt: now });
      transitions.push({ kind: "firing", rule, at: now, value, message: `${rule.name}: ${describe(rule, value)} ${rule.op} ${rule.threshold}` });
    } else {
      next.set(rule.id, { since, firing: false });
    }
  }
  // Rules removed while firing resolve too.
  for (const [id, previous] of state) {
    if (previous.firing && !rules.some((r) => r.id === id)) {
      transitions.push({
        kind: "resolved",
        rule: { id, name: id, metric: "instances", op: ">", threshold: 0, forSeconds: 0, severity: "warning", enabled: false },
        at: now,
        value: null,
        message: `${id}: resolved (the rule was removed)`,
      });
    }
  }
  return { state: next, transitions };
}

function describe(rule: AlertRule, value: number | null): string {
  if (value === null) return `${rule.metric} has no value`;
  const shown = rule.metric === "miss_rate" ? `${(value * 100).toFixed(1)}%` : String(Math.round(value * 1000) / 1000);
  return `${rule.metric}${rule.tier && rule.tier !== "all" ? `{tier=${rule.tier}}` : ""} = ${shown}`;
}
