/** The gateway's bearer-token auth, for each role, through a real host process and real HTTP. */
import { beforeAll, describe, expect, test } from "vitest";
import { startHostProcess, type HostProcess } from "../infra/node-host/testing/hosts";
import { TEST_TOKENS } from "../infra/node-host/testing/tokens";

let host: HostProcess;
beforeAll(async () => {
  host = await startHostProcess({ services: ["cache-manager"] });
});

type Who = "none" | "bad" | "malformed" | keyof typeof TEST_TOKENS;

function headers(who: Who): Record<string, string> {
  if (who === "none") return {};
  if (who === "bad") return { authorization: "Bearer not-a-real-token" };
  if (who === "malformed") return { authorization: TEST_TOKENS.admin };
  return { authorization: `Bearer ${TEST_TOKENS[who]}` };
}

async function request(who: Who, method: string, path: string, body?: unknown) {
  const response = await fetch(host.url + path, {
    method,
    headers: { ...headers(who), ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json().catch(() => null)) as any };
}

const key = `auth-test-${Date.now()}`;

describe("bearer tokens and roles", () => {
  test.each<[Who, number, string | null]>([
    ["none", 401, "unauthenticated"],
    ["bad", 401, "unauthenticated"],
    ["malformed", 401, "unauthenticated"],
    ["viewer", 200, null],
    ["operator", 200, null],
    ["admin", 200, null],
  ])("a viewer endpoint with %s → %i", async (who, status, code) => {
    const response = await request(who, "GET", "/api/auth/whoami");
    expect(response.status).toBe(status);
    if (code) expect(response.body.code).toBe(code);
  });

  test("whoami names the token and its role", async () => {
    expect((await request("viewer", "GET", "/api/auth/whoami")).body).toEqual({ userID: "dash", role: "viewer", namespaces: [] });
  });

  test.each<[Who, number]>([
    ["none", 401],
    ["bad", 401],
    ["viewer", 403],
    ["operator", 200],
    ["admin", 200],
  ])("an operator endpoint with %s → %i", async (who, status) => {
    const response = await request(who, "PUT", `/api/cache/${key}`, { value: { n: 1 } });
    expect(response.status).toBe(status);
    if (status === 403) {
      expect(response.body.code).toBe("permission_denied");
      expect(response.body.message).toMatch(/needs the operator role/);
    }
  });

  test.each<[Who, number]>([
    ["none", 401],
    ["viewer", 403],
    ["operator", 403],
    ["admin", 200],
  ])("an admin endpoint with %s → %i", async (who, status) => {
    const response = await request(who, "GET", "/api/auth/tokens");
    expect(response.status).toBe(status);
    if (status === 200) {
      expect(response.body.tokens.map((t: { name: string }) => t.name)).toEqual(["admin", "ops", "dash", "product-team"]);
      expect(JSON.stringify(response.body)).not.toContain(TEST_TOKENS.operator);
    }
  });

  test("a namespace-limited token works inside its namespace and is refused outside it", async () => {
    expect((await request("scoped", "PUT", `/api/cache/product:${key}`, { value: 1 })).status).toBe(200);
    const outside = await request("scoped", "PUT", `/api/cache/order:${key}`, { value: 1 });
    expect(outside.status).toBe(403);
    expect(outside.body.message).toMatch(/may only use keys in product:/);
  });
});
