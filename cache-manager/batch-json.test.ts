/**
 * The batch get's attached JSON against the one reference that matters: `JSON.stringify` of the
 * answer object, byte for byte, for values of every JSON kind, keys and tags that need escaping,
 * every source, TTLs of every shape, misses, and values answered again (from the kept encodings).
 */
import { describe, expect, test } from "vitest";
import { responseJsonOf } from "../lib/response-json";
import { seededRandom } from "../lib/random";
import { batchGetResponse } from "./batch-json";
import type { BatchRead, Source } from "./core/tiered";

function hit(key: string, value: unknown, fields: { source?: Source; ttlMs?: number; tags?: string[] } = {}): BatchRead {
  return { key, found: true, read: { key, value, source: fields.source ?? "l1", stale: false, ttlMs: fields.ttlMs ?? 60_000, tags: fields.tags ?? [] } };
}
const miss = (key: string): BatchRead => ({ key, found: false });

/** Asserts that the attached bytes are those of JSON.stringify of the answer; returns the text. */
function expectExactJson(reads: BatchRead[]): string {
  const response = batchGetResponse(reads);
  const attached = responseJsonOf(response);
  expect(attached).toBeInstanceOf(Uint8Array);
  const expected = JSON.stringify(response);
  expect(Buffer.from(attached as Uint8Array).equals(Buffer.from(expected))).toBe(true);
  expect(Buffer.from(attached as Uint8Array).toString("utf8")).toBe(expected);
  return expected;
}

/** A random JSON-like value: nested objects and arrays, odd strings and numbers. */
function randomValue(random: () => number, depth = 0): unknown {
  const pick = Math.floor(random() * (depth > 3 ? 5 : 7));
  const strings = ["", "plain", 'quote " and \\ backslash', "line\nbreak\ttab\u0001", "é ü ß 漢字", "emoji 🎉", "\u2028\u2029", "lone \ud800 surrogate"];
  switch (pick) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return [0, -0, 1, -1.5, 1e21, 1e-7, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 0.1 + 0.2][Math.floor(random() * 9)];
    case 3:
    case 4:
      return strings[Math.floor(random() * strings.length)];
    case 5:
      return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: Math.floor(random() * 4) }, (_, i) => [`${strings[i % strings.length]}${i}`, randomValue(random, depth + 1)]),
      );
  }
}

describe("the batch get's attached JSON", () => {
  test.each([
    ["an object", { id: 1, name: "Product 1", tags: ["a"], nested: { deep: [1, { x: null }] } }],
    ["an array", [1, "two", null, { three: 3 }]],
    ["a string that needs escaping", 'say "hi"\\\n\u0000\u001f\u007f é 🎉 \u2028'],
    ["a number", 19.99],
    ["a large number", 1e21],
    ["negative zero", -0],
    ["a boolean", false],
    ["null", null],
    ["a Date (toJSON)", new Date(Date.UTC(2026, 0, 2, 3, 4, 5))],
    ["an object whose toJSON reads its key", { toJSON: (key: string) => `encoded under "${key}"` }],
    ["undefined (the property is left out)", undefined],
    ["an object holding undefined and functions", { a: undefined, b: () => 1, c: [undefined, () => 1] }],
  ])("is JSON.stringify's for %s", (_name, value) => {
    expectExactJson([hit("k:1", value)]);
  });

  test.each([
    ["every source", [hit("a", 1, { source: "l1" }), hit("b", 2, { source: "l2" }), hit("c", 3, { source: "l3" }), hit("d", 4, { source: "origin" })]],
    ["TTLs of every shape", [0, 1, 9, 10, 999_999_999_999, 1234.5, 2 ** 53 + 2, 1e21].map((ttlMs, i) => hit(`t${i}`, i, { ttlMs }))],
    ["tags that need escaping", [hit("a", 1, { tags: ["plain", 'q"uote', "é", "🎉"] }), hit("b", 2, { tags: [] })]],
    ["keys that need escaping", [hit('q"uote\\:1', 1), miss("é 漢字:🎉"), hit("line\u2028sep", 2)]],
    ["misses only", [miss("a"), miss("b")]],
    ["an empty batch", []],
    ["found without a read", [{ key: "odd", found: true }]],
  ])("is JSON.stringify's for %s", (_name, reads) => {
    expectExactJson(reads as BatchRead[]);
  });

  test("is JSON.stringify's for 2,000 random values, hits and misses mixed (seed 16)", () => {
    const random = seededRandom(16);
    const reads = Array.from({ length: 2_000 }, (_, i) =>
      random() < 0.1 ? miss(`m:${i}`) : hit(`k:${i}`, randomValue(random), { ttlMs: Math.floor(random() * 1e9), tags: random() < 0.3 ? ["t", `x${i}`] : [] }),
    );
    expectExactJson(reads);
  });

  test("a value answered again (kept bytes) is encoded for its key, TTL, source and tags of this answer", () => {
    const shared = { id: 7, name: "shared" };
    const first = expectExactJson([hit("k:1", shared, { ttlMs: 500, tags: ["a"] })]);
    expect(first).toContain('"ttlMs":500');
    const again = expectExactJson([hit("k:1", shared, { ttlMs: 400, tags: ["b"], source: "l2" }), hit("k:1", shared, { ttlMs: 300 })]);
    expect(again).toContain('"source":"l2","tags":["b"],"ttlMs":400}');
    expect(again).toContain('"source":"l1","tags":[],"ttlMs":300}');
    // The same object answered under another key (an origin that shares objects) names that key.
    expect(expectExactJson([hit("other:2", shared), hit("k:1", shared)])).toContain('"key":"other:2"');
  });
  test("answers made one after another keep their own bytes (slab slices never overlap), small and large alike", () => {
    const made = Array.from({ length: 300 }, (_, i) => {
      // 10 kB answers fill several slabs; every 50th (a 200 kB value) is over a slab's share and stands alone.
      const value = i % 50 === 0 ? { big: "x".repeat(200_000), i } : { i, name: `value ${i}`.padEnd(10_000, ".") };
      const response = batchGetResponse([hit(`k:${i}`, value, { ttlMs: 1_000 + i }), miss(`m:${i}`)]);
      return { response, expected: JSON.stringify(response) };
    });
    for (const { response, expected } of made) {
      expect(Buffer.from(responseJsonOf(response) as Uint8Array).toString("utf8")).toBe(expected);
    }
  });
});
