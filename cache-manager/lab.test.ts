/** The Lab endpoints through a real host process: each scenario measures what it claims. */
import { beforeAll, describe, expect, test } from "vitest";
import { startHostProcess, type HostProcess } from "../infra/node-host/testing/hosts";
import { callApi } from "../infra/node-host/testing/api";
import { DEGRADATION_LEVELS } from "./core/resilience/degradation";
import { quantile } from "./lab";

let host: HostProcess;
beforeAll(async () => {
  host = await startHostProcess({ services: ["cache-manager"] });
});

const run = (scenario: string, body: Record<string, unknown> = {}, token: "admin" | "operator" = "admin") =>
  callApi(host.url, "POST", `/api/lab/${scenario}`, { body, token });

const metric = (body: { metrics: Array<{ label: string; value: number }> }, label: string) => {
  const found = body.metrics.find((m) => m.label === label);
  if (!found) throw new Error(`no metric "${label}" in ${JSON.stringify(body.metrics)}`);
  return found.value;
};

describe("quantile", () => {
  test.each([
    [[], 0.5, 0],
    [[5], 0.99, 5],
    [[1, 2, 3, 4], 0.5, 2],
    [[4, 3, 2, 1, 100], 0.99, 100],
  ])("%j at %d is %d (nearest rank)", (values, q, expected) => {
    expect(quantile(values, q)).toBe(expected);
  });
});

describe("lab endpoints", () => {
  test("an operator cannot run a scenario (admin only)", async () => {
    const response = await run("cache-aside", {}, "operator");
    expect(response.status).toBe(403);
    expect(response.body.code).toBe("permission_denied");
  });

  test("an unknown scenario → 404 naming the scenarios; a bad parameter → 400", async () => {
    const unknown = await run("nope");
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toMatch(/cache-aside, write-modes, stampede, l2-outage, coherence/);
    const bad = await run("stampede", { concurrency: 1_000_000 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/concurrency/);
  });

  test("cache-aside: a miss costs the origin's latency, L2 and L1 hits far less", async () => {
    const { status, body } = await run("cache-aside", { samples: 5, originLatencyMs: 40 });
    expect(status).toBe(200);
    expect(metric(body, "origin calls")).toBe(5);
    expect(metric(body, "miss p50")).toBeGreaterThanOrEqual(40);
    expect(metric(body, "L2 hit p50")).toBeLessThan(metric(body, "miss p50"));
    expect(metric(body, "L1 hit p50")).toBeLessThan(metric(body, "L2 hit p50"));
    expect(body.points).toHaveLength(15);
  });

  test("write modes: write-through waits for the origin, write-behind does not and catches up", async () => {
    const { status, body } = await run("write-modes", { samples: 5, originLatencyMs: 40 });
    expect(status).toBe(200);
    expect(metric(body, "write-through p50")).toBeGreaterThanOrEqual(40);
    expect(metric(body, "write-behind p50")).toBeLessThan(40);
    expect(body.metrics.find((m: { label: string }) => m.label === "write-behind writes applied")).toMatchObject({ value: 5, unit: "of 5" });
  });

  test("stampede: unprotected reads all call the origin, protected ones call it once across two instances", async () => {
    const { status, body } = await run("stampede", { concurrency: 60, originLatencyMs: 80 });
    expect(status).toBe(200);
    expect(metric(body, "origin calls, unprotected")).toBe(60);
    expect(metric(body, "origin calls, protected")).toBe(1);
  });

  test("L2 outage: the breaker opens, writes are refused at l1-only, reads keep being served, and it recovers", async () => {
    const { status, body } = await run("l2-outage");
    expect(status).toBe(200);
    expect(metric(body, "time to open the breaker")).toBeGreaterThanOrEqual(0);
    expect(metric(body, "writes refused at l1-only")).toBeGreaterThan(0);
    expect(metric(body, "time to recover")).toBeGreaterThanOrEqual(0);
    const levels = body.points.filter((p: { series: string }) => p.series === "level").map((p: { value: number }) => p.value);
    expect(levels).toContain(DEGRADATION_LEVELS.indexOf("l1-only"));
    expect(levels.at(-1)).toBe(DEGRADATION_LEVELS.indexOf("normal")); // normal again
    expect(body.notes.join(" ")).toMatch(/stayed at level "normal" → "normal"/);
    const stats = await callApi(host.url, "GET", "/api/stats");
    expect(stats.body).toMatchObject({ level: "normal", breaker: "closed" });
  });

  test("coherence: plain local caches serve the old value throughout, coherent L1 is fresh almost at once", async () => {
    const { status, body } = await run("coherence");
    expect(status).toBe(200);
    const plain = body.metrics.find((m: { label: string }) => m.label === "stale reads, plain local caches");
    expect(plain.unit).toBe(`of ${plain.value}`); // every read was stale
    expect(metric(body, "B fresh after (coherent)")).toBeGreaterThanOrEqual(0);
    expect(metric(body, "B fresh after (coherent)")).toBeLessThan(500);
  });

  test("a run leaves no lab keys behind in Redis", async () => {
    await run("cache-aside", { samples: 3, originLatencyMs: 0 });
    const { default: Redis } = await import("ioredis");
    const redis = new Redis(process.env.REDIS_URL!);
    try {
      const [, keys] = await redis.scan("0", "MATCH", "*cachet:lab:*", "COUNT", 10_000);
      expect(keys).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
