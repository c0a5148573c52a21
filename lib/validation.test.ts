import { describe, expect, test } from "vitest";
import {
  InvalidEntryError,
  InvalidKeyError,
  MAX_TAGS_PER_ENTRY,
  MAX_TAGS_PER_INVALIDATION,
  MAX_KEY_BYTES,
  MAX_TTL_SECONDS,
  validateEntryTags,
  validateInvalidationTags,
  validateKeys,
  validateTtlSeconds,
} from "./validation";

const tags = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);

describe("limits defined once", () => {
  test.each([
    ["ASCII at the limit", "k".repeat(MAX_KEY_BYTES), null],
    ["ASCII one byte over", "k".repeat(MAX_KEY_BYTES + 1), `keys[1]: key is ${MAX_KEY_BYTES + 1} bytes long; the limit is ${MAX_KEY_BYTES} bytes`],
    ["3-byte characters at the limit", "€".repeat(MAX_KEY_BYTES / 4) + "k".repeat(MAX_KEY_BYTES / 4), null],
    ["3-byte characters over it in few units", "€".repeat(342), `keys[1]: key is 1026 bytes long; the limit is ${MAX_KEY_BYTES} bytes`],
    ["4-byte characters over it", "🎉".repeat(257), `keys[1]: key is 1028 bytes long; the limit is ${MAX_KEY_BYTES} bytes`],
    ["a control character", "a\u0007b", "keys[1]: key must not contain control characters (\\u0000-\\u001f, \\u007f)"],
    ["empty", "", "keys[1]: key must be a non-empty string"],
  ])("a key list with %s is checked by the UTF-8 byte length, naming the bad key", (_name, key, message) => {
    const check = () => validateKeys(["fine", key, "x".repeat(2_000)]);
    if (message === null) expect(() => validateKeys(["fine", key])).not.toThrow();
    else expect(check).toThrow(new InvalidKeyError(message));
  });

  test.each([
    [undefined, true],
    [1, true],
    [0.5, true], // accepted as before: any positive number of seconds up to a year
    [MAX_TTL_SECONDS, true],
    [MAX_TTL_SECONDS + 1, false],
    [0, false],
    [-5, false],
    [Number.NaN, false],
  ])("ttlSeconds %s is valid: %s", (ttl, ok) => {
    const check = () => validateTtlSeconds(ttl as number | undefined, "entries[2]");
    if (ok) expect(check).not.toThrow();
    else expect(check).toThrow(new InvalidEntryError(`entries[2]: "ttlSeconds" must be a number of seconds from 1 to ${MAX_TTL_SECONDS}`));
  });

  test.each([
    [undefined, true],
    [tags(MAX_TAGS_PER_ENTRY), true],
    [tags(MAX_TAGS_PER_ENTRY + 1), false],
    [["ok", ""], false],
    [["x".repeat(256)], true],
    [["x".repeat(257)], false],
  ])("entry tags %# are valid: %s", (list, ok) => {
    const check = () => validateEntryTags(list);
    if (ok) expect(check).not.toThrow();
    else expect(check).toThrow(/"tags" takes at most 32 tags of 1 to 256 characters/);
  });

  test("an invalidation names 1 to 100 tags, and the message points at the bad one", () => {
    expect(() => validateInvalidationTags(tags(MAX_TAGS_PER_INVALIDATION))).not.toThrow();
    expect(() => validateInvalidationTags(tags(MAX_TAGS_PER_INVALIDATION + 1))).toThrow(/"tags" must list 1 to 100 tags/);
    expect(() => validateInvalidationTags([])).toThrow(InvalidEntryError);
    expect(() => validateInvalidationTags("red")).toThrow(InvalidEntryError);
    expect(() => validateInvalidationTags(["red", 7, "blue"])).toThrow("tags[1] must be 1 to 256 characters");
  });

  test("a key list names its first bad key", () => {
    expect(() => validateKeys(["a:1", "b:2"])).not.toThrow();
    expect(() => validateKeys(["a:1", "", "bad\n"], "source.keys")).toThrow(new InvalidKeyError("source.keys[1]: key must be a non-empty string"));
  });
});
