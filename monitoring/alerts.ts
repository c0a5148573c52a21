import { api, APIError } from "encore.dev/api";
import { requireRole } from "../lib/auth/access";
import type { AlertEpisode } from "./core/alert-store";
import { AlertRuleError, type AlertRule } from "./core/alerts";
import { alertStore, monitor } from "./monitor";

export interface AlertsView {
  firing: AlertEpisode[];
  /** The latest 100 episodes, firing or resolved, newest first. */
  history: AlertEpisode[];
}

export interface AlertRules {
  rules: AlertRule[];
}

/** A rule as sent: loosely typed so that validateRules, not the decoder, explains what is wrong. */
export interface AlertRuleInput {
  id: string;
  name?: string;
  /** Why the rule matters and why its threshold; at most 2000 characters. */
  description?: string;
  /** miss_rate, p99_latency_ms, l2_breaker_open, write_behind_lag_seconds, coherence_lag_seconds, error_rate, instances, l3_degraded, l3_copier_lag_seconds, l3_copy_failure_rate */
  metric: string;
  /** p99_latency_ms only: all (default), l1, l2, origin. */
  tier?: string;
  /** >, >=, <, <= */
  op: string;
  threshold: number;
  /** Default 0. */
  forSeconds?: number;
  /** warning (default) or critical. */
  severity?: string;
  /** Default true. */
  enabled?: boolean;
}

interface PutRulesParams {
  rules: AlertRuleInput[];
}

/** Firing alerts and the recent firing/resolved history. Viewer. */
export const listAlerts = api({ method: "GET", path: "/api/alerts", expose: true, auth: true }, async (): Promise<AlertsView> => {
  requireRole("viewer");
  return alertStore.episodes(100);
});

/** The alert rules in force (the defaults until replaced). Viewer. */
export const getRules = api({ method: "GET", path: "/api/alerts/rules", expose: true, auth: true }, async (): Promise<AlertRules> => {
  requireRole("viewer");
  return { rules: await alertStore.rules() };
});

/** Replaces the alert rules; 400 naming the first bad rule. Admin. */
export const putRules = api({ method: "PUT", path: "/api/alerts/rules", expose: true, auth: true }, async (p: PutRulesParams): Promise<AlertRules> => {
  requireRole("admin");
  try {
    const rules = await alertStore.setRules(p.rules);
    monitor.rulesChanged(rules);
    return { rules };
  } catch (error) {
    if (error instanceof AlertRuleError) throw APIError.invalidArgument(error.message);
    throw error;
  }
});
