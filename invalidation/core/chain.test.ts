import { describe, expect, test } from "vitest";
import { canonicalJson, chain, ChainVerifier, GENESIS_HASH, rowHash, type AuditEntry } from "./chain";

const entry = (i: number, overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  requestId: `r${i}`,
  event: "requested",
  recordedAt: new Date(Date.UTC(2026, 10, 23, 12, 0, i)),
  actor: "ops",
  kind: "pattern",
  target: { pattern: `user:${i}*` },
  reason: null,
  dryRun: false,
  matched: null,
  deleted: null,
  instances: null,
  durationMs: null,
  error: null,
  ...overrides,
});

describe("canonical encoding", () => {
  test("sorts object keys at every depth, keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
  });

  test("the hash does not depend on key order (JSONB reorders) but on every field", () => {
    const base = entry(1, { target: { pattern: "a*", extra: 1 } });
    const reordered = entry(1, { target: { extra: 1, pattern: "a*" } });
    expect(rowHash(GENESIS_HASH, 1, base)).toBe(rowHash(GENESIS_HASH, 1, reordered));
    for (const change of [{ actor: "eve" }, { reason: "x" }, { dryRun: true }, { deleted: 0 }, { recordedAt: new Date(1) }, { target: { pattern: "b*" } }]) {
      expect(rowHash(GENESIS_HASH, 1, { ...base, ...change })).not.toBe(rowHash(GENESIS_HASH, 1, base));
    }
    expect(rowHash(GENESIS_HASH, 2, base)).not.toBe(rowHash(GENESIS_HASH, 1, base));
  });
});

describe("chain and verification", () => {
  const rows = chain(
    null,
    [1, 2, 3, 4, 5].map((i) => entry(i)),
  );

  test("numbers rows densely and links each to the previous hash", () => {
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(rows[0].prevHash).toBe(GENESIS_HASH);
    rows.slice(1).forEach((row, i) => expect(row.prevHash).toBe(rows[i].hash));
    const more = chain(rows[4], [entry(6)]);
    expect([more[0].seq, more[0].prevHash]).toEqual([6, rows[4].hash]);
  });

  test("an intact chain verifies, also page by page", () => {
    const verifier = new ChainVerifier();
    expect(verifier.check(rows.slice(0, 2))).toBeNull();
    expect(verifier.check(rows.slice(2))).toBeNull();
    expect(verifier.checked).toBe(5);
  });

  test.each([
    ["an altered field", (r: typeof rows) => r.map((row) => (row.seq === 3 ? { ...row, deleted: 999 } : row)), 3, /altered/],
    ["a removed row", (r: typeof rows) => r.filter((row) => row.seq !== 2), 3, /missing/],
    ["swapped rows", (r: typeof rows) => [r[0], r[2], r[1], r[3], r[4]], 3, /missing/],
    ["a rehashed row that no longer links", (r: typeof rows) => r.map((row) => (row.seq === 4 ? { ...row, prevHash: GENESIS_HASH } : row)), 4, /prev_hash/],
  ])("reports %s at the first bad row", (_name, tamper, seq, problem) => {
    const broken = new ChainVerifier().check(tamper(rows));
    expect(broken?.seq).toBe(seq);
    expect(broken?.problem).toMatch(problem);
  });
});
