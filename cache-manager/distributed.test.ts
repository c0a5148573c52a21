/**
 * Three host processes serving cache-manager over one Redis: one origin call per key across all of
 * them, and no stale reads once the propagation bound has passed after an acknowledged write.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { startHostProcesses, type HostProcess } from "../infra/node-host/testing/hosts";
import { callApi } from "../infra/node-host/testing/api";

/** How long after an acknowledged write every instance must have dropped the old value. */
const PROPAGATION_BOUND_MS = 50;

let hosts: HostProcess[];
beforeAll(async () => {
  hosts = await startHostProcesses(3, { services: ["cache-manager"], env: { CACHE_DEMO_LATENCY_MS: "100" } });
});

const call = (host: HostProcess, method: string, path: string, body?: unknown) => callApi(host.url, method, path, { body });

const originLoads = async () => {
  const all = await Promise.all(hosts.map((h) => call(h, "GET", "/api/stats")));
  return all.reduce((sum, s) => sum + s.body.counters.loads.ok + s.body.counters.loads.failed, 0);
};

describe("three cache-manager processes", () => {
  test("3 processes × 100 concurrent misses on one key → 1 origin call", async () => {
    const key = `product:${5000 + Math.floor(Math.random() * 5000)}`;
    await call(hosts[0], "DELETE", `/api/cache/${key}`);
    const before = await originLoads();
    const reads = await Promise.all(hosts.flatMap((h) => Array.from({ length: 100 }, () => call(h, "GET", `/api/cache/${key}`))));
    const bad = reads.filter((r) => !(r.status === 200 && r.body.value.id === Number(key.split(":")[1])));
    expect(bad.slice(0, 3)).toEqual([]);
    expect((await originLoads()) - before).toBe(1);
  });

  test("after an acknowledged write, no instance returns the old value once the bound has passed", async () => {
    const key = `test:coherent-${Date.now()}`;
    let stale = 0;
    let reads = 0;
    for (let round = 1; round <= 60; round++) {
      const writer = hosts[Math.floor(Math.random() * hosts.length)];
      const method = round % 7 === 0 ? "DELETE" : "PUT";
      const ack = await call(writer, method, `/api/cache/${key}`, method === "PUT" ? { value: round } : undefined);
      expect(ack.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, PROPAGATION_BOUND_MS));
      const seen = await Promise.all(hosts.flatMap((h) => [call(h, "GET", `/api/cache/${key}`), call(h, "GET", `/api/cache/${key}`)]));
      for (const read of seen) {
        reads++;
        const expected = method === "PUT" ? round : undefined;
        const got = read.status === 200 ? read.body.value : undefined;
        if (got !== expected) stale++;
      }
    }
    console.log(`coherence checker: ${reads} reads after acknowledged writes, ${stale} stale`);
    expect(stale).toBe(0);
  });
});
