/**
 * Alert rules and episodes in PostgreSQL: the rule set in force (the defaults until a PUT), and
 * one row per episode, inserted when an alert fires and completed when it resolves.
 */
import { DEFAULT_ALERT_RULES, validateRules, type AlertRule, type AlertTransition, type AlertState } from "./alerts.ts";
import type { SqlQuery as SqlQuery } from "../../lib/sql.ts";

export interface AlertEpisode {
  id: number;
  ruleId: string;
  ruleName: string;
  severity: string;
  state: "firing" | "resolved";
  threshold: number;
  /** The signal's value when it fired. */
  value: number | null;
  message: string;
  firedAt: string;
  resolvedAt: string | null;
  resolvedValue: number | null;
}

interface EpisodeRow {
  id: string | number;
  rule_id: string;
  rule_name: string;
  severity: string;
  threshold: number;
  value: number | null;
  message: string;
  fired_at_ms: string | number;
  resolved_at_ms: string | number | null;
  resolved_value: number | null;
}

const toEpisode = (r: EpisodeRow): AlertEpisode => ({
  id: Number(r.id),
  ruleId: r.rule_id,
  ruleName: r.rule_name,
  severity: r.severity,
  state: r.resolved_at_ms === null ? "firing" : "resolved",
  threshold: Number(r.threshold),
  value: r.value === null ? null : Number(r.value),
  message: r.message,
  firedAt: new Date(Number(r.fired_at_ms)).toISOString(),
  resolvedAt: r.resolved_at_ms === null ? null : new Date(Number(r.resolved_at_ms)).toISOString(),
  resolvedValue: r.resolved_value === null ? null : Number(r.resolved_value),
});

export class AlertStore {
  constructor(private readonly sql: SqlQuery) {}

  /** The rule set in force. */
  async rules(): Promise<AlertRule[]> {
    const rows = await this.sql.query<{ rules: unknown }>("SELECT rules FROM alert_rules WHERE id = 1");
    if (rows.length === 0) return DEFAULT_ALERT_RULES.map((r) => ({ ...r }));
    const stored = typeof rows[0].rules === "string" ? JSON.parse(rows[0].rules) : rows[0].rules;
    return validateRules(stored);
  }

  /** Replaces the rule set (validated first; throws AlertRuleError). */
  async setRules(input: unknown): Promise<AlertRule[]> {
    const rules = validateRules(input);
    await this.sql.query(
      "INSERT INTO alert_rules (id, rules, updated_at) VALUES (1, $1::jsonb, now()) ON CONFLICT (id) DO UPDATE SET rules = EXCLUDED.rules, updated_at = now()",
      [JSON.stringify(rules)],
    );
    return rules;
  }

  /** Records transitions: a new episode per firing, the open episode completed per resolution. */
  async record(transitions: readonly AlertTransition[]): Promise<void> {
    for (const t of transitions) {
      if (t.kind === "firing") {
        await this.sql.query(
          "INSERT INTO alert_events (rule_id, rule_name, severity, value, threshold, message, fired_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
          [t.rule.id, t.rule.name, t.rule.severity, t.value, t.rule.threshold, t.message, t.at],
        );
      } else {
        await this.sql.query("UPDATE alert_events SET resolved_at_ms = $2, resolved_value = $3 WHERE rule_id = $1 AND resolved_at_ms IS NULL", [
          t.rule.id,
          t.at,
          t.value,
        ]);
      }
    }
  }

  /** Open episodes as evaluator state: a new leader carries on where the last one stopped. */
  async openState(): Promise<AlertState> {
    const rows = await this.sql.query<{ rule_id: string; fired_at_ms: string | number }>(
      "SELECT rule_id, fired_at_ms FROM alert_events WHERE resolved_at_ms IS NULL",
    );
    return new Map(rows.map((r) => [r.rule_id, { since: Number(r.fired_at_ms), firing: true, firedAt: Number(r.fired_at_ms) }]));
  }

  /** Firing episodes, and the most recent `limit` episodes of either state. */
  async episodes(limit = 100): Promise<{ firing: AlertEpisode[]; history: AlertEpisode[] }> {
    const firing = await this.sql.query<EpisodeRow>("SELECT * FROM alert_events WHERE resolved_at_ms IS NULL ORDER BY fired_at_ms DESC");
    const history = await this.sql.query<EpisodeRow>("SELECT * FROM alert_events ORDER BY fired_at_ms DESC, id DESC LIMIT $1", [limit]);
    return { firing: firing.map(toEpisode), history: history.map(toEpisode) };
  }

  /** Deletes resolved episodes older than `beforeMs`. */
  async prune(beforeMs: number): Promise<void> {
    await this.sql.query("DELETE FROM alert_events WHERE resolved_at_ms IS NOT NULL AND resolved_at_ms < $1", [beforeMs]);
  }
}
