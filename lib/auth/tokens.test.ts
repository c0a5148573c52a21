import { describe, expect, test } from "vitest";
import { allowsKey, parseTokenConfig, roleAtLeast, sha256, TokenConfigError, TokenStore, validateTokenConfig, VERIFIED_CACHE_SIZE } from "./tokens";

describe("tokens", () => {
  const store = TokenStore.fromConfig(
    "boot-token-0123456",
    JSON.stringify([
      { name: "ops", role: "operator", token: "op-secret-01234567" },
      { name: "grafana", role: "viewer", sha256: sha256("view-secret-0123456").toString("hex") },
      { name: "team", role: "operator", token: "team-secret-0123456", namespaces: ["product:"] },
    ]),
  );

  test.each([
    ["boot-token-0123456", { name: "admin", role: "admin", namespaces: [] }],
    ["op-secret-01234567", { name: "ops", role: "operator", namespaces: [] }],
    ["view-secret-0123456", { name: "grafana", role: "viewer", namespaces: [] }],
    ["team-secret-0123456", { name: "team", role: "operator", namespaces: ["product:"] }],
    ["op-secret-0123456T", null],
    ["", null],
  ])("token %j resolves to %j", (token, principal) => {
    expect(store.verify(token)).toEqual(principal);
  });

  test("a token verified once is answered from memory with the same principal", () => {
    const remembering = TokenStore.fromConfig("boot-token-0123456", "ops:operator:product:=op-secret-01234567");
    const first = remembering.verify("op-secret-01234567");
    expect(first).toEqual({ name: "ops", role: "operator", namespaces: ["product:"] });
    expect(remembering.verify("op-secret-01234567")).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first!.namespaces)).toBe(true);
    expect(remembering.verify("op-secret-0123456T")).toBeNull();
  });

  test("the memory of verified tokens is bounded and keeps answering correctly past its size", () => {
    const config = Array.from({ length: VERIFIED_CACHE_SIZE + 10 }, (_, i) => `t${i}:viewer=secret-0123456789-${i}`).join(",");
    const big = TokenStore.fromConfig("", config);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < VERIFIED_CACHE_SIZE + 10; i++) expect(big.verify(`secret-0123456789-${i}`)?.name).toBe(`t${i}`);
    }
    expect((big as unknown as { verified: Map<string, unknown> }).verified.size).toBe(VERIFIED_CACHE_SIZE);
    expect(big.verify("secret-none")).toBeNull();
  });

  test("a token revoked by a new configuration is refused even if the old store had verified it", () => {
    const before = TokenStore.fromConfig("boot-token-0123456", "ops:operator=op-secret-01234567");
    expect(before.verify("op-secret-01234567")?.name).toBe("ops");
    const after = TokenStore.fromConfig("boot-token-0123456", "ops:operator=rotated-token-012345");
    expect(after.verify("op-secret-01234567")).toBeNull();
    expect(after.verify("rotated-token-012345")?.name).toBe("ops");
  });

  test("the compact form parses names, roles and namespaces", () => {
    const [a, b] = parseTokenConfig("ci:operator=abc-0123456789abcdef, shop:viewer:product:|order:=xyz-0123456789abcdef");
    expect([a.name, a.role, a.namespaces]).toEqual(["ci", "operator", []]);
    expect([b.name, b.role, b.namespaces]).toEqual(["shop", "viewer", ["product:", "order:"]]);
  });

  test.each([
    ['[{"name":"x","role":"root","token":"t-0123456789abcdef"}]', /role must be one of viewer, operator, admin/],
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

  const LONG = "0123456789abcdef";
  test.each([
    [`[{"name":"t","role":"viewer","token":"${LONG}","namespaces":[""]}]`, /namespace is empty, which would match every key/],
    [`t:viewer:=${LONG}`.replace(":=", ":|=").replace("t:viewer:|", "t:viewer:a:|"), /namespace is empty/],
    [`[{"name":"t","role":"viewer","token":"${LONG}","namespaces":"product:"}]`, /"namespaces" must be an array/],
    [`a:viewer=${LONG},a:operator=${LONG}x`, /two tokens are named "a"/],
    [`admin:viewer=${LONG}`, /the name "admin" is taken by CACHE_ADMIN_TOKEN/],
    ["short:viewer=abc", /the token has 3 characters; use at least 16/],
    ['{"name":"t"}', /CACHE_TOKENS entry|JSON array/],
  ])("configuration that would widen access silently is refused: %j", (config, message) => {
    expect(() => validateTokenConfig(`admin-${LONG}`, config)).toThrow(TokenConfigError);
    expect(() => validateTokenConfig(`admin-${LONG}`, config)).toThrow(message);
  });

  test("a short admin token is refused with the variable's name", () => {
    expect(() => validateTokenConfig("admin", "")).toThrow(/CACHE_ADMIN_TOKEN: the token has 5 characters/);
    expect(() => validateTokenConfig("", "")).not.toThrow();
  });

  test("namespaces match whole segments: `prod` reaches prod:1 but not production:1", () => {
    const [prod] = parseTokenConfig(`p:viewer:prod=${LONG}`);
    expect(prod.namespaces).toEqual(["prod:"]);
    expect(allowsKey(prod, "prod:1")).toBe(true);
    expect(allowsKey(prod, "production:1")).toBe(false);
    const [slashed] = parseTokenConfig(JSON.stringify([{ name: "s", role: "viewer", token: LONG, namespaces: ["tenant/a/", "x.", "prod", "prod:"] }]));
    expect(slashed.namespaces).toEqual(["tenant/a/", "x.", "prod:"]);
  });
});
