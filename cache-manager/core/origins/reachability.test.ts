import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../infra/node-host/embedded/ports";
import type { OriginEntry } from "./registry";
import { unreachableOrigins } from "./reachability";

let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer((_, res) => res.writeHead(404).end()); // any answer counts
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const http = (namespace: string, url: string): OriginEntry => ({ namespace, kind: "http", source: "file", config: { namespace, kind: "http", url } });
const sql = (namespace: string, database: string): OriginEntry => ({
  namespace,
  kind: "sql",
  source: "file",
  config: { namespace, kind: "sql", query: "SELECT 1", database },
});

describe("unreachableOrigins", () => {
  it("lists the origins whose server does not answer, with the address and the reason", async () => {
    const closed = await freePort();
    const result = await unreachableOrigins(
      [
        http("up:", `http://127.0.0.1:${port}/items/{id}`),
        http("down:", `http://127.0.0.1:${closed}/items/{id}`),
        http("typo:", "http://no-such-host.invalid/items/{id}"),
        sql("db-up:", "main"),
        sql("db-down:", "broken"),
        sql("db-missing:", "other"),
      ],
      {
        sql: (database) =>
          database === "main"
            ? async () => [{ ok: 1 }]
            : database === "broken"
              ? async () => Promise.reject(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }))
              : undefined,
      },
    );
    expect(result).toEqual([
      { namespace: "down:", target: `http://127.0.0.1:${closed}`, reason: "ECONNREFUSED" },
      { namespace: "typo:", target: "http://no-such-host.invalid", reason: "ENOTFOUND" },
      { namespace: "db-down:", target: "database broken", reason: "ECONNREFUSED" },
      { namespace: "db-missing:", target: "database other", reason: "no such database" },
    ]);
  });
});
