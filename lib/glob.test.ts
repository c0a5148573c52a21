/**
 * The in-process glob matcher must agree with Redis's: L1 and L2 are invalidated by the same
 * pattern through the two. Random patterns and keys are matched by both and compared.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { compileGlob, GlobError, literalPrefix, matchesEverything, MAX_GLOB_FLOATING_WILDCARDS, MAX_GLOB_STARS, MAX_GLOB_TAIL, validateGlob } from "./glob";
import { seededRandom } from "./random";

let redis: Redis;
const prefix = `glob-test:${process.pid}:`;

beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL!);
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

const ALPHABET = ["a", "b", "c", "1", "2", ":", "-", "é"];

function randomKey(random: () => number): string {
  const length = 1 + Math.floor(random() * 6);
  return Array.from({ length }, () => ALPHABET[Math.floor(random() * ALPHABET.length)]).join("");
}

function randomPattern(random: () => number): string {
  const parts: string[] = [];
  const length = 1 + Math.floor(random() * 5);
  for (let i = 0; i < length; i++) {
    const r = random();
    if (r < 0.2) parts.push("*");
    else if (r < 0.3) parts.push("?");
    else if (r < 0.4) parts.push(random() < 0.5 ? "[a-b]" : "[^1:]");
    else if (r < 0.45) parts.push("\\" + ALPHABET[Math.floor(random() * ALPHABET.length)]);
    else parts.push(ALPHABET[Math.floor(random() * 6)]);
  }
  return parts.join("");
}

describe("compileGlob", () => {
  test("agrees with Redis MATCH on 300 random patterns over 200 random keys", async () => {
    const random = seededRandom(7);
    const keys = [...new Set(Array.from({ length: 200 }, () => randomKey(random)))];
    await redis.mset(...keys.flatMap((key) => [prefix + key, "1"]));
    let disagreements = 0;
    let matched = 0;
    for (let i = 0; i < 300; i++) {
      const pattern = randomPattern(random);
      const ours = keys.filter(compileGlob(pattern)).sort();
      const theirs: string[] = [];
      let cursor = "0";
      do {
        const [next, found] = await redis.scan(cursor, "MATCH", prefix.replace(/[*?[\]\\]/g, "\\$&") + pattern, "COUNT", 1000);
        cursor = next;
        theirs.push(...found.map((k) => k.slice(prefix.length)));
      } while (cursor !== "0");
      theirs.sort();
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
        disagreements++;
        expect({ pattern, ours }).toEqual({ pattern, ours: theirs });
      }
      matched += ours.length;
    }
    expect(disagreements).toBe(0);
    expect(matched).toBeGreaterThan(100); // the generator produces patterns that do match
  });

  test("classes, ranges, negation and escapes", () => {
    expect(compileGlob("user:[0-9]*")("user:42")).toBe(true);
    expect(compileGlob("user:[0-9]*")("user:x")).toBe(false);
    expect(compileGlob("[^a]b")("ab")).toBe(false);
    expect(compileGlob("[z-a]")("m")).toBe(true); // reversed ranges are swapped, as in Redis
    expect(compileGlob("a\\*b")("a*b")).toBe(true);
    expect(compileGlob("a\\*b")("axb")).toBe(false);
    expect(compileGlob("?")("é")).toBe(false); // one byte, and é is two
    expect(compileGlob("??")("é")).toBe(true);
  });

  test("agrees with a naive recursive matcher on 5,000 random patterns with several stars over longer keys", () => {
    const random = seededRandom(11);
    /** The definition, exponential at worst: fine for these sizes. */
    const naive = (p: string, k: string): boolean => {
      if (p === "") return k === "";
      if (p[0] === "*") return naive(p.slice(1), k) || (k !== "" && naive(p, k.slice(1)));
      return k !== "" && (p[0] === "?" || p[0] === k[0]) && naive(p.slice(1), k.slice(1));
    };
    const letters = ["a", "b", ":"];
    const pick = (n: number, extra: string[] = []) =>
      Array.from({ length: n }, () => [...letters, ...extra][Math.floor(random() * (letters.length + extra.length))]).join("");
    for (let i = 0; i < 5_000; i++) {
      const pattern = pick(1 + Math.floor(random() * 8), ["*", "*", "?"]);
      const key = pick(Math.floor(random() * 14));
      expect(compileGlob(pattern)(key), `${pattern} on ${key}`).toBe(naive(pattern, key));
    }
  });

  test("the costly-glob attack pattern (`t:*` + 511 × `a` + `b`) is refused; the costliest allowed tail over 20,000 keys of 1 KiB takes well under a second", () => {
    expect(() => validateGlob("t:*" + "a".repeat(511) + "b")).toThrow(/512 characters after its first `\*` \(at most 64\)/);
    const match = compileGlob("t:*" + "a".repeat(MAX_GLOB_TAIL - 1) + "b");
    const keys = Array.from({ length: 20_000 }, (_, i) => `t:${i}:` + "a".repeat(1024));
    const started = performance.now();
    expect(keys.filter(match)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(match("t:x" + "a".repeat(600) + "b")).toBe(true);
  });

  test("a pathological pattern is matched in linear-ish time", () => {
    const pattern = "*a".repeat(MAX_GLOB_STARS) + "b";
    const key = "a".repeat(1000);
    const started = performance.now();
    expect(compileGlob(pattern)(key)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("validateGlob", () => {
  test.each([
    ["", /non-empty/],
    ["a\\", /lone `\\`/],
    ["a[bc", /unclosed `\[`/],
    ["[a-]", /ends with `\]`/],
    ["*[*[*[", /unclosed/],
    ["*".repeat(MAX_GLOB_STARS + 1) + "x", /more than 16/],
    ["x".repeat(1025), /longer than 1024/],
    ["t:*" + "?".repeat(MAX_GLOB_FLOATING_WILDCARDS + 1) + "*", /more than 32 `\?` or `\[...\]` between its `\*`/],
  ])("%j is refused", (pattern, message) => {
    expect(() => validateGlob(pattern)).toThrow(GlobError);
    expect(() => validateGlob(pattern)).toThrow(message);
  });

  test("literal prefix and match-everything", () => {
    expect(literalPrefix("user\\*:1*")).toBe("user*:1");
    expect(literalPrefix("*")).toBe("");
    expect(matchesEverything("**")).toBe(true);
    expect(matchesEverything("a*")).toBe(false);
  });
});
