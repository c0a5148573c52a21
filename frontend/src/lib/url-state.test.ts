import { describe, expect, test } from "vitest";
import { flag, int, list, oneOf, readState, text, writeState } from "./url-state";

const schema = { match: text("*"), page: int(1, { min: 1, max: 50 }), tab: oneOf(["keys", "stats"] as const, "keys"), sel: list(), raw: flag() };

describe("URL state", () => {
  test("an empty query gives every default", () => {
    expect(readState(schema, new URLSearchParams(""))).toEqual({ match: "*", page: 1, tab: "keys", sel: [], raw: false });
  });

  test.each([
    ["page=0", { page: 1 }],
    ["page=51", { page: 1 }],
    ["page=2.5", { page: 1 }],
    ["page=abc", { page: 1 }],
    ["page=7", { page: 7 }],
    ["tab=nope", { tab: "keys" }],
    ["tab=stats", { tab: "stats" }],
    ["sel=a,b,a,,c", { sel: ["a", "b", "c"] }],
    ["raw=1", { raw: true }],
    ["match=", { match: "*" }],
    ["match=user%3A*", { match: "user:*" }],
  ])("invalid or odd values fall back safely: %s", (query, expected) => {
    expect(readState(schema, new URLSearchParams(query))).toMatchObject(expected);
  });

  test("writing leaves defaults out of the URL and keeps unknown params", () => {
    const params = new URLSearchParams("other=x&page=3");
    const next = writeState(schema, params, { page: 1, match: "product:*", tab: "stats", sel: ["k1", "k2"] });
    expect(next.toString()).toBe("other=x&match=product%3A*&tab=stats&sel=k1%2Ck2");
    expect(params.toString()).toBe("other=x&page=3"); // not mutated
  });

  test("a state written then read back round-trips", () => {
    const state = { match: "a[bc]?*", page: 9, tab: "stats" as const, sel: ["x:1"], raw: true };
    expect(readState(schema, writeState(schema, new URLSearchParams(), state))).toEqual(state);
  });
});
