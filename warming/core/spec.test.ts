import { describe, expect, test } from "vitest";
import { WarmingInputError } from "./errors.ts";
import { validateJob, type JobInput } from "./spec.ts";

const l3 = (source: Record<string, unknown>, rest: Partial<JobInput> = {}): JobInput => ({
  name: "recover",
  source: { type: "l3", ...source } as never,
  ...rest,
});

describe("the l3 source", () => {
  test("a valid pattern is kept as given, inside the namespace or without one", () => {
    expect(validateJob(l3({ pattern: "product:*" }, { namespace: "product:" })).source).toEqual({ type: "l3", pattern: "product:*" });
    expect(validateJob(l3({ pattern: "product:[0-9]*" })).source).toEqual({ type: "l3", pattern: "product:[0-9]*" });
    expect(validateJob(l3({ pattern: "*" })).source).toEqual({ type: "l3", pattern: "*" });
  });

  test.each([
    ["no pattern", l3({}), /the "l3" source restores the keys matching "source\.pattern": set it to a Redis glob, e\.g\. "product:\*"/],
    ["an empty pattern", l3({ pattern: "" }, { namespace: "user:" }), /set it to a Redis glob, e\.g\. "user:\*"/],
    ["a pattern that is not a string", l3({ pattern: 42 }), /"source\.pattern": set it to a Redis glob/],
    ["an unclosed class", l3({ pattern: "product:[0-9" }), /^"source\.pattern": .*\[/],
    ["a trailing backslash", l3({ pattern: "product:\\" }), /^"source\.pattern": the pattern ends with a lone `\\`/],
    ["too many stars", l3({ pattern: "*a".repeat(17) }), /^"source\.pattern": the pattern has more than 16 `\*`/],
    [
      "a pattern outside the namespace",
      l3({ pattern: "*" }, { namespace: "product:" }),
      /"source\.pattern" "\*" reaches outside the namespace "product:": start it with "product:", e\.g\. "product:\*"/,
    ],
    [
      "a pattern whose wildcard comes before the namespace ends",
      l3({ pattern: "prod*" }, { namespace: "product:" }),
      /reaches outside the namespace "product:"/,
    ],
    [
      "a TTL, which L3 entries do not take",
      l3({ pattern: "product:*" }, { ttlSeconds: 60 }),
      /"ttlSeconds" does not apply to the "l3" source: restored entries keep the expiry they have in L3/,
    ],
  ])("%s is refused with a message saying what to fix", (_label, input, message) => {
    expect(() => validateJob(input)).toThrow(WarmingInputError);
    expect(() => validateJob(input)).toThrow(message);
  });

  test("an existing job changed to the l3 source drops the TTL it had", () => {
    const current = validateJob({ name: "nightly", source: { type: "origin" }, namespace: "product:", ttlSeconds: 600 });
    expect(validateJob({ source: { type: "l3", pattern: "product:*" } }, current)).toMatchObject({
      source: { type: "l3", pattern: "product:*" },
      ttlSeconds: null,
    });
    expect(() => validateJob({ source: { type: "l3", pattern: "product:*" }, ttlSeconds: 60 }, current)).toThrow(/"ttlSeconds" does not apply/);
  });
});
