/**
 * Child process of section 3: a bare `node:http` server that answers with fixed payloads — the
 * bodies the host returned for the same requests — after reading the request body: the ceiling
 * for one Node process on this machine. Usage: http-bare.ts <payloads.json>; prints its port.
 * With `byPath` in the payloads, a GET answers the body recorded for its exact path (404 for
 * others): the host's bytes for each of many keys, at the cost of one Map lookup.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const payloads = JSON.parse(readFileSync(process.argv[2], "utf8")) as { get?: string; put?: string; batch?: string; byPath?: Record<string, string> };
const bodies = { GET: payloads.get, PUT: payloads.put, POST: payloads.batch };
// Strings, written as the host writes its JSON: node:http sends head and body in one write.
const byMethod = new Map(Object.entries(bodies).flatMap(([method, text]) => (text === undefined ? [] : [[method, text] as const])));
const byPath = new Map(Object.entries(payloads.byPath ?? {}));

const server = createServer((req, res) => {
  const body = req.method === "GET" && byPath.size ? byPath.get(req.url!) : byMethod.get(req.method!);
  req.on("data", () => undefined);
  req.on("end", () => {
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 }));
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
