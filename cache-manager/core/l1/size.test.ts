import { describe, expect, test } from "vitest";
import { estimateByteSize, utf8Length } from "./size";

describe("utf8Length", () => {
  test.each(["", "ascii", "café", "日本語", "emoji 🚀 rocket", "lone \ud800 surrogate", "\udc00 low first"])("matches Buffer.byteLength for %j", (text) => {
    expect(utf8Length(text)).toBe(Buffer.byteLength(text, "utf8"));
  });
});

describe("estimateByteSize", () => {
  test.each([
    ["a string", "héllo", 6],
    ["a Buffer", Buffer.alloc(100), 100],
    ["a typed array", new Float64Array(4), 32],
    ["an ArrayBuffer", new ArrayBuffer(12), 12],
    ["a number", 42, 8],
    ["null", null, 4],
    ["an object", { id: 7, name: "Ada" }, 26],
    ["an array", ["ab", "c"], 2 + 2 + 1 + 1],
  ])("sizes %s", (_label, value, expected) => {
    expect(estimateByteSize(value)).toBe(expected);
  });

  test("stays close to the JSON length of a typical document", () => {
    const document = { id: "user:123", name: "Ada Lovelace", roles: ["admin", "viewer"], address: { city: "London", zip: "N1" }, active: true };
    const json = Buffer.byteLength(JSON.stringify(document));
    expect(Math.abs(estimateByteSize(document) - json) / json).toBeLessThan(0.25);
  });

  test("terminates on cyclic values and counts a shared object once", () => {
    const node: Record<string, unknown> = { name: "n" };
    node.self = node;
    expect(estimateByteSize(node)).toBeGreaterThan(0);
    const shared = { payload: "x".repeat(1_000) };
    expect(estimateByteSize([shared, shared])).toBeLessThan(1_100);
  });
});
