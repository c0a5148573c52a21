/** The cache-manager service on each L2 mode, through a real host process. */
import { afterAll, describe, expect, test } from "vitest";
import { startHostProcess } from "../infra/node-host/testing/hosts";
import { startRedisCluster, startRedisNodes } from "../infra/node-host/testing/redis-cluster";
import { callApi } from "../infra/node-host/testing/api";

const stops: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

describe.each([
  ["cluster", () => startRedisCluster({ masters: 3 })],
  ["ring", () => startRedisNodes(3)],
])("CACHE_L2_MODE=%s", (mode, start) => {
  test("writes, reads through and lists keys across every node", async () => {
    const servers = await start();
    stops.push(() => servers.stop());
    const nodes = servers.nodes.map((n) => `${n.host}:${n.port}`).join(",");
    const host = await startHostProcess({ services: ["cache-manager"], env: { CACHE_L2_MODE: mode, CACHE_L2_NODES: nodes } });
    stops.push(() => host.stop());
    const call = (method: string, path: string, body?: unknown) => callApi(host.url, method, path, { body });
    const batch = Array.from({ length: 60 }, (_, i) => ({ key: `${mode}:k${i}`, value: i }));
    expect((await call("POST", "/api/batch/set", { entries: batch })).status).toBe(200);
    expect((await call("GET", "/api/cache/product:7")).body).toMatchObject({ source: "origin", value: { id: 7 } });
    const stats = (await call("GET", "/api/stats")).body;
    expect(stats.l2).toHaveLength(3);
    expect(stats.l2.filter((n: { keys: number }) => n.keys > 0).length).toBe(3);
    const listed: string[] = [];
    let cursor = "0";
    do {
      const page = (await call("GET", `/api/keys?match=${mode}:*&count=25${cursor === "0" ? "" : `&cursor=${cursor}`}`)).body;
      listed.push(...page.keys.map((k: { key: string }) => k.key));
      cursor = page.cursor;
    } while (cursor !== "0");
    expect(new Set(listed)).toEqual(new Set(batch.map((e) => e.key)));
  }, 120_000); // starts a Redis cluster and a host process (up to 90 s on a loaded machine)
});
