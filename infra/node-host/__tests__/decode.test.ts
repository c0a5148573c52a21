import { describe, expect, test } from "vitest";
import { APIError } from "../encore/errors.ts";
import { Decoder, type RawInput } from "../runtime/http/decode.ts";
import type { FieldSchema, TypeSchema } from "../manifest/types.ts";

const field = (name: string, type: TypeSchema, loc: FieldSchema["loc"] = "body", optional = false, wire = name): FieldSchema => ({
  name,
  wire,
  loc,
  optional,
  type,
});

const schema: TypeSchema = {
  k: "object",
  fields: [
    field("key", { k: "string" }, "path"),
    field("limit", { k: "number" }, "body", true),
    field("exact", { k: "boolean" }, "body", true),
    field("requestId", { k: "string" }, "header", true, "X-Request-Id"),
    field("page", { k: "number" }, "query", true),
    field(
      "mode",
      {
        k: "union",
        u: [
          { k: "literal", v: "cache-only" },
          { k: "literal", v: "write-through" },
        ],
      },
      "body",
      true,
    ),
    field("tags", { k: "array", e: { k: "string" } }, "body", true),
    field("value", { k: "any" }, "body", true),
    field("node", { k: "ref", name: "Node" }, "body", true),
  ],
};
const types: Record<string, TypeSchema> = {
  Node: { k: "object", fields: [field("name", { k: "string" }), field("child", { k: "ref", name: "Node" }, "body", true)] },
};
const decoder = new Decoder(types);

function input(overrides: Partial<RawInput>): RawInput {
  return { method: "GET", pathParams: { key: "k1" }, query: new URLSearchParams(), headers: {}, body: undefined, ...overrides };
}

function rejection(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof APIError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error("expected an APIError");
}

describe("request decoding", () => {
  test("query parameters reach number and boolean fields coerced", () => {
    const params = decoder.decodeRequest(schema, input({ query: new URLSearchParams("limit=5&exact=true&tags=a&tags=b") }));
    expect(params).toEqual({ key: "k1", limit: 5, exact: true, tags: ["a", "b"] });
  });

  test("headers and Query<> fields are read for bodied methods too", () => {
    const params = decoder.decodeRequest(
      schema,
      input({ method: "POST", headers: { "x-request-id": "r-1" }, query: new URLSearchParams("page=2"), body: { limit: 3 } }),
    );
    expect(params).toEqual({ key: "k1", requestId: "r-1", page: 2, limit: 3 });
  });

  test("the JSON body is type-checked, nested and recursive types included", () => {
    const body = { value: { any: ["thing"] }, node: { name: "a", child: { name: "b" } }, mode: "write-through" };
    expect(decoder.decodeRequest(schema, input({ method: "PUT", body }))).toEqual({ key: "k1", ...body });
  });

  test("unknown body fields are dropped", () => {
    expect(decoder.decodeRequest(schema, input({ method: "PUT", body: { limit: 1, extra: "x" } }))).toEqual({ key: "k1", limit: 1 });
  });

  test.each([
    ["a missing path parameter", input({ pathParams: {} }), /missing required path parameter "key"/],
    ["a non-numeric query number", input({ query: new URLSearchParams("limit=abc") }), /"limit": expected a number, got "abc"/],
    ["a bad boolean", input({ query: new URLSearchParams("exact=maybe") }), /"exact": expected true or false/],
    ["a string where the body wants a number", input({ method: "POST", body: { limit: "5" } }), /"limit": expected a number, got "5"/],
    ["a value outside a literal union", input({ method: "POST", body: { mode: "sideways" } }), /expected "cache-only" or "write-through"/],
    ["a body that is not an object", input({ method: "POST", body: [1, 2] }), /must be a JSON object/],
    ["a nested required field missing", input({ method: "POST", body: { node: { child: {} } } }), /missing required field "node.name"/],
    ["an array with a wrong item", input({ method: "POST", body: { tags: ["a", 3] } }), /"tags\[1\]": expected a string/],
  ])("%s → invalid_argument naming the field", (_name, raw, message) => {
    const err = rejection(() => decoder.decodeRequest(schema, raw));
    expect(err.code).toBe("invalid_argument");
    expect(err.message).toMatch(message);
  });

  test("deeply nested input is refused instead of recursing without bound", () => {
    let node: Record<string, unknown> = { name: "leaf" };
    for (let i = 0; i < 200; i++) node = { name: `n${i}`, child: node };
    const err = rejection(() => decoder.decodeRequest(schema, input({ method: "POST", body: { node } })));
    expect(err.message).toMatch(/nested more than 64 levels/);
  });
});
