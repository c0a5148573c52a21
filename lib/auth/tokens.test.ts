import { describe, expect, test } from "vitest";
import { allowsKey, parseTokenConfig, roleAtLeast, sha256, TokenConfigError, TokenStore, VERIFIED_CACHE_SIZE } from "./tokens";

describe("tokens", () => {
  const store = TokenStore.fromConfig(
    "boot",
    JSON.stringify([
      { name: "ops", role: "operator", token: "op-secret" },
      { name: "grafana", role: "viewer", sha256: sha256("view-secret").toString("hex") },
      { name: "team", role: "operator", token: "team-secret", namespaces: ["product:"] },
    ]),
  );

  test.each([
    ["boot", { name: "admin", role: "admin", namespaces: [] }],
    ["op-secret", { name: "ops", role: "operator", namespaces: [] }],
    ["view-secret", { name: "grafana", role: "viewer", namespaces: [] }],
    ["team-secret", { name: "team", role: "operator", namespaces: ["product:"] }],
    ["op-secreT", null],
    ["", null],
  ])("token %j resolves to %j", (token, principal) => {
    expect(store.verify(token)).toEqual(principal);
  });

  test("a token verified once is answered from memory with the same principal", () => {
    const remembering = TokenStore.fromConfig("boot", "ops:operator:product:=op-secret");
    const first = remembering.verify("op-secret");
    expect(first).toEqual({ name: "ops", role: "operator", namespaces: ["product:"] });
    expect(remembering.verify("op-secret")).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first!.namespaces)).toBe(true);
    expect(remembering.verify("op-secreT")).toBeNull();
  });

  test("the memory of verified tokens is bounded and keeps answering correctly past its size", () => {
    const config = Array.from({ length: VERIFIED_CACHE_SIZE + 10 }, (_, i) => `t${i}:viewer=secret-${i}`).join(",");
    const big = TokenStore.fromConfig("", config);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < VERIFIED_CACHE_SIZE + 10; i++) expect(big.verify(`secret-${i}`)?.name).toBe(`t${i}`);
    }
    expect((big as unknown as { verified: Map<string, unknown> }).verified.size).toBe(VERIFIED_CACHE_SIZE);
    expect(big.verify("secret-none")).toBeNull();
  });

  test("a token revoked by a new configuration is refused even if the old store had verified it", () => {
    const before = TokenStore.fromConfig("boot", "ops:operator=op-secret");
    expect(before.verify("op-secret")?.name).toBe("ops");
    const after = TokenStore.fromConfig("boot", "ops:operator=rotated");
    expect(after.verify("op-secret")).toBeNull();
    expect(after.verify("rotated")?.name).toBe("ops");
  });

  test("the compact form parses names, roles and namespaces", () => {
    const [a, b] = parseTokenConfig("ci:operator=abc, shop:viewer:product:|order:=xyz");
    expect([a.name, a.role, a.namespaces]).toEqual(["ci", "operator", []]);
    expect([b.name, b.role, b.namespaces]).toEqual(["shop", "viewer", ["product:", "order:"]]);
  });

  test.each([
    ['[{"name":"x","role":"root","token":"t"}]', /role must be one of viewer, operator, admin/],
    ['[{"name":"x","role":"viewer"}]', /give "token" or "sha256"/],
    ["[not json", /not valid JSON/],
    ["ci:operator", /is not name:role/],
  ])("a bad configuration %j says what is wrong", (config, message) => {
    expect(() => parseTokenConfig(config)).toThrow(TokenConfigError);
    expect(() => parseTokenConfig(config)).toThrow(message);
  });

  test("roles are ordered viewer < operator < admin", () => {
    expect(roleAtLeast("admin", "operator")).toBe(true);
    expect(roleAtLeast("operator", "operator")).toBe(true);
    expect(roleAtLeast("viewer", "operator")).toBe(false);
  });

  test("namespace-limited principals only reach their prefixes", () => {
    const p = { name: "team", role: "operator" as const, namespaces: ["product:"] };
    expect(allowsKey(p, "product:1")).toBe(true);
    expect(allowsKey(p, "order:1")).toBe(false);
    expect(allowsKey({ ...p, namespaces: [] }, "order:1")).toBe(true);
  });
});
