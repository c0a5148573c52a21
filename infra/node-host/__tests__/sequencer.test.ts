import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { appRoot } from "../testing/spawn.ts";
import { EXPECTED_SECONDS, longestFirst } from "../testing/sequencer.ts";

describe("the test files' order", () => {
  test("longest expected first; files with no figure keep their order, after those with one", () => {
    const expected: Record<string, number | undefined> = { a: undefined, b: 5, c: undefined, d: 90, e: 5 };
    expect(longestFirst(Object.keys(expected), (name) => expected[name])).toEqual(["d", "b", "e", "a", "c"]);
  });

  test("every file with an expected duration exists (a renamed file would silently lose its place)", () => {
    const missing = Object.keys(EXPECTED_SECONDS).filter((file) => !existsSync(join(appRoot, file)));
    expect(missing).toEqual([]);
  });
});
