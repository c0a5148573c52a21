/**
 * The authorization matrix, generated from the manifest: every exposed endpoint × {no token, bad
 * token, viewer, operator, admin} against a host process serving every service. The role each
 * endpoint needs is declared below; an endpoint missing from the table (a new one) fails the test,
 * so nobody adds an endpoint without deciding who may call it. Then: namespace-limited tokens
 * cannot read, write or invalidate outside their namespaces.
 */
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { EndpointManifest } from "../infra/node-host/manifest/types";
import { callApi, type TestToken } from "../infra/node-host/testing/api";
import { TEST_TOKENS } from "../infra/node-host/testing/tokens";
import { ENDPOINT_ROLES, type EndpointRole } from "../lib/endpoint-roles";
import { Lab, type Host } from "./harness";
import { build, endpointId, exposedEndpoints, loadManifest, send, wellFormed } from "./requests";

/** Path parameters that keep the admin's calls harmless (no such lab scenario, no such origin). */
const SAFE_PATH_PARAMS: Record<string, Record<string, string>> = {
  "cache-manager.runLab": { scenario: "no-such-scenario" },
  "cache-manager.putOrigin": { namespace: "authz-matrix:" },
  "cache-manager.removeOrigin": { namespace: "authz-matrix:" },
  "cache-manager.putNamespacePolicy": { namespace: "authz-matrix:" },
  "cache-manager.removeNamespacePolicy": { namespace: "authz-matrix:" },
};

const CALLERS = ["none", "bad", "viewer", "operator", "admin"] as const;
type Caller = (typeof CALLERS)[number];
const RANK: Record<EndpointRole, number> = { public: -1, viewer: 0, operator: 1, admin: 2 };

/** What the matrix expects: 401, 403, or "allowed" (any other status below 500). */
function expected(required: EndpointRole, caller: Caller): 401 | 403 | "allowed" {
  if (required === "public") return "allowed";
  if (caller === "none" || caller === "bad") return 401;
  return RANK[caller] >= RANK[required] ? "allowed" : 403;
}

const tokenOf = (caller: Caller) => (caller === "none" ? null : caller === "bad" ? "not-a-valid-token" : TEST_TOKENS[caller]);

/** A streaming endpoint answers its WebSocket handshake: 101 (open) or the refusal's status. */
function handshake(url: string, token: string | null): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url.replace(/^http/, "ws"), { headers: token ? { authorization: `Bearer ${token}` } : {} });
    socket.once("open", () => (socket.close(), resolve(101)));
    socket.once("unexpected-response", (_req, res) => (res.resume(), resolve(res.statusCode ?? 0)));
    socket.once("error", () => resolve(0));
  });
}

const lab = new Lab();
let host: Host;
const manifest = loadManifest();
const exposed = exposedEndpoints(manifest);

beforeAll(async () => {
  const redis = await lab.redis();
  host = await lab.host({ env: { REDIS_URL: redis.url, CACHE_DEMO_LATENCY_MS: "0" } });
}, 180_000);
afterAll(() => lab.close(), 60_000);

describe("the authorization matrix", () => {
  test("every exposed endpoint has a required role, and every role in the table is an exposed endpoint", () => {
    const ids = exposed.map(endpointId).sort();
    expect(ids.filter((id) => !(id in ENDPOINT_ROLES))).toEqual([]);
    expect(Object.keys(ENDPOINT_ROLES).filter((id) => !ids.includes(id))).toEqual([]);
  });

  test(`every exposed endpoint × ${CALLERS.join(", ")} answers as its role requires`, async () => {
    const cells: Array<{ endpoint: string; caller: Caller; status: number; expected: 401 | 403 | "allowed" }> = [];
    for (const endpoint of exposed as EndpointManifest[]) {
      const id = endpointId(endpoint);
      const parts = wellFormed(endpoint, manifest);
      Object.assign(parts.pathParams, SAFE_PATH_PARAMS[id] ?? {});
      const request = build(endpoint, parts);
      for (const caller of CALLERS) {
        const status = endpoint.kind.startsWith("stream")
          ? await handshake(host.url + request.path, tokenOf(caller))
          : (await send(host.url, request, tokenOf(caller))).status;
        cells.push({ endpoint: id, caller, status, expected: expected(ENDPOINT_ROLES[id] ?? "admin", caller) });
      }
    }
    const wrong = cells.filter((c) =>
      c.expected === "allowed" ? c.status === 401 || c.status === 403 || c.status >= 500 || c.status === 0 : c.status !== c.expected,
    );
    console.log(`authorization matrix: ${exposed.length} endpoints × ${CALLERS.length} callers = ${cells.length} cells, ${wrong.length} wrong`);
    expect(wrong).toEqual([]);
    expect(cells).toHaveLength(exposed.length * CALLERS.length);
  }, 300_000);
});

describe("namespace-limited tokens", () => {
  // The scoped test token is an operator limited to `product:`.
  const outside: Array<[string, string, string, unknown]> = [
    ["read a key", "GET", "/api/cache/user:1", undefined],
    ["write a key", "PUT", "/api/cache/user:1", { value: 1 }],
    ["delete a key", "DELETE", "/api/cache/user:1", undefined],
    ["batch read", "POST", "/api/batch/get", { keys: ["product:1", "user:1"] }],
    ["batch write", "POST", "/api/batch/set", { entries: [{ key: "user:1", value: 1 }] }],
    ["batch delete", "POST", "/api/batch/delete", { keys: ["user:1"] }],
    ["key metadata", "GET", "/api/keys/user:1", undefined],
    ["invalidate keys", "POST", "/api/invalidate", { keys: ["user:1"] }],
    ["invalidate a pattern", "POST", "/api/invalidate/pattern", { pattern: "user:*" }],
    ["invalidate everything", "POST", "/api/invalidate/pattern", { pattern: "*", confirm: true }],
    ["a pattern that only starts like the namespace", "POST", "/api/invalidate/pattern", { pattern: "produc*" }],
    ["invalidate by tag", "POST", "/api/invalidate/tags", { tags: ["red"] }],
    ["preview another namespace", "GET", "/api/invalidate/preview?pattern=user:*", undefined],
    ["warm another namespace", "POST", "/api/warming/trigger", { keys: ["user:1"] }],
  ];

  test.each(outside)("cannot %s outside its namespace (403)", async (_what, method, path, body) => {
    const response = await callApi(host.url, method, path, { body, token: "scoped" as TestToken });
    expect([response.status, response.body?.code]).toEqual([403, "permission_denied"]);
  });

  test("listing keys shows only its namespace, whatever the pattern", async () => {
    await callApi(host.url, "POST", "/api/batch/set", {
      body: {
        entries: [
          { key: "user:listed", value: 1 },
          { key: "product:listed", value: 2 },
        ],
      },
    });
    for (const match of ["user:*", "*", "*listed", "[pu]*"]) {
      const page = await callApi(host.url, "GET", `/api/keys?match=${encodeURIComponent(match)}`, { token: "scoped" });
      expect(page.status).toBe(200);
      const keys = page.body.keys.map((k: { key: string }) => k.key);
      expect(keys.filter((k: string) => !k.startsWith("product:"))).toEqual([]);
      if (match !== "user:*") expect(keys).toContain("product:listed");
    }
    const admin = await callApi(host.url, "GET", "/api/keys?match=user:listed");
    expect(admin.body.keys.map((k: { key: string }) => k.key)).toEqual(["user:listed"]);
  });

  test("can read, write and invalidate inside its namespace", async () => {
    const call = (method: string, path: string, body?: unknown) => callApi(host.url, method, path, { body, token: "scoped" });
    expect((await call("PUT", "/api/cache/product:authz", { value: "mine" })).status).toBe(200);
    expect((await call("GET", "/api/cache/product:authz")).body.value).toBe("mine");
    expect((await call("GET", "/api/keys?match=product:authz*")).status).toBe(200);
    expect((await call("POST", "/api/invalidate", { keys: ["product:authz"] })).status).toBe(202);
    expect((await call("POST", "/api/invalidate/pattern", { pattern: "product:auth*", dryRun: true })).status).toBe(202);
  });
});
