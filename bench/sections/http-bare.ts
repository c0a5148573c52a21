/**
 * Child process of section 3: a bare `node:http` server that answers with fixed payloads — the
 * bodies the host returned for the same requests — after reading the request body: the ceiling
 * for one Node process on this machine. Usage: http-bare.ts <payloads.json>; prints its port.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const payloads = JSON.parse(readFileSync(process.argv[2], "utf8")) as { get: string; put: string; batch: string };
const bodies = { GET: Buffer.from(payloads.get), PUT: Buffer.from(payloads.put), POST: Buffer.from(payloads.batch) };

const server = createServer((req, res) => {
  const body = bodies[req.method as keyof typeof bodies];
  req.on("data", () => undefined);
  req.on("end", () => {
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
    res.end(body);
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 }));
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
