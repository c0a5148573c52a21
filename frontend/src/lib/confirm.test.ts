import { describe, expect, test } from "vitest";
import { filterCommands } from "./commands";
import { confirmationMatches, confirmRule, matchesEverything } from "./confirm";
import { parseSettings } from "./settings";

describe("type-to-confirm", () => {
  test.each([
    [5, undefined, undefined, { typed: false, serverConfirm: false }],
    [100, undefined, undefined, { typed: true, phrase: "100", serverConfirm: false }],
    [20_000, "user:*", 10_000, { typed: true, phrase: "20000", serverConfirm: true }],
    [60, "user:*", 50, { typed: false, phrase: "60", serverConfirm: true }],
    [10_000, "user:*", 10_000, { typed: true, phrase: "10000", serverConfirm: false }],
    [3, "*", 10_000, { typed: true, phrase: "everything", serverConfirm: true }],
    [null, "a:*", undefined, { typed: true, phrase: "invalidate", serverConfirm: true }],
  ] as const)("%s keys, pattern %s, service threshold %s", (count, pattern, threshold, expected) => {
    expect(confirmRule(count, pattern, { threshold })).toMatchObject(expected);
  });

  test("match-all patterns are recognised", () => {
    expect(matchesEverything("*")).toBe(true);
    expect(matchesEverything(" ** ")).toBe(true);
    expect(matchesEverything("a*")).toBe(false);
  });

  test("the typed phrase ignores spaces and thousands separators, nothing else", () => {
    expect(confirmationMatches(" 20,000 ", "20000")).toBe(true);
    expect(confirmationMatches("2000", "20000")).toBe(false);
    expect(confirmationMatches("EVERYTHING", "everything")).toBe(true);
  });
});

describe("command palette matching", () => {
  const commands = [{ label: "Overview" }, { label: "Cache Explorer", keywords: "keys search" }, { label: "Lab: stampede", keywords: "scenario" }];
  test("every word must match, labels starting with the query first", () => {
    expect(filterCommands(commands, "").map((c) => c.label)).toHaveLength(3);
    expect(filterCommands(commands, "keys").map((c) => c.label)).toEqual(["Cache Explorer"]);
    expect(filterCommands(commands, "stamp lab").map((c) => c.label)).toEqual(["Lab: stampede"]);
    expect(filterCommands(commands, "zzz")).toEqual([]);
  });
});

describe("settings", () => {
  test("stored settings are validated field by field", () => {
    expect(parseSettings(null)).toEqual({ token: "", pollMs: 5000, theme: "system", readOnly: false });
    expect(parseSettings("not json").theme).toBe("system");
    expect(parseSettings(JSON.stringify({ token: "t", pollMs: 10, theme: "neon", readOnly: "yes" }))).toEqual({
      token: "t",
      pollMs: 5000,
      theme: "system",
      readOnly: false,
    });
    expect(parseSettings(JSON.stringify({ theme: "dark", pollMs: 2000, readOnly: true }))).toMatchObject({ theme: "dark", pollMs: 2000, readOnly: true });
  });
});
