/**
 * Fill fencing across host processes (issue 22 item 1): two cache-manager processes over one
 * Redis and a real HTTP origin whose answer the test holds back, so a read-through's load is in
 * flight while another process acknowledges a change. Once the change is acknowledged, no process
 * serves the value the old load read.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startHostProcesses, type HostProcess } from "../infra/node-host/testing/hosts";
import { callApi } from "../infra/node-host/testing/api";
import { startTestOrigin, type TestOrigin } from "./core/origins/test-origin";

let origin: TestOrigin;
let hosts: HostProcess[];

beforeAll(async () => {
  origin = await startTestOrigin();
  const file = join(mkdtempSync(join(tmpdir(), "cachet-fencing-")), "origins.json");
  writeFileSync(file, JSON.stringify([{ namespace: "fence:", kind: "http", url: origin.url, writeUrl: origin.url }]));
  hosts = await startHostProcesses(2, { services: ["cache-manager"], env: { CACHE_ORIGINS_FILE: file } });
});
afterAll(() => origin?.close());

const call = (host: HostProcess, method: string, path: string, body?: unknown) => callApi(host.url, method, path, { body });

describe("two cache-manager processes, a load in flight", () => {
  test.each([
    ["DELETE", "DELETE", undefined, "V2"],
    ["a cache-only PUT", "PUT", { value: "put" }, "put"],
    ["a write-through PUT", "PUT", { value: "V2", writeMode: "write-through" }, "V2"],
  ])("%s acknowledged by the other process while the load runs: neither process serves the loaded value afterwards", async (_, method, body, expected) => {
    const id = randomUUID().slice(0, 8);
    const path = `/api/cache/fence:${id}`;
    origin.values.set(id, "V1");
    const load = origin.holdNextLoad();
    const reading = call(hosts[0], "GET", path);
    await load.arrived; // the load has read V1
    origin.values.set(id, "V2");
    expect((await call(hosts[1], method, path, body)).status).toBe(200); // acknowledged
    load.release();
    expect((await reading).body.value).toBe("V1"); // overlapped the change: allowed
    for (const host of [hosts[0], hosts[1], hosts[0], hosts[1]]) {
      const read = await call(host, "GET", path);
      expect([read.status, read.body.value]).toEqual([200, expected]);
    }
  });
});
