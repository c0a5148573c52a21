/** The Lab endpoints through a real host process: each scenario measures what it claims. */
import { beforeAll, describe, expect, test } from "vitest";
import { startHostProcess, type HostProcess } from "../../infra/node-host/testing/hosts";
import { callApi } from "../../infra/node-host/testing/api";
import { DEGRADATION_LEVELS } from "../core/resilience/degradation";

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

  test("L2 outage: the breaker opens within a tick of L2 failing, writes are refused at l1-only, reads keep being served, and it recovers", async () => {
    const live = async () => (await callApi(host.url, "GET", "/api/stats")).body;
    expect(await live()).toMatchObject({ level: "normal", breaker: "closed" });
    const { status, body } = await run("l2-outage");
    expect(status).toBe(200);
    // Three L2 calls per 50 ms tick against a threshold of 3: open in the tick L2 went down, or the next.
    const toOpen = metric(body, "time to open the breaker");
    expect(toOpen).not.toBe(-1);
    expect(toOpen).toBeLessThanOrEqual(100);
    expect(metric(body, "writes refused at l1-only")).toBeGreaterThan(0);
    expect(metric(body, "requests served")).toBeGreaterThan(metric(body, "errors"));
    // Back to normal after L2 returns: the breaker admits a trial once its 700 ms open window has passed.
    const toRecover = metric(body, "time to recover");
    expect(toRecover).not.toBe(-1);
    expect(toRecover).toBeLessThanOrEqual(700 + 200);
    const levels = body.points.filter((p: { series: string }) => p.series === "level").map((p: { value: number }) => p.value);
    expect(levels).toContain(DEGRADATION_LEVELS.indexOf("l1-only"));
    expect(levels.at(-1)).toBe(DEGRADATION_LEVELS.indexOf("normal")); // normal again
    expect(body.events.map((e: { label: string }) => e.label)).toEqual(expect.arrayContaining(["L2 down", "L2 back"]));
    // The service's own cache was never touched.
    expect(await live()).toMatchObject({ level: "normal", breaker: "closed" });
  });

  test("coherence: plain local caches serve the old value throughout, coherent L1 is fresh almost at once", async () => {
    const { status, body } = await run("coherence");
    expect(status).toBe(200);
    const series = (name: string) => body.points.filter((p: { series: string }) => p.series === name).map((p: { value: number }) => p.value);
    const plain = series("plain local caches");
    const coherent = series("coherent L1");
    expect(plain.length).toBeGreaterThan(10);
    expect(plain.every((stale: number) => stale === 1)).toBe(true); // every read was stale
    expect(metric(body, "stale reads, plain local caches")).toBe(plain.length);
    // Coherent: stale only until B reads the announcement, fresh from then on.
    const firstFresh = coherent.indexOf(0);
    expect(firstFresh).toBeGreaterThanOrEqual(0);
    expect(coherent.slice(firstFresh).every((stale: number) => stale === 0)).toBe(true);
    expect(metric(body, "stale reads, coherent L1")).toBe(firstFresh);
    const freshAfter = metric(body, "B fresh after (coherent)");
    expect(freshAfter).not.toBe(-1);
    expect(freshAfter).toBeLessThan(500);
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
