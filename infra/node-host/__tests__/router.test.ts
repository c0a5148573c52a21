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
  r.add(["GET"], "/keys/:key", "key");
  r.add(["GET"], "/keys/:id/meta", "key-meta");
  r.add(["GET"], "/keys/latest", "latest");
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
    // A literal beside a parameter (matchit 0.7, as in Encore's runtime): the literal first.
    ["GET", "/keys/latest", "latest", {}],
    ["GET", "/keys/other", "key", { key: "other" }],
    // Each route keeps its own parameter names at a shared position.
    ["GET", "/keys/a/meta", "key-meta", { id: "a" }],
    // Backtracking: the literal branch has no /meta, the parameter branch does.
    ["GET", "/keys/latest/meta", "key-meta", { id: "latest" }],
    // Encore's runtime registers `<route>/` for every route without a wildcard (runtimes/core/src/api/paths.rs).
    ["GET", "/api/health/", "health", {}],
    ["GET", "/api/cache/a/", "get", { key: "a" }],
    ["GET", "/keys/latest/", "latest", {}],
    // A wildcard matches an empty rest, so `/files/` is the wildcard's, not a trailing slash.
    ["GET", "/files/", "files", { path: "" }],
    // Two trailing slashes are not a route's; the fallback takes them.
    ["GET", "/api/health//", "spa", { fallback: "api/health//" }],
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
