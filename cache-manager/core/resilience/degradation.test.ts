import { describe, expect, test } from "vitest";
import { CircuitBreaker, type BreakerState } from "./breaker.ts";
import { FakeClock } from "../../../lib/clock.ts";
import { DEGRADATION_LEVELS, DegradationPolicy, deriveLevel, planFor, type DegradationChange, type DegradationLevel, type RequestKind } from "./degradation.ts";
import { ResilienceArgumentError } from "./errors.ts";

describe("deriveLevel", () => {
  test.each<[BreakerState, boolean, DegradationLevel | null, DegradationLevel]>([
    ["closed", true, null, "normal"],
    ["half-open", true, null, "normal"],
    ["open", true, null, "l1-only"],
    ["closed", false, null, "read-only-stale"],
    ["half-open", false, null, "read-only-stale"],
    ["open", false, null, "read-only-stale"],
    ["closed", true, "bypass-to-origin", "bypass-to-origin"],
    ["open", false, "reject", "reject"],
    ["open", true, "normal", "normal"],
  ])("L2 breaker %s, origin healthy %s, override %s → %s", (l2Breaker, originHealthy, override, level) => {
    expect(deriveLevel({ l2Breaker, originHealthy, override })).toBe(level);
  });

  test.each<[BreakerState, boolean, DegradationLevel]>([
    ["closed", true, "skip-l1"],
    ["half-open", true, "skip-l1"],
    ["open", true, "l1-only"],
    ["closed", false, "read-only-stale"],
  ])("with the coherence stream lost past its bound: L2 breaker %s, origin healthy %s → %s", (l2Breaker, originHealthy, level) => {
    expect(deriveLevel({ l2Breaker, originHealthy, coherenceLost: true })).toBe(level);
  });
});

describe("planFor", () => {
  test.each<[DegradationLevel, RequestKind, boolean, string[], string[], boolean]>([
    ["normal", "read", true, ["l1", "l2", "origin"], ["l1", "l2"], false],
    ["normal", "write", true, ["l1", "l2", "origin"], [], false],
    ["skip-l1", "read", true, ["l2", "origin"], ["l1", "l2"], false],
    ["skip-l1", "write", true, ["l1", "l2", "origin"], [], false],
    ["l1-only", "read", true, ["l1", "origin"], ["l1"], false],
    ["l1-only", "write", true, ["l1", "origin"], [], false],
    ["read-only-stale", "read", true, ["l1", "l2"], [], true],
    ["read-only-stale", "write", false, [], [], false],
    ["bypass-to-origin", "read", true, ["origin"], [], false],
    ["bypass-to-origin", "write", true, ["origin"], [], false],
    ["reject", "read", false, [], [], false],
    ["reject", "write", false, [], [], false],
  ])("%s %s: allowed %s, tiers %j, fill %j, serve stale %s", (level, kind, allowed, tiers, fill, serveStale) => {
    const plan = planFor(level, kind);
    expect(plan).toMatchObject({ level, kind, allowed, tiers, fill, serveStale });
    expect(plan.reason !== undefined).toBe(!allowed);
  });

  test("plans are frozen and shared", () => {
    expect(Object.isFrozen(planFor("normal", "read"))).toBe(true);
    expect(planFor("normal", "read")).toBe(planFor("normal", "read"));
  });

  test("every level has a plan for both kinds", () => {
    for (const level of DEGRADATION_LEVELS) {
      expect(planFor(level, "read").kind).toBe("read");
      expect(planFor(level, "write").kind).toBe("write");
    }
  });

  test("an unknown level is refused", () => {
    expect(() => planFor("panic" as DegradationLevel, "read")).toThrow(ResilienceArgumentError);
  });
});

describe("DegradationPolicy", () => {
  test("starts normal and reports a change only when the level changes", () => {
    const policy = new DegradationPolicy();
    const changes: DegradationChange[] = [];
    policy.onChange((change) => changes.push(change));
    expect(policy.level).toBe("normal");
    policy.update({ l2Breaker: "half-open" });
    expect(changes).toEqual([]);
    policy.update({ l2Breaker: "open" });
    policy.update({ originHealthy: false });
    policy.update({ originHealthy: true, l2Breaker: "closed" });
    expect(changes.map(({ from, to }) => `${from}->${to}`)).toEqual(["normal->l1-only", "l1-only->read-only-stale", "read-only-stale->normal"]);
    expect(changes[0].inputs).toMatchObject({ l2Breaker: "open", originHealthy: true });
  });

  test("an override wins over the inputs until it is lifted", () => {
    const policy = new DegradationPolicy({ l2Breaker: "open" });
    expect(policy.level).toBe("l1-only");
    expect(policy.setOverride("reject")).toBe("reject");
    expect(policy.plan("read").allowed).toBe(false);
    policy.update({ l2Breaker: "closed" });
    expect(policy.level).toBe("reject");
    expect(policy.setOverride(null)).toBe("normal");
  });

  test("an unknown override is refused and leaves the level as it was", () => {
    const policy = new DegradationPolicy();
    expect(() => policy.setOverride("panic" as DegradationLevel)).toThrow(ResilienceArgumentError);
    expect(policy.level).toBe("normal");
    expect(policy.update({ l2Breaker: "open" })).toBe("l1-only");
  });

  test("follows the L2 breaker: open → l1-only, recovered → normal", async () => {
    const clock = new FakeClock();
    const breaker = new CircuitBreaker({ name: "l2", failureThreshold: 2, openMs: 500, clock });
    const policy = new DegradationPolicy();
    breaker.onStateChange(({ to }) => policy.update({ l2Breaker: to }));
    for (let i = 0; i < 2; i++) await breaker.run(() => Promise.reject(new Error("down"))).catch(() => {});
    expect(policy.plan("read").tiers).toEqual(["l1", "origin"]);
    clock.advance(500);
    await breaker.run(() => "pong");
    expect(policy.level).toBe("normal");
  });
});
