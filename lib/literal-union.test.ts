import { describe, expect, test } from "vitest";
import { listOf } from "./literal-union.ts";

type Colour = "red" | "green" | "blue";

describe("listOf", () => {
  test("returns the values it is given, in order", () => {
    expect(listOf<Colour>()("red", "green", "blue")).toEqual(["red", "green", "blue"]);
  });

  test("does not compile when a member of the union is missing or a value is not a member", () => {
    // @ts-expect-error "blue" is missing
    const missing = listOf<Colour>()("red", "green");
    // @ts-expect-error "pink" is not a Colour
    const stranger = listOf<Colour>()("red", "green", "blue", "pink");
    expect([missing.length, stranger.length]).toEqual([2, 4]);
  });
});
