import { describe, expect, it } from "vitest";
import { SETTINGS } from "../lib/config";
import { nodeListProblem } from "../lib/config/settings";
import { POLICY_NAMES } from "./core/l1/policies/policy";
import { parseNodes } from "./core/l2/config";

describe("settings that mirror cache-manager's core", () => {
  it("CACHE_L1_POLICY accepts exactly the L1's policies", () => {
    expect(SETTINGS.CACHE_L1_POLICY.kind.accepts).toBe(`one of ${POLICY_NAMES.join(", ")}`);
  });

  it.each(["a:1,b:2", " a:6379 , b:6380 ", "a", "a:1,b", "a:x", "", "a:123456"])("CACHE_L2_NODES=%j: accepted exactly when the L2 accepts it", (text) => {
    let coreError: string | undefined;
    try {
      parseNodes(text);
    } catch (error) {
      coreError = (error as Error).message;
    }
    expect(nodeListProblem(text)).toBe(coreError);
  });
});
