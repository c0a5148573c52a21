import { describe, expect, test } from "vitest";
import { Router } from "../runtime/http/router.ts";

function router() {
  const r = new Router<string>();
  r.add(["GET"], "/api/cache/:key", "get");
  r.add(["PUT"], "/api/cache/:key", "put");
  r.add(["GET"], "/api/health", "health");
  r.add(["GET"], "/api/health/cache-manager", "cm-health");
  r.add(["POST"], "/api/batch/get", "batch");
  r.add(["GET"], "/files/*path", "files");
  r.add(["*"], "/any/:id", "any");
  r.add(["GET"], "/!fallback", "spa");
  return r;
}

describe("router", () => {
  test.each([
    ["GET", "/api/cache/a", "get", { key: "a" }],
    ["PUT", "/api/cache/a", "put", { key: "a" }],
    ["GET", "/api/cache/product%3A42%2Fx", "get", { key: "product:42/x" }],
    ["GET", "/api/health", "health", {}],
    ["GET", "/api/health/cache-manager", "cm-health", {}],
    ["HEAD", "/api/health", "health", {}],
    ["GET", "/files/a/b/c.txt", "files", { path: "a/b/c.txt" }],
    ["DELETE", "/any/7", "any", { id: "7" }],
    ["GET", "/dashboard/keys", "spa", { fallback: "dashboard/keys" }],
  ])("%s %s routes to %s", (method, path, route, params) => {
    expect(router().lookup(method, path)).toEqual({ route, params });
  });

  test("a known path with another method reports the allowed methods", () => {
    expect(router().lookup("DELETE", "/api/cache/a")).toEqual({ methodNotAllowed: ["GET", "PUT"] });
  });

  test("an empty parameter segment does not match", () => {
    expect(router().lookup("PUT", "/api/cache/")).toBeUndefined();
  });

  test("a duplicate route is refused", () => {
    const r = router();
    expect(() => r.add(["GET"], "/api/cache/:other", "dup")).toThrow(/duplicate route/);
  });
});
