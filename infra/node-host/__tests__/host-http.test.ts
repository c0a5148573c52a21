/**
 * The Node host serving a fixture Encore app over real HTTP, in separate processes: routing,
 * request decoding, errors, auth, raw/static/stream endpoints, typed clients and shutdown.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { startHostProcess, type HostProcess } from "../testing/hosts.ts";

const fixtureApp = join(import.meta.dirname, "fixtures/app");
const env = { CACHET_APP_ROOT: fixtureApp, CACHET_KEY_PREFIX: `t${Date.now()}:` };

let all: HostProcess;
beforeAll(async () => {
  all = await startHostProcess({ env });
});

async function call(host: HostProcess, path: string, init: RequestInit = {}) {
  const response = await fetch(host.url + path, init);
  const text = await response.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body, headers: response.headers };
}

const json = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method,
  headers: { "content-type": "application/json", ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

describe("request decoding", () => {
  test("?limit=5 reaches a number field as 5, repeated params an array, Header<> a header", async () => {
    const { status, body } = await call(all, "/echo/search?limit=5&exact=false&tags=a&tags=b", { headers: { "x-request-id": "r-9" } });
    expect(status).toBe(200);
    expect(body).toEqual({ limit: 5, exact: false, tags: ["a", "b"], requestId: "r-9", limitType: "number" });
  });

  test("a missing required field → 400 invalid_argument naming the field", async () => {
    const { status, body } = await call(all, "/echo/search");
    expect(status).toBe(400);
    expect(body).toEqual({ code: "invalid_argument", message: 'missing required query parameter "limit"', details: null });
  });

  test("a wrongly typed query parameter → 400 saying what was expected", async () => {
    const { status, body } = await call(all, "/echo/search?limit=lots");
    expect(status).toBe(400);
    expect(body.message).toMatch(/"limit": expected a number, got "lots"/);
  });

  test("path parameters, JSON body, Query<> fields and literal unions decode together", async () => {
    const { status, body } = await call(all, "/echo/items/it%2F1?page=3", json("POST", { name: "widget", mode: "fast" }));
    expect(status).toBe(200);
    expect(body).toEqual({ id: "it/1", name: "widget", mode: "fast", page: 3, service: "echo" });
  });

  test.each([
    ["invalid JSON", "{not json", 400, "invalid_argument", /not valid JSON/],
    ["a wrong body type", { name: 42 }, 400, "invalid_argument", /"name": expected a string, got 42/],
    ["a value outside the union", { name: "x", mode: "medium" }, 400, "invalid_argument", /expected "fast" or "slow"/],
    ["a missing body field", {}, 400, "invalid_argument", /missing required field "name"/],
  ])("%s → %i", async (_name, body, status, code, message) => {
    const response = await call(all, "/echo/items/x", json("POST", body));
    expect(response.status).toBe(status);
    expect(response.body.code).toBe(code);
    expect(response.body.message).toMatch(message);
  });

  test("an oversized body → 413 resource_exhausted", async () => {
    const { status, body } = await call(all, "/echo/small", json("POST", { data: "x".repeat(4096) }));
    expect(status).toBe(413);
    expect(body.code).toBe("resource_exhausted");
    expect(body.message).toMatch(/larger than the limit of 1024 bytes/);
  });
});

describe("routing and errors", () => {
  test("an unknown route → 404 JSON", async () => {
    const { status, body } = await call(all, "/nope/nothing");
    expect(status).toBe(404);
    expect(body).toEqual({ code: "not_found", message: "no endpoint for GET /nope/nothing", details: null });
  });

  test("a known path with the wrong method → 404 listing the allowed methods", async () => {
    const { status, body, headers } = await call(all, "/echo/search?limit=1", { method: "DELETE" });
    expect(status).toBe(404);
    expect(headers.get("allow")).toBe("GET");
    expect(body.message).toMatch(/allowed: GET/);
  });

  test("an unexposed endpoint is not reachable from outside", async () => {
    expect((await call(all, "/echo/hidden")).status).toBe(404);
  });

  test("an APIError keeps its code, message and details", async () => {
    const { status, body } = await call(all, "/echo/fail/notfound");
    expect(status).toBe(404);
    expect(body).toEqual({ code: "not_found", message: "nothing here", details: { kind: "notfound" } });
  });

  test("any other error is a 500 internal that does not leak its message", async () => {
    const { status, body } = await call(all, "/echo/fail/crash");
    expect(status).toBe(500);
    expect(body).toEqual({ code: "internal", message: "an internal error occurred", details: null });
    expect((await call(all, "/echo/search?limit=1")).status).toBe(200);
  });
});

describe("responses with their JSON attached (lib/response-json.ts)", () => {
  test.each(["text", "bytes"])("attached as %s, the JSON is written as it is, with its length in bytes", async (form) => {
    const response = await fetch(`${all.url}/echo/attached/${form}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(response.status).toBe(200);
    expect(bytes.toString("utf8")).toBe(JSON.stringify({ form, text: "é 🎉" }));
    expect(Number(response.headers.get("content-length"))).toBe(bytes.length);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
  });

  test("attached JSON that differs from the response is caught under tests: 500, never the wrong bytes", async () => {
    const { status, body } = await call(all, "/echo/attached/wrong");
    expect(status).toBe(500);
    expect(body.code).toBe("internal");
  });
});

describe("auth", () => {
  test.each([
    ["no token", {}, 401, "unauthenticated"],
    ["a rejected token", { authorization: "Bearer bad" }, 401, "unauthenticated"],
    ["a handler returning null", { authorization: "Bearer null" }, 401, "unauthenticated"],
  ])("%s → %i", async (_name, headers, status, code) => {
    const response = await call(all, "/echo/me", { headers });
    expect(response.status).toBe(status);
    expect(response.body.code).toBe(code);
  });

  test("a good token reaches the endpoint with its auth data", async () => {
    const { status, body } = await call(all, "/echo/me", { headers: { authorization: "Bearer good" } });
    expect(status).toBe(200);
    expect(body).toEqual({ userID: "alice" });
  });
});

describe("raw, static and streaming endpoints", () => {
  test("api.raw gets the Node request and response", async () => {
    const { status, body } = await call(all, "/echo/raw");
    expect([status, body]).toEqual([200, "raw GET"]);
  });

  test("api.static serves files and refuses to leave its directory", async () => {
    const file = await call(all, "/static/hello.txt");
    expect([file.status, file.body]).toEqual([200, "hello static\n"]);
    expect((await call(all, "/static/")).body).toMatch(/static index/);
    expect((await call(all, "/static/..%2F..%2Fecho.ts")).status).toBe(404);
  });

  test("api.streamOut sends every message over a WebSocket, then closes", async () => {
    const ws = new WebSocket(`${all.url.replace("http", "ws")}/echo/ticks?count=3`);
    const messages: unknown[] = [];
    ws.on("message", (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => {
      ws.on("close", resolve);
      ws.on("error", reject);
    });
    expect(messages).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });
});

describe("typed clients", () => {
  const expected = { created: { id: "r1", name: "relayed", count: 2, service: "echo" }, hidden: { secret: "internal" } };

  test("in-process: relay and echo in one process", async () => {
    const { status, body } = await call(all, "/relay", json("POST", { id: "r1", name: "relayed" }));
    expect(status).toBe(200);
    expect(body).toEqual(expected);
  });

  test("across processes: the same result, unexposed endpoints reachable, auth data forwarded", async () => {
    const echo = await startHostProcess({ env, services: ["echo"] });
    const relay = await startHostProcess({ env: { ...env, CACHET_SERVICE_URLS: `echo=${echo.url}` }, services: ["relay"] });
    const { status, body } = await call(relay, "/relay", json("POST", { id: "r1", name: "relayed" }));
    expect(status).toBe(200);
    expect(body).toEqual(expected);
    expect((await call(relay, "/relay/me", { headers: { authorization: "Bearer good" } })).body).toEqual({ userID: "alice" });
    expect((await call(relay, "/echo/search?limit=1")).status).toBe(404);
    await Promise.all([echo.stop(), relay.stop()]);
  });
});

describe("databases", () => {
  test("migrations are applied at start and queries work", async () => {
    const first = await call(all, "/jobs/notes", json("POST", { text: "it's; DROP TABLE notes; --" }));
    const second = await call(all, "/jobs/notes", json("POST", { text: "two" }));
    expect([first.status, first.body, second.body]).toEqual([200, { count: 1 }, { count: 2 }]);
  });
});

describe("graceful shutdown", () => {
  test("SIGTERM lets an in-flight request finish, then the process exits 0", async () => {
    const host = await startHostProcess({ env, services: ["echo"] });
    const pending = call(host, "/echo/slow?ms=1500");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const exited = host.stop();
    const response = await pending;
    expect([response.status, response.body]).toEqual([200, { waited: 1500 }]);
    expect(await exited).toBe(0);
  });
});
