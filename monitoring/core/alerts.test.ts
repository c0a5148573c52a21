import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { MetricsReport } from "../../lib/metrics/report.ts";
import { AlertStore } from "./alert-store.ts";
import { AlertRuleError, DEFAULT_ALERT_RULES, emptyAlertState, evaluateAlerts, validateRules, type AlertRule, type AlertSignals } from "./alerts.ts";
import { HistoryStore } from "./history.ts";
import { alertSignals, Monitor } from "./monitor.ts";
import { migratedDatabase } from "./pglite.ts";
import { cacheReport } from "./testing.ts";
import { RecentWindow } from "./window.ts";

const quiet: AlertSignals = {
  missRate: 0.1,
  p99LatencyMs: { all: 5, l1: 0.1, l2: 2, l3: 12, origin: 80 },
  l2BreakerOpen: 0,
  writeBehindLagSeconds: 0,
  coherenceLagSeconds: 0.01,
  errorRate: 0,
  instances: 3,
  l3Degraded: 0,
  l3CopierLagSeconds: 0.4,
  l3CopyFailureRate: 0,
};

const missRule = DEFAULT_ALERT_RULES.find((r) => r.id === "high-miss-rate")!;

describe("alert evaluation (pure, fake time)", () => {
  test("miss rate above 50% fires only after holding for 5 minutes, and resolves when it drops", () => {
    let state = emptyAlertState();
    const at = (s: number) => 1_000_000 + s * 1000;
    const run = (signals: AlertSignals, s: number) => {
      const result = evaluateAlerts([missRule], signals, at(s), state);
      state = result.state;
      return result.transitions;
    };
    expect(run({ ...quiet, missRate: 0.8 }, 0)).toEqual([]);
    expect(run({ ...quiet, missRate: 0.8 }, 299)).toEqual([]);
    const fired = run({ ...quiet, missRate: 0.7 }, 300);
    expect(fired.map((t) => [t.kind, t.rule.id, t.value])).toEqual([["firing", "high-miss-rate", 0.7]]);
    expect(fired[0].message).toMatch(/miss_rate = 70\.0% > 0\.5/);
    expect(run({ ...quiet, missRate: 0.9 }, 400)).toEqual([]); // still firing: no new transition
    expect(run({ ...quiet, missRate: 0.2 }, 401).map((t) => t.kind)).toEqual(["resolved"]);
    expect(run({ ...quiet, missRate: 0.2 }, 402)).toEqual([]);
  });

  test("a condition that stops holding before its duration never fires", () => {
    let state = emptyAlertState();
    for (const [s, rate] of [
      [0, 0.9],
      [200, 0.9],
      [250, 0.3],
      [260, 0.9],
      [500, 0.9],
    ] as const) {
      const r = evaluateAlerts([missRule], { ...quiet, missRate: rate }, s * 1000, state);
      expect(r.transitions).toEqual([]);
      state = r.state;
    }
    expect(evaluateAlerts([missRule], { ...quiet, missRate: 0.9 }, 560_000, state).transitions.map((t) => t.kind)).toEqual(["firing"]);
  });

  test.each([
    ["p99 above its threshold", "high-p99-latency", { p99LatencyMs: { all: 400, l1: 1, l2: 3, l3: 20, origin: 400 } }, 120],
    ["the L2 breaker open", "l2-breaker-open", { l2BreakerOpen: 1 }, 30],
    ["write-behind lag", "write-behind-lag", { writeBehindLagSeconds: 120 }, 60],
    ["coherence lag", "coherence-lag", { coherenceLagSeconds: 3 }, 60],
    ["an instance's L3 degraded", "l3-degraded", { l3Degraded: 1 }, 300],
    ["the L3 copier lag", "l3-copier-lag", { l3CopierLagSeconds: 31 }, 120],
    ["L3 copy batches failing", "l3-copy-failures", { l3CopyFailureRate: 1 / 60 }, 300],
  ])("%s fires after its duration and resolves", (_label, id, bad, forSeconds) => {
    const rule = DEFAULT_ALERT_RULES.find((r) => r.id === id)!;
    let state = evaluateAlerts([rule], { ...quiet, ...bad }, 0, emptyAlertState()).state;
    expect(evaluateAlerts([rule], { ...quiet, ...bad }, forSeconds * 1000 - 1, state).transitions).toEqual([]);
    const fired = evaluateAlerts([rule], { ...quiet, ...bad }, forSeconds * 1000, state);
    expect(fired.transitions.map((t) => t.kind)).toEqual(["firing"]);
    state = fired.state;
    expect(evaluateAlerts([rule], quiet, forSeconds * 1000 + 1, state).transitions.map((t) => t.kind)).toEqual(["resolved"]);
  });

  test.each([
    ["degraded", "l3-degraded", { l3Degraded: 0 }, { l3Degraded: 1 }],
    ["copier lag", "l3-copier-lag", { l3CopierLagSeconds: 30 }, { l3CopierLagSeconds: 30.001 }],
    ["copy failures", "l3-copy-failures", { l3CopyFailureRate: 0 }, { l3CopyFailureRate: 0.001 }],
  ])("the L3 %s rule's threshold: at it nothing fires, just past it the rule fires", (_label, id, at, past) => {
    const rule = DEFAULT_ALERT_RULES.find((r) => r.id === id)!;
    const held = (signals: AlertSignals) => {
      const state = evaluateAlerts([rule], signals, 0, emptyAlertState()).state;
      return evaluateAlerts([rule], signals, rule.forSeconds * 1000, state).transitions.map((t) => t.kind);
    };
    expect(held({ ...quiet, ...at })).toEqual([]);
    expect(held({ ...quiet, ...past })).toEqual(["firing"]);
  });

  test("no copier lag yet (L3 off, or no batch copied) and no window yet raise no L3 alert", () => {
    const rules = DEFAULT_ALERT_RULES.filter((r) => r.id.startsWith("l3-"));
    const state = new Map(rules.map((r) => [r.id, { since: 0, firing: true, firedAt: 0 }]));
    const idle = { ...quiet, l3CopierLagSeconds: null, l3CopyFailureRate: null };
    expect(evaluateAlerts(rules, idle, 1, state).transitions.map((t) => [t.kind, t.rule.id])).toEqual([
      ["resolved", "l3-degraded"],
      ["resolved", "l3-copier-lag"],
      ["resolved", "l3-copy-failures"],
    ]);
  });

  test("no traffic (no miss rate) resolves a miss-rate alert; a disabled or removed rule resolves too", () => {
    const state = new Map([[missRule.id, { since: 0, firing: true, firedAt: 0 }]]);
    expect(evaluateAlerts([missRule], { ...quiet, missRate: null }, 1, state).transitions.map((t) => t.kind)).toEqual(["resolved"]);
    expect(evaluateAlerts([{ ...missRule, enabled: false }], { ...quiet, missRate: 0.9 }, 1, state).transitions.map((t) => t.kind)).toEqual(["resolved"]);
    expect(evaluateAlerts([], { ...quiet, missRate: 0.9 }, 1, state).transitions.map((t) => [t.kind, t.rule.id])).toEqual([["resolved", "high-miss-rate"]]);
  });
});

describe("alert signals from the instances' reports", () => {
  test("L3: instances degraded, the longest copier lag, copy failures per second over the window", () => {
    const window = new RecentWindow();
    window.observe(
      [
        cacheReport("a", 1_000, { l3: { state: "ok", copyFailures: 1, copierLagMs: 500 } }),
        cacheReport("b", 1_000, { l3: { state: "degraded", breaker: "open", copyFailures: 7 } }),
      ],
      1_000,
    );
    const reports = [
      cacheReport("a", 11_000, { l3: { state: "ok", copyFailures: 4, copierLagMs: 45_000 } }),
      cacheReport("b", 11_000, { l3: { state: "degraded", breaker: "open", pendingInvalidations: 3, copyFailures: 9, copierLagMs: 1_200 } }),
      cacheReport("c", 11_000, { l3: { state: "off" } }),
    ];
    window.observe(reports, 11_000);
    const signals = alertSignals(reports, window.window(60));
    expect(signals.l3Degraded).toBe(1);
    expect(signals.l3CopierLagSeconds).toBe(45);
    expect(signals.l3CopyFailureRate).toBe((3 + 2) / 10);
    const fired = DEFAULT_ALERT_RULES.filter((r) => r.id.startsWith("l3-")).map((r) => {
      const state = evaluateAlerts([r], signals, 0, emptyAlertState()).state;
      return evaluateAlerts([r], signals, r.forSeconds * 1000, state).transitions.map((t) => t.message);
    });
    expect(fired).toEqual([
      ["L3 degraded for 5 minutes: l3_degraded = 1 >= 1"],
      ["L3 copier more than 30 s behind for 2 minutes: l3_copier_lag_seconds = 45 > 30"],
      ["L3 copy batches failing for 5 minutes: l3_copy_failure_rate = 0.5 > 0"],
    ]);
  });

  test("without L3 anywhere: nothing degraded, no copier lag, no failures", () => {
    const window = new RecentWindow();
    const reports = [cacheReport("a", 1_000, { hitsL1: 3 }), cacheReport("b", 1_000, { l3: { state: "off" } })];
    window.observe(reports, 1_000);
    window.observe(
      reports.map((r) => ({ ...r, at: 2_000 })),
      2_000,
    );
    expect(alertSignals(reports, window.window(60))).toMatchObject({ l3Degraded: 0, l3CopierLagSeconds: null, l3CopyFailureRate: 0 });
  });
});

describe("alert rule validation", () => {
  test("the L3 defaults say why they matter and why their thresholds", () => {
    for (const rule of DEFAULT_ALERT_RULES.filter((r) => r.id.startsWith("l3-"))) expect(rule.description?.length, rule.id).toBeGreaterThan(100);
  });

  test("the defaults are valid and fill in optional fields", () => {
    expect(validateRules(DEFAULT_ALERT_RULES)).toEqual(DEFAULT_ALERT_RULES);
    expect(validateRules([{ id: "x", metric: "instances", op: "<", threshold: 2 }])).toEqual([
      { id: "x", name: "x", metric: "instances", op: "<", threshold: 2, forSeconds: 0, severity: "warning", enabled: true },
    ]);
  });

  test.each([
    ["not an array", { rules: 1 }, /must be an array/],
    ["an unknown metric", [{ id: "a", metric: "cpu", op: ">", threshold: 1 }], /rules\[0\] \("a"\)\.metric must be one of miss_rate, .*got "cpu"/],
    ["a bad operator", [{ id: "a", metric: "miss_rate", op: "=>", threshold: 0.5 }], /\.op must be one of > >= < <=/],
    ["a miss rate given in percent", [{ id: "a", metric: "miss_rate", op: ">", threshold: 50 }], /between 0 and 1 \(0\.5 = 50%\)/],
    [
      "a duplicate id",
      [
        { id: "a", metric: "instances", op: "<", threshold: 1 },
        { id: "a", metric: "instances", op: "<", threshold: 2 },
      ],
      /rules\[1\] \("a"\): the id is used twice/,
    ],
    ["a bad id", [{ id: "Not A Slug", metric: "instances", op: "<", threshold: 1 }], /id must be a slug/],
    ["a fractional duration", [{ id: "a", metric: "instances", op: "<", threshold: 1, forSeconds: 1.5 }], /forSeconds must be a whole number/],
    ["a tier on the wrong metric", [{ id: "a", metric: "miss_rate", op: ">", threshold: 0.5, tier: "l1" }], /tier applies to p99_latency_ms only/],
    [
      "a description that is not text",
      [{ id: "a", metric: "l3_degraded", op: ">=", threshold: 1, description: 5 }],
      /description must be a string of at most 2000/,
    ],
  ])("refuses %s with a message that says what to fix", (_label, input, message) => {
    expect(() => validateRules(input)).toThrow(AlertRuleError);
    expect(() => validateRules(input)).toThrow(message);
  });
});

describe("the monitor with a fake clock and a real database", () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  beforeAll(async () => {
    db = await migratedDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  test("a miss-rate alert fires after 5 minutes of misses and resolves after hits return; the episode is stored", async () => {
    let now = Date.UTC(2025, 0, 1);
    let hits = 0;
    let misses = 0;
    let reports: MetricsReport[] = [];
    const alerts = new AlertStore(db.sql);
    const monitor = new Monitor({
      readReports: async () => reports,
      history: new HistoryStore(db.sql, () => now),
      alerts,
      isLeader: async () => true,
      now: () => now,
      alertWindowSeconds: 10,
    });
    await alerts.setRules([{ ...missRule, forSeconds: 300 }]);
    const second = async (h: number, m: number) => {
      hits += h;
      misses += m;
      reports = [cacheReport("a", now, { hitsL1: hits, misses })];
      await monitor.tick();
      now += 1000;
    };
    for (let s = 0; s < 310; s++) await second(10, 30); // 75% misses
    let view = await alerts.episodes();
    expect(view.firing.map((e) => [e.ruleId, e.state, e.value])).toEqual([["high-miss-rate", "firing", 0.75]]);
    const firedAt = Date.parse(view.firing[0].firedAt);
    expect(firedAt - Date.UTC(2025, 0, 1)).toBeGreaterThanOrEqual(300_000);
    expect(firedAt - Date.UTC(2025, 0, 1)).toBeLessThanOrEqual(307_000);

    for (let s = 0; s < 15; s++) await second(100, 0);
    view = await alerts.episodes();
    expect(view.firing).toEqual([]);
    expect(view.history.map((e) => [e.ruleId, e.state])).toEqual([["high-miss-rate", "resolved"]]);
    expect(Date.parse(view.history[0].resolvedAt!)).toBeGreaterThan(firedAt);

    // A new leader picks up open episodes instead of firing them again.
    for (let s = 0; s < 310; s++) await second(0, 10);
    const other = new Monitor({
      readReports: async () => reports,
      history: new HistoryStore(db.sql, () => now),
      alerts,
      isLeader: async () => true,
      now: () => now,
      alertWindowSeconds: 10,
    });
    for (let s = 0; s < 8; s++) {
      await second(0, 10);
      await other.tick();
    }
    expect((await alerts.episodes()).history.filter((e) => e.state === "firing").length).toBe(1);
  });

  test("rules round-trip through the database; the defaults apply until replaced", async () => {
    const alerts = new AlertStore(db.sql);
    await db.sql.query("DELETE FROM alert_rules");
    expect(await alerts.rules()).toEqual(DEFAULT_ALERT_RULES);
    const rules: AlertRule[] = [
      { id: "few-instances", name: "fewer than 2 instances", metric: "instances", op: "<", threshold: 2, forSeconds: 10, severity: "critical", enabled: true },
    ];
    await alerts.setRules(rules);
    expect(await alerts.rules()).toEqual(rules);
    await expect(alerts.setRules([{ id: "x" }])).rejects.toThrow(AlertRuleError);
    expect(await alerts.rules()).toEqual(rules);
  });
});
