/**
 * The single get's attached JSON against the one reference that matters: `JSON.stringify` of the
 * answer object, for values of every JSON kind, keys and tags that need escaping, and values
 * answered again (from the kept text) with other TTLs, fetch times, keys, staleness and tags.
 */
import { describe, expect, test } from "vitest";
import { responseJsonOf } from "../lib/response-json";
import { cacheEntryResponse } from "./entry-json";
import type { CacheRead } from "./core/tiered";

function read(value: unknown, fields: Partial<CacheRead> = {}): CacheRead {
  return { key: "k:1", value, source: "l1", stale: false, ttlMs: 60_000, tags: [], ...fields };
}

/** Asserts the attached text is JSON.stringify of the answer; returns it. */
function expectExactJson(from: CacheRead, fetchTimeMs = 0.125): string {
  const response = cacheEntryResponse(from, fetchTimeMs);
  const attached = responseJsonOf(response);
  expect(typeof attached).toBe("string");
  expect(attached).toBe(JSON.stringify(response));
  return attached as string;
}

describe("the single get's attached JSON", () => {
  test.each([
    ["an object", { id: 1, name: "Product 1", tags: ["a"], nested: { deep: [1, { x: null }] } }],
    ["an array", [1, "two", null, { three: 3 }, -0, 1e21, 2 ** 53 + 2]],
    ["strings that need escaping", { s: 'say "hi"\\\n\u0000\u001f\u007f é 🎉 \u2028 \ud800' }],
    ["a Date (toJSON)", new Date(Date.UTC(2026, 0, 2, 3, 4, 5))],
    ["an object whose toJSON reads its key", { toJSON: (key: string) => `encoded under "${key}"` }],
    ["an object holding undefined and functions", { a: undefined, b: () => 1, c: [undefined, () => 1] }],
  ])("is JSON.stringify's for %s", (_name, value) => {
    expectExactJson(read(value));
  });

  test("keys and tags that need escaping, TTLs and fetch times of every shape", () => {
    const value = { n: 1 };
    // Infinity: an envelope whose freshness overflowed (JSON writes it as null).
    for (const ttlMs of [0, 1, 999_999_999_999, 1234.5, 2 ** 53 + 2, 1e21, Infinity]) {
      for (const fetchTimeMs of [0, 0.001, 12.345, 1e-7]) {
        expectExactJson(read(value, { key: 'q"uote\\:é 漢字\u2028', ttlMs, tags: ["plain", 'q"uote', "🎉"] }), fetchTimeMs);
      }
    }
  });

  test("a value answered again is answered from its kept text, and again in full when what surrounds it changed", () => {
    const value = { id: 7 };
    const first = expectExactJson(read(value, { ttlMs: 5_000 }), 0.5);
    expect(expectExactJson(read(value, { ttlMs: 4_000 }), 0.25)).toBe(
      first.replace('"ttlMs":5000', '"ttlMs":4000').replace('"fetchTimeMs":0.5', '"fetchTimeMs":0.25'),
    );
    // The same value object under another key, staleness or tags (equal tags in another array are the same tags).
    expect(JSON.parse(expectExactJson(read(value, { key: "k:2" })))).toMatchObject({ key: "k:2", value });
    expect(JSON.parse(expectExactJson(read(value, { stale: true })))).toMatchObject({ stale: true });
    expect(JSON.parse(expectExactJson(read(value, { tags: ["t1"] })))).toMatchObject({ tags: ["t1"] });
    expect(JSON.parse(expectExactJson(read(value, { tags: ["t1"] })))).toMatchObject({ tags: ["t1"] });
    expect(JSON.parse(expectExactJson(read(value, { tags: ["t2"] })))).toMatchObject({ tags: ["t2"] });
  });

  test("answers from other tiers, and L1 values that are not objects, carry no text: the host encodes them", () => {
    for (const source of ["l2", "l3", "origin"] as const) {
      const response = cacheEntryResponse(read({ n: 1 }, { source }), 1);
      expect(responseJsonOf(response)).toBeUndefined();
      expect(response).toEqual({ key: "k:1", value: { n: 1 }, source, stale: false, ttlMs: 60_000, tags: [], fetchTimeMs: 1 });
    }
    for (const value of [1, "text", null, true]) expect(responseJsonOf(cacheEntryResponse(read(value), 1))).toBeUndefined();
  });

  test("the answer's fields keep the order the endpoint has always answered them in", () => {
    expect(Object.keys(cacheEntryResponse(read({ n: 1 }), 1))).toEqual(["key", "value", "source", "stale", "ttlMs", "tags", "fetchTimeMs"]);
  });
});
