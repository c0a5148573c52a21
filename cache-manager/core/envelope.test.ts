/**
 * `envelopeJson` (a written envelope around a value encoded before) against its reference,
 * `encodeEnvelope` (JSON.stringify of the envelope), byte for byte, for values of every JSON kind,
 * tags that need escaping and freshness times of every shape.
 */
import { describe, expect, test } from "vitest";
import { decodeEnvelope, encodeEnvelope, envelopeJson, type Envelope } from "./envelope";

const VALUES: Array<[string, unknown]> = [
  ["null", null],
  ["true", true],
  ["false", false],
  ["zero", 0],
  ["minus zero (JSON writes 0)", -0],
  ["a fraction", -1.5],
  ["a big number", 1e21],
  ["the largest number", Number.MAX_VALUE],
  ["the smallest number", Number.MIN_VALUE],
  ["past 2^53", 2 ** 53 + 2],
  ["0.1 + 0.2", 0.1 + 0.2],
  ["an empty string", ""],
  ["quotes and backslashes", 'say "hi" \\ bye /'],
  ["control characters", "line\nbreak\ttab\u0000\u001f\u007f"],
  ["unicode", "é ü ß 漢字 emoji 🎉"],
  ["line and paragraph separators", "\u2028\u2029"],
  ["a lone surrogate (JSON escapes it)", "lone \ud800 surrogate \udfff"],
  ["an empty object", {}],
  ["an empty array", []],
  ["integer-like keys (JSON writes them first, ascending)", { b: 1, 2: "two", a: 2, 1: "one" }],
  ["a __proto__ key parsed from JSON", JSON.parse('{"__proto__": {"x": 1}, "y": 2}')],
  ["nested", { a: [1, { b: [null, "x", { c: { d: [[], {}] } }] }], e: { f: -0 } }],
  ["undefined and functions inside (JSON drops or nulls them)", { a: undefined, b: [undefined, () => 1], c: 1 }],
  ["a date (its toJSON does not look at its key)", new Date(0)],
  ["a typical row", { id: 42, name: "Product 42", price: 19.99, tags: ["bench", "sample"], description: "x".repeat(200) }],
];

const FRESH_UNTIL: Array<[string, number]> = [
  ["epoch milliseconds", 1_780_000_000_123],
  ["a fraction", 1_780_000_000_123.5],
  ["zero", 0],
  ["NaN (JSON writes null)", NaN],
];

const TAGS: Array<[string, string[] | undefined]> = [
  ["no tags", undefined],
  ["an empty tag list (left out)", []],
  ["tags", ["users", "team:1"]],
  ["tags that need escaping", ['say "x"', "back\\slash", "é", "\u0001"]],
];

/** The envelope a write builds: `t` only when there are tags. */
function written(v: unknown, f: number, tags: string[] | undefined): Envelope {
  return tags?.length ? { v, f, t: tags } : { v, f };
}

describe("envelopeJson", () => {
  test.each(VALUES)("is byte for byte encodeEnvelope of the envelope, for %s", (_, value) => {
    for (const [, f] of FRESH_UNTIL) {
      for (const [, tags] of TAGS) {
        const expected = encodeEnvelope(written(value, f, tags));
        const json = envelopeJson(JSON.stringify(value), f, tags);
        expect(json).toBe(expected);
        expect(Buffer.from(json).equals(Buffer.from(expected))).toBe(true);
      }
    }
  });

  test("decodes to the same envelope a reader decodes from encodeEnvelope", () => {
    const value = { nested: [1, "two", { three: null }] };
    const json = envelopeJson(JSON.stringify(value), 1_780_000_000_000, ["t"]);
    expect(decodeEnvelope(json)).toEqual({ v: value, f: 1_780_000_000_000, t: ["t"] });
  });
});
