/**
 * parseJsonText against its reference, JSON.parse: the same value for every body (the short-list
 * shortcut's and everything it hands to the parser), and the same error for every malformed one.
 */
import { describe, expect, test } from "vitest";
import { parseJsonText } from "../runtime/http/json-text.ts";

const keys = (count: number, key: (i: number) => string) => JSON.stringify({ keys: Array.from({ length: count }, (_, i) => key(i)) });

const BODIES: Array<[string, string]> = [
  ["100 short keys", keys(100, (i) => `serving:${i}`)],
  ["1,000 short keys", keys(1_000, (i) => `k:${i}`)],
  ["an empty list", '{"keys":[]}'],
  ["an empty string", '{"keys":[""]}'],
  ["a key of 12 characters", keys(1, () => "x".repeat(12))],
  ["a key of 13 characters (parsed by JSON.parse)", keys(1, () => "x".repeat(13))],
  ["short keys then a long one", keys(5, (i) => (i === 4 ? "a-long-key-name:4" : `k:${i}`))],
  ["unicode keys", keys(4, (i) => ["é", "漢字", "🎉", "\u2028\u2029"][i])],
  ["a lone surrogate", '{"keys":["\ud800x"]}'],
  ["a DEL character (allowed unescaped)", '{"keys":["a\u007fb"]}'],
  ["an escaped quote", '{"keys":["a\\"b"]}'],
  ["an escaped backslash", '{"keys":["a\\\\"]}'],
  ["a unicode escape", '{"keys":["\\u0041"]}'],
  ["another field name", '{"ids":["1","2"]}'],
  ["a __proto__ field (an own property, as JSON.parse makes it)", '{"__proto__":["a"]}'],
  ["spaces between tokens", '{ "keys" : [ "a" , "b" ] }'],
  ["a line break between tokens", '{"keys":[\n"a"]}'],
  ["numbers in the list", '{"keys":[1,2]}'],
  ["a nested list", '{"keys":[["a"]]}'],
  ["two fields", '{"keys":["a"],"more":1}'],
  ["a PUT body", JSON.stringify({ value: { id: 1, name: "Product 1", tags: ["a"] }, ttlSeconds: 60 })],
  ["a batch set body", JSON.stringify({ entries: [{ key: "k", value: 1 }] })],
  ["a bare list", '["a","b"]'],
  ["a string", '"keys"'],
  ["null", "null"],
];

const MALFORMED: Array<[string, string]> = [
  ["a raw control character in a key", '{"keys":["a\u0001b"]}'],
  ["a raw tab in a key", '{"keys":["a\tb"]}'],
  ["a trailing comma", '{"keys":["a",]}'],
  ["a missing closing brace", '{"keys":["a"]'],
  ["a missing closing bracket", '{"keys":["a"}'],
  ["an unterminated string", '{"keys":["a'],
  ["trailing garbage", '{"keys":["a"]}x'],
  ["a second object", '{"keys":["a"]}{}'],
  ["a bad escape", '{"keys":["\\x"]}'],
  ["an empty name and no colon", '{"":}'],
  ["a byte-order mark", '\ufeff{"keys":["a"]}'],
];

describe("parseJsonText", () => {
  test.each(BODIES)("gives what JSON.parse gives for %s", (_, text) => {
    const parsed = parseJsonText(text);
    expect(parsed).toStrictEqual(JSON.parse(text));
    expect(JSON.stringify(parsed)).toBe(JSON.stringify(JSON.parse(text)));
  });

  test("a __proto__ field is an own property and leaves the prototype alone", () => {
    const parsed = parseJsonText('{"__proto__":["a"]}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.getOwnPropertyNames(parsed)).toEqual(["__proto__"]);
    expect(Object.getOwnPropertyDescriptor(parsed, "__proto__")?.value).toEqual(["a"]);
  });

  test.each(MALFORMED)("throws JSON.parse's own error for %s", (_, text) => {
    let expected: unknown;
    try {
      JSON.parse(text);
    } catch (error) {
      expected = error;
    }
    expect(expected).toBeInstanceOf(SyntaxError);
    expect(() => parseJsonText(text)).toThrow(expected as SyntaxError);
  });
});
