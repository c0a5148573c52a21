import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { EgressPolicy, egressFetch } from "./egress.ts";
import { OriginAbortedError, OriginArgumentError, OriginEgressError, OriginRequestError, OriginTimeoutError } from "./errors.ts";
import { createHttpOrigin, expandUrl } from "./http.ts";
import type { HttpOriginConfig } from "./types.ts";
import { validateOriginConfig } from "./validate.ts";

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A real HTTP API on a free loopback port; `received` records every request. */
function startApi() {
  const received: Received[] = [];
  const routes: Record<string, (res: ServerResponse, req: Received) => void> = {
    "1": (res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: 1, name: "one" })),
    missing: (res) => res.writeHead(404).end("no such product"),
    boom: (res) => res.writeHead(500).end("database on fire"),
    "not-json": (res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>oops</html>"),
    big: (res) => res.writeHead(200).end(JSON.stringify("x".repeat(5_000))),
    slow: (res) => void setTimeout(() => res.writeHead(200).end("1"), 3_000).unref(),
    "stalled-body": (res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"partial": ');
    },
    "redirect-same": (res) => res.writeHead(302, { location: "/products/1" }).end(),
    "redirect-away": (res) => res.writeHead(302, { location: "http://localhost:1/steal" }).end(),
    readonly: (res, req) => res.writeHead(req.method === "GET" ? 200 : 403).end(req.method === "GET" ? "{}" : "read only"),
  };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const entry = { method: req.method!, url: req.url!, headers: req.headers, body };
      received.push(entry);
      const id = decodeURIComponent(req.url!.split("/").pop()!);
      if (req.method === "PUT" || req.method === "DELETE" || req.method === "PATCH") {
        if (routes[id] && id === "readonly") return routes[id](res, entry);
        return void res.writeHead(204).end();
      }
      (routes[id] ?? ((r: ServerResponse) => r.writeHead(200).end(JSON.stringify({ id }))))(res, entry);
    });
  });
  return {
    received,
    server,
    async listen(): Promise<string> {
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("http origin", () => {
  const api = startApi();
  let base = "";
  const origin = (overrides: Partial<HttpOriginConfig> = {}) =>
    createHttpOrigin(
      validateOriginConfig({ namespace: "product:", kind: "http", url: `${base}/products/{id}`, timeoutMs: 1_000, ...overrides }) as HttpOriginConfig,
    );

  beforeAll(async () => {
    base = await api.listen();
  });
  afterAll(() => api.close());
  beforeEach(() => {
    api.received.length = 0;
  });

  test("a 2xx JSON response is found with the parsed body", async () => {
    expect(await origin().load("product:1")).toEqual({ found: true, value: { id: 1, name: "one" } });
  });

  test("the id is URL-encoded into the template", async () => {
    expect(expandUrl("https://x/{id}?again={id}", "a b/c")).toBe("https://x/a%20b%2Fc?again=a%20b%2Fc");
    expect(await origin().load("product:a b/c?")).toEqual({ found: true, value: { id: "a b/c?" } });
    expect(api.received[0].url).toBe("/products/a%20b%2Fc%3F");
  });

  test("configured headers are sent", async () => {
    await origin({ headers: { authorization: "Bearer secret" } }).load("product:1");
    expect(api.received[0].headers.authorization).toBe("Bearer secret");
    expect(api.received[0].headers.accept).toBe("application/json");
  });

  test("a 404 is not found", async () => {
    expect(await origin().load("product:missing")).toEqual({ found: false });
  });

  test("a 500 is an OriginRequestError with the status, never the upstream URL or body", async () => {
    const error = await origin()
      .load("product:boom")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OriginRequestError);
    expect(error).toMatchObject({ code: "E_ORIGIN_REQUEST", status: 500, operation: "load", namespace: "product:" });
    expect((error as Error).message).toBe('origin "product:" load GET: status 500');
    expect((error as Error).message).not.toContain(base);
  });

  test.each([".", ".."])("the id %j, which would climb the URL path, is refused before any request", async (id) => {
    await expect(origin().load(`product:${id}`)).rejects.toBeInstanceOf(OriginArgumentError);
    expect(api.received).toEqual([]);
  });

  test("a redirect within the origin is followed; one to another host is refused and the configured headers go nowhere else", async () => {
    expect(await origin().load("product:redirect-same")).toEqual({ found: true, value: { id: 1, name: "one" } });
    const error = await origin({ headers: { authorization: "Bearer secret" } })
      .load("product:redirect-away")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OriginRequestError);
    expect((error as Error).message).toMatch(/redirects to another host/);
    expect(api.received.map((r) => r.url)).toEqual(["/products/redirect-same", "/products/1", "/products/redirect-away"]);
  });

  test("a body that is not JSON is an OriginRequestError", async () => {
    await expect(origin().load("product:not-json")).rejects.toThrow(/the response is not JSON/);
  });

  test("a body over maxResponseBytes is refused", async () => {
    await expect(origin({ maxResponseBytes: 1_000 }).load("product:big")).rejects.toThrow(/more than maxResponseBytes \(1000\)/);
  });

  test("a server that does not answer in time is an OriginTimeoutError", async () => {
    const started = performance.now();
    const error = await origin({ timeoutMs: 150 })
      .load("product:slow")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OriginTimeoutError);
    expect(error).toMatchObject({ code: "E_ORIGIN_TIMEOUT", timeoutMs: 150 });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  test("the deadline covers a body that never finishes", async () => {
    await expect(origin({ timeoutMs: 150 }).load("product:stalled-body")).rejects.toBeInstanceOf(OriginTimeoutError);
  });

  test("the deadline holds even when the injected fetch ignores the signal", async () => {
    const deaf: typeof fetch = () => new Promise(() => {});
    const config = validateOriginConfig({ namespace: "p:", kind: "http", url: "https://api.invalid/{id}", timeoutMs: 100 }) as HttpOriginConfig;
    await expect(createHttpOrigin(config, { fetch: deaf }).load("p:1")).rejects.toBeInstanceOf(OriginTimeoutError);
  });

  test("the added latency counts against the deadline", async () => {
    await expect(origin({ timeoutMs: 100, addedLatencyMs: 500 }).load("product:1")).rejects.toBeInstanceOf(OriginTimeoutError);
    const started = performance.now();
    await origin({ addedLatencyMs: 80 }).load("product:1");
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });

  test("the caller's signal aborts the request", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    await expect(origin().load("product:slow", { signal: controller.signal })).rejects.toBeInstanceOf(OriginAbortedError);
  });

  test("a refused connection is an OriginRequestError", async () => {
    const closed = startApi();
    const url = await closed.listen();
    await closed.close();
    const config = validateOriginConfig({ namespace: "p:", kind: "http", url: `${url}/{id}` }) as HttpOriginConfig;
    await expect(createHttpOrigin(config).load("p:1")).rejects.toThrow(/request failed/);
  });

  test("write sends the value as JSON with the write method", async () => {
    const writer = origin({ writeUrl: `${base}/products/{id}`, writeMethod: "PATCH" });
    await writer.write!("product:7", { price: 3 });
    expect(api.received[0]).toMatchObject({ method: "PATCH", url: "/products/7", body: '{"price":3}' });
    expect(api.received[0].headers["content-type"]).toBe("application/json");
  });

  test("a refused write is an OriginRequestError with the status", async () => {
    const writer = origin({ writeUrl: `${base}/products/{id}` });
    await expect(writer.write!("product:readonly", 1)).rejects.toMatchObject({ status: 403, operation: "write" });
  });

  test("a value with no JSON form cannot be written", async () => {
    await expect(origin({ writeUrl: `${base}/products/{id}` }).write!("product:1", undefined)).rejects.toBeInstanceOf(OriginArgumentError);
  });

  test("remove sends DELETE to deleteUrl; without writeUrl/deleteUrl there is no writer or remover", async () => {
    await origin({ deleteUrl: `${base}/products/{id}` }).remove!("product:9");
    expect(api.received[0]).toMatchObject({ method: "DELETE", url: "/products/9" });
    expect(origin().write).toBeUndefined();
    expect(origin().remove).toBeUndefined();
  });
});

describe("egress policy", () => {
  const api = startApi();
  let port = 0;
  beforeAll(async () => {
    port = Number(new URL(await api.listen()).port);
  });
  afterAll(() => api.close());

  const originVia = (policy: EgressPolicy, url: string) =>
    createHttpOrigin(validateOriginConfig({ namespace: "p:", kind: "http", url, timeoutMs: 2_000 }) as HttpOriginConfig, { fetch: egressFetch(policy) });

  test.each([
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "::1",
    "fe80::1",
    "fd00::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
  ])("the internal address %s is refused by default", (address) => {
    expect(() => new EgressPolicy().check(address)).toThrow(OriginEgressError);
  });

  test.each(["93.184.216.34", "2606:4700::1111", "8.8.8.8"])("the public address %s is allowed", (address) => {
    expect(() => new EgressPolicy().check(address)).not.toThrow();
  });

  test("an allow-list entry lets exactly its network through", () => {
    const policy = new EgressPolicy(["10.20.0.0/16", "127.0.0.1"]);
    expect(() => policy.check("10.20.3.4")).not.toThrow();
    expect(() => policy.check("127.0.0.1")).not.toThrow();
    expect(() => policy.check("10.21.0.1")).toThrow(OriginEgressError);
    expect(() => new EgressPolicy(["not-a-network"])).toThrow(/is not an address or CIDR/);
  });

  test("a loopback IP literal, the metadata address and a name resolving to loopback are refused before any request", async () => {
    const policy = new EgressPolicy();
    await expect(originVia(policy, `http://127.0.0.1:${port}/products/{id}`).load("p:1")).rejects.toBeInstanceOf(OriginEgressError);
    await expect(originVia(policy, "http://169.254.169.254/latest/meta-data/{id}").load("p:1")).rejects.toBeInstanceOf(OriginEgressError);
    // A host name is checked on every address it resolves to, at connect time (DNS rebinding).
    await expect(originVia(policy, `http://localhost:${port}/products/{id}`).load("p:1")).rejects.toThrow(/internal address/);
    expect(api.received).toEqual([]);
  });

  test("with the allow-list naming loopback, the same origin loads", async () => {
    const policy = new EgressPolicy(["127.0.0.0/8", "::1"]);
    expect(await originVia(policy, `http://localhost:${port}/products/{id}`).load("p:1")).toEqual({ found: true, value: { id: 1, name: "one" } });
  });
});
