/**
 * Fill fencing across host processes (issue 22 item 1): two cache-manager processes over one
 * Redis and a real HTTP origin whose answer the test holds back, so a read-through's load is in
 * flight while another process acknowledges a change. Once the change is acknowledged, no process
 * serves the value the old load read.
 */
import { createServer, type Server } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startHostProcesses, type HostProcess } from "../infra/node-host/testing/hosts";
import { callApi } from "../infra/node-host/testing/api";

const values = new Map<string, unknown>();
/** Origin GETs to hold: each has read its value when `arrived` resolves, and answers on `release`. */
const held: Array<{ arrived: () => void; released: Promise<void> }> = [];
let origin: Server;
let hosts: HostProcess[];

function holdNextLoad() {
  let arrived!: () => void;
  let release!: () => void;
  const gate = { arrived: new Promise<void>((resolve) => (arrived = resolve)), release: () => release() };
  held.push({ arrived, released: new Promise<void>((resolve) => (release = resolve)) });
  return gate;
}

beforeAll(async () => {
  origin = createServer((req, res) => {
    const id = decodeURIComponent(req.url!.split("/").pop()!);
    if (req.method === "PUT") {
      let body = "";
      req.on("data", (chunk) => (body += chunk)).on("end", () => {
        values.set(id, JSON.parse(body));
        res.writeHead(204).end();
      });
      return;
    }
    // Read when the request arrives, as a database read would be.
    const body = values.has(id) ? JSON.stringify(values.get(id)) : undefined;
    const answer = () => (body === undefined ? res.writeHead(404).end() : res.writeHead(200, { "content-type": "application/json" }).end(body));
    const gate = held.shift();
    gate?.arrived();
    if (gate) void gate.released.then(answer);
    else answer();
  });
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(origin.address() as { port: number }).port}/items/{id}`;
  const file = join(mkdtempSync(join(tmpdir(), "cachet-fencing-")), "origins.json");
  writeFileSync(file, JSON.stringify([{ namespace: "fence:", kind: "http", url: base, writeUrl: base }]));
  hosts = await startHostProcesses(2, { services: ["cache-manager"], env: { CACHE_ORIGINS_FILE: file } });
});
afterAll(() => new Promise<void>((resolve) => origin?.close(() => resolve())));

const call = (host: HostProcess, method: string, path: string, body?: unknown) => callApi(host.url, method, path, { body });

describe("two cache-manager processes, a load in flight", () => {
  test.each([
    ["DELETE", "DELETE", undefined, "V2"],
    ["a cache-only PUT", "PUT", { value: "put" }, "put"],
    ["a write-through PUT", "PUT", { value: "V2", writeMode: "write-through" }, "V2"],
  ])("%s acknowledged by the other process while the load runs: neither process serves the loaded value afterwards", async (_, method, body, expected) => {
    const id = randomUUID().slice(0, 8);
    const path = `/api/cache/fence:${id}`;
    values.set(id, "V1");
    const load = holdNextLoad();
    const reading = call(hosts[0], "GET", path);
    await load.arrived; // the load has read V1
    values.set(id, "V2");
    expect((await call(hosts[1], method, path, body)).status).toBe(200); // acknowledged
    load.release();
    expect((await reading).body.value).toBe("V1"); // overlapped the change: allowed
    for (const host of [hosts[0], hosts[1], hosts[0], hosts[1]]) {
      const read = await call(host, "GET", path);
      expect([read.status, read.body.value]).toEqual([200, expected]);
    }
  });
});
