/**
 * The keyring's parsing (every refusal says what to fix, never echoing key material) and the
 * codec's guarantees: a round trip, brotli or stored as smaller, and a typed error — never
 * garbage — for a wrong key, an unknown key id, a payload moved to another key, or tampering.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, test } from "vitest";
import { CODEC_BROTLI, CODEC_STORED, seal, unseal } from "./codec.ts";
import { L3DecryptError, L3KeyringError } from "./errors.ts";
import { generateKeyPair, parseKeyring } from "../../../lib/l3-keyring.ts";

const KEY = randomBytes(32).toString("base64");
const OTHER = randomBytes(32).toString("base64");

describe("parseKeyring", () => {
  test("the first pair is current; every pair can decrypt", () => {
    const keyring = parseKeyring(`new:${KEY}, old:${OTHER}`);
    expect(keyring.current).toEqual({ id: "new", key: Buffer.from(KEY, "base64") });
    expect([...keyring.byId.keys()]).toEqual(["new", "old"]);
    expect(keyring.byId.get("old")!.equals(Buffer.from(OTHER, "base64"))).toBe(true);
  });

  test.each([
    ["", /empty/],
    [" ", /empty/],
    [KEY, /pair 1 is not `id:key`/],
    [`:${KEY}`, /pair 1 is not `id:key`/],
    [`k1:${KEY},`, /pair 2 is not `id:key`/],
    [`k 1:${KEY}`, /key id "k 1" must be 1 to 32 letters/],
    [`${"k".repeat(33)}:${KEY}`, /must be 1 to 32 letters/],
    [`k1:${KEY},k1:${OTHER}`, /pair 2: the key id "k1" appears twice/],
    [`k1:${randomBytes(16).toString("base64")}`, /decodes to 16 bytes, not 32/],
    [`k1:${randomBytes(33).toString("base64")}`, /decodes to 33 bytes, not 32/],
    [`k1:${KEY.slice(0, -1)}`, /lacks its `=` padding/],
    [`k1:${randomBytes(32).toString("base64url")}!`, /is not standard base64/],
    [`k1:${KEY.replace(/[A-Za-z0-9]/, "$")}`, /is not standard base64/],
  ])("refuses %j saying what to fix", (text, message) => {
    let error: unknown;
    try {
      parseKeyring(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(L3KeyringError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/CACHE_L3_KEY/);
    expect((error as Error).message).not.toContain(KEY.slice(0, 20)); // no key material in messages
  });

  test("generateKeyPair writes a pair parseKeyring accepts", () => {
    const keyring = parseKeyring(generateKeyPair("dev"));
    expect(keyring.current.id).toBe("dev");
    expect(keyring.current.key.length).toBe(32);
    expect(() => generateKeyPair("no spaces")).toThrow(L3KeyringError);
  });
});

describe("seal and unseal", () => {
  const keyring = parseKeyring(`k2:${KEY},k1:${OTHER}`);
  const json = Buffer.from(JSON.stringify({ v: { name: "a product", text: "words ".repeat(100) }, f: 1 }));

  test("round-trips compressible and incompressible values; each is stored the smaller way", async () => {
    const random = randomBytes(4096);
    const a = await seal(keyring, "entry", "p:1", json);
    const b = await seal(keyring, "entry", "p:2", random);
    expect(a.keyId).toBe("k2");
    expect(a.payload[0]).toBe(CODEC_BROTLI);
    expect(a.payload.length).toBeLessThan(json.length / 3);
    expect(b.payload[0]).toBe(CODEC_STORED);
    expect(b.payload.length).toBe(random.length + 29);
    expect((await unseal(keyring, "entry", "p:1", "k2", a.payload)).equals(json)).toBe(true);
    expect((await unseal(keyring, "entry", "p:2", "k2", b.payload)).equals(random)).toBe(true);
  });

  test("every seal draws a fresh IV: the same value never encrypts to the same bytes", async () => {
    const [a, b] = await Promise.all([seal(keyring, "entry", "k", json), seal(keyring, "entry", "k", json)]);
    expect(a.payload.subarray(1, 13).equals(b.payload.subarray(1, 13))).toBe(false);
    expect(a.payload.equals(b.payload)).toBe(false);
  });

  test("an older key id still decrypts what it sealed", async () => {
    const old = parseKeyring(`k1:${OTHER}`);
    const sealed = await seal(old, "entry", "k", json);
    expect((await unseal(keyring, "entry", "k", "k1", sealed.payload)).equals(json)).toBe(true);
  });

  test.each([
    [
      "a wrong key for the id",
      async (payload: Buffer) => unseal(parseKeyring(`k2:${OTHER}`), "entry", "k", "k2", payload),
      /does not decrypt with key id "k2"/,
    ],
    ["a key id the keyring lacks", async (payload: Buffer) => unseal(keyring, "entry", "k", "k9", payload), /key id "k9", which CACHE_L3_KEY does not hold/],
    ["the payload moved to another cache key", async (payload: Buffer) => unseal(keyring, "entry", "other", "k2", payload), /does not decrypt/],
    ["the payload as another purpose", async (payload: Buffer) => unseal(keyring, "key-check", "k", "k2", payload), /does not decrypt/],
    ["a flipped ciphertext bit", async (payload: Buffer) => unseal(keyring, "entry", "k", "k2", flip(payload, payload.length - 1)), /does not decrypt/],
    [
      "a flipped codec byte",
      async (payload: Buffer) => unseal(keyring, "entry", "k", "k2", Buffer.concat([Buffer.of(CODEC_STORED), payload.subarray(1)])),
      /does not decrypt/,
    ],
    [
      "an unknown codec byte",
      async (payload: Buffer) => unseal(keyring, "entry", "k", "k2", Buffer.concat([Buffer.of(9), payload.subarray(1)])),
      /not an L3 payload/,
    ],
    ["a truncated payload", async (payload: Buffer) => unseal(keyring, "entry", "k", "k2", payload.subarray(0, 20)), /not an L3 payload/],
  ])("%s is a typed decrypt error", async (_, attempt, message) => {
    const { payload } = await seal(keyring, "entry", "k", json);
    await expect(attempt(payload)).rejects.toBeInstanceOf(L3DecryptError);
    await expect(attempt(payload)).rejects.toThrow(message);
  });
});

function flip(payload: Buffer, at: number): Buffer {
  const copy = Buffer.from(payload);
  copy[at] ^= 1;
  return copy;
}
