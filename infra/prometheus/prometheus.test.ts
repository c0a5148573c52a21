/**
 * The Prometheus files pass promtool (Debian's `prometheus` package): the scrape config, the alert
 * rules, and the rules' unit tests (each alert fires on a driven series and resolves). The Grafana
 * dashboard only queries metrics /metrics exposes.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

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

  test("the Grafana dashboard is valid JSON and queries only exposed metric names", () => {
    const dashboard = JSON.parse(readFileSync(join(here, "../grafana/dashboards/cachet.json"), "utf8"));
    const exprs: string[] = dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
    expect(exprs.length).toBeGreaterThan(8);
    const exposed = /^(cache_[a-z_]+|cachet_reporting_instances)$/;
    for (const name of exprs.flatMap((e) => e.match(/\bcache[a-z_]*(?=[{[)\s])/g) ?? [])) expect(name).toMatch(exposed);
  });
});
