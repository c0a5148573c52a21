/** Reading JSON request bodies (runtime/http/body.ts) from real node:http requests. */
import { createServer, request, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BodyTooLargeError, readJsonBody } from "../runtime/http/body.ts";

let port = 0;
let limit: number | null = 64;
const server = createServer((req, res) => {
  readJsonBody(req, limit).then(
    (body) => res.end(JSON.stringify({ ok: true, body: body === undefined ? "<none>" : body })),
    (err: Error) => res.end(JSON.stringify({ ok: false, error: err instanceof BodyTooLargeError ? "too large" : err.message })),
  );
});
beforeAll(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => ((port = (server.address() as AddressInfo).port), resolve()))));
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Sends `chunks` as a chunked body (no content-length) and returns the reply, or "reset". */
function send(chunks: string[]): Promise<unknown> {
  return new Promise((resolve) => {
    const req = request({ port, method: "POST", path: "/", headers: { "content-type": "application/json" } }, (res: IncomingMessage) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve(JSON.parse(text)));
    });
    req.on("error", () => resolve("reset"));
    let i = 0;
    const next = () => {
      if (i === chunks.length) return void req.end();
      req.write(chunks[i++]);
      setTimeout(next, 5);
    };
    next();
  });
}

describe("readJsonBody", () => {
  test("a body that arrives in several chunks is parsed whole", async () => {
    expect(await send(['{"keys":', '["a",', '"b"]}'])).toEqual({ ok: true, body: { keys: ["a", "b"] } });
  });

  test("an empty body is undefined", async () => {
    expect(await send([])).toEqual({ ok: true, body: "<none>" });
  });

  test("malformed JSON is invalid_argument with the parser's reason", async () => {
    expect(await send(['{"a":'])).toMatchObject({ ok: false, error: expect.stringMatching(/^the request body is not valid JSON: /) });
  });

  test("a chunked body that grows past the limit is refused without reading the rest", async () => {
    const reply = await send(['{"v":"', "x".repeat(40), "x".repeat(40), '"}']);
    // The request is destroyed with its connection, so the client may see the reply or a reset.
    expect(reply === "reset" || (reply as { error?: string }).error === "too large").toBe(true);
  });

  test("without a limit, any size is read", async () => {
    limit = null;
    try {
      expect(await send(['{"v":"', "x".repeat(200), '"}'])).toEqual({ ok: true, body: { v: "x".repeat(200) } });
    } finally {
      limit = 64;
    }
  });
});
