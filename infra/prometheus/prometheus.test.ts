/**
 * The Prometheus files pass promtool (Debian's `prometheus` package): the scrape config, the alert
 * rules, and the rules' unit tests (each alert fires on a driven series and resolves). The rules
 * are monitoring's built-in defaults, one for one. The Grafana dashboard only queries metrics
 * /metrics exposes.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { DEFAULT_ALERT_RULES } from "../../monitoring/core/alerts.ts";

const here = dirname(fileURLToPath(import.meta.url));
const promtool = (...args: string[]) => spawnSync("promtool", args, { cwd: here, encoding: "utf8" });

describe("Prometheus configuration", () => {
  test.each([
    ["the scrape config (and the rule file it loads)", ["check", "config", "prometheus.yml"]],
    ["the alert rules", ["check", "rules", "alerts.yml"]],
    ["the alert rules' unit tests: each fires and resolves", ["test", "rules", "alerts.test.yml"]],
  ])("promtool accepts %s", (_label, args) => {
    const result = promtool(...args);
    expect(result.error, "promtool (Debian package prometheus) must be installed").toBeUndefined();
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
  });

  test("alerts.yml holds monitoring's default rules, one for one: same comparison, threshold, duration and severity", () => {
    const file = parse(readFileSync(join(here, "alerts.yml"), "utf8")) as {
      groups: Array<{ rules: Array<{ alert: string; expr: string; for: string; labels: { severity: string } }> }>;
    };
    const prometheus = file.groups.flatMap((g) => g.rules);
    const seconds = (duration: string) => Number(duration.slice(0, -1)) * { s: 1, m: 60, h: 3600 }[duration.slice(-1) as "s" | "m" | "h"];
    // `high-p99-latency` → `CacheHighP99Latency`
    const alertName = (id: string) => `Cache${id.replace(/(^|-)([a-z0-9])/g, (_m, _dash, c: string) => c.toUpperCase())}`;
    expect(prometheus.map((r) => r.alert).sort()).toEqual(DEFAULT_ALERT_RULES.map((r) => alertName(r.id)).sort());
    for (const rule of DEFAULT_ALERT_RULES) {
      const promRule = prometheus.find((r) => r.alert === alertName(rule.id))!;
      const [, op, threshold] = /(>=|<=|>|<)\s*([\d.]+)\s*$/.exec(promRule.expr) ?? [];
      expect([op, Number(threshold)], rule.id).toEqual([rule.op, rule.metric.endsWith("_ms") ? rule.threshold / 1000 : rule.threshold]);
      expect(seconds(promRule.for), rule.id).toBe(rule.forSeconds);
      expect(promRule.labels.severity, rule.id).toBe(rule.severity);
    }
  });

  test("the Grafana dashboard is valid JSON and queries only exposed metric names", () => {
    const dashboard = JSON.parse(readFileSync(join(here, "../grafana/dashboards/cachet.json"), "utf8"));
    const exprs: string[] = dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
    expect(exprs.length).toBeGreaterThan(8);
    const exposed = /^(cache_[a-z_]+|cachet_reporting_instances)$/;
    for (const name of exprs.flatMap((e) => e.match(/\bcache[a-z_]*(?=[{[)\s])/g) ?? [])) expect(name).toMatch(exposed);
  });
});
