/**
 * A real HTTP origin for tests: `GET /items/:id` answers the id's value (404 when unset), `PUT`
 * stores one. A GET reads its value when it arrives, as a database read would, and can be held
 * back (`holdNextLoad`) so a test changes things while a load is in flight, then releases it.
 */
import { createServer } from "node:http";

export interface TestOrigin {
  /** `http://127.0.0.1:<port>/items/{id}`: an origin config's `url` and `writeUrl`. */
  readonly url: string;
  readonly values: Map<string, unknown>;
  /** GETs received per id. */
  readonly calls: Map<string, number>;
  /** Milliseconds every GET that is not held waits before answering. */
  delayMs: number;
  /** Holds the next GET: `arrived` resolves once it has read its value; `release()` answers it. */
  holdNextLoad(): { arrived: Promise<void>; release: () => void };
  /** Forgets delays and pending holds (between tests). */
  reset(): void;
  close(): Promise<void>;
}

export async function startTestOrigin(): Promise<TestOrigin> {
  const held: Array<{ arrived: () => void; released: Promise<void> }> = [];
  const server = createServer((req, res) => {
    const id = decodeURIComponent(req.url!.split("/").pop()!);
    if (req.method === "PUT") {
      let body = "";
      req
        .on("data", (chunk) => (body += chunk))
        .on("end", () => {
          origin.values.set(id, JSON.parse(body));
          res.writeHead(204).end();
        });
      return;
    }
    origin.calls.set(id, (origin.calls.get(id) ?? 0) + 1);
    const body = origin.values.has(id) ? JSON.stringify(origin.values.get(id)) : undefined;
    const answer = () => (body === undefined ? res.writeHead(404).end() : res.writeHead(200, { "content-type": "application/json" }).end(body));
    const gate = held.shift();
    gate?.arrived();
    if (gate) void gate.released.then(answer);
    else setTimeout(answer, origin.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin: TestOrigin = {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/items/{id}`,
    values: new Map(),
    calls: new Map(),
    delayMs: 0,
    holdNextLoad() {
      let arrived!: () => void;
      let release!: () => void;
      const gate = { arrived: new Promise<void>((resolve) => (arrived = resolve)), release: () => release() };
      held.push({ arrived, released: new Promise<void>((resolve) => (release = resolve)) });
      return gate;
    },
    reset() {
      origin.delayMs = 0;
      held.length = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return origin;
}
