/**
 * CACHET_WORKERS: real host processes sharing one port under node:cluster, against a real Redis
 * and a real PostgreSQL server.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { usableCores, workerCount } from "../workers.ts";
import { startHostProcess, type HostProcess } from "../testing/hosts.ts";
import { startPostgresServer, type TestPostgresServer } from "../testing/postgres.ts";
import { TEST_TOKENS } from "../testing/tokens.ts";
import { startRedisServer, type EmbeddedRedis } from "../embedded/redis.ts";

/** Pids of the cluster workers of `primary` (its node children running main.ts). */
function workerPids(primary: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1]);
      if (ppid === primary && readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("main.ts")) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids.sort((a, b) => a - b);
}

/** One HTTP request on `agent` (one kept-alive connection: always the same worker). */
function call(agent: Agent, port: number, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        agent,
        port,
        host: "127.0.0.1",
        method,
        path,
        headers: { authorization: `Bearer ${TEST_TOKENS.admin}`, ...(payload ? { "content-type": "application/json" } : {}) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      },
    );
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
    req.end(payload);
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("CACHET_WORKERS", () => {
  test.each([
    [{}, 1],
    [{ NODE_ENV: "test" }, 1],
    [{ CACHET_WORKERS: "3" }, 3],
  ])("%j runs %i worker(s); production defaults to one per core", (env, count) => {
    expect(workerCount(env).count).toBe(count);
    expect(workerCount({ NODE_ENV: "production" }).count).toBeGreaterThanOrEqual(1);
  });

  test("a container's CPU limit caps the cores counted (cgroup v2 cpu.max)", () => {
    const dir = mkdtempSync(join(tmpdir(), "cachet-cgroup-"));
    const file = (text: string) => (writeFileSync(join(dir, "cpu.max"), text), join(dir, "cpu.max"));
    expect(usableCores(file("100000 100000\n"))).toBe(1);
    expect(usableCores(file("150000 100000\n"))).toBe(Math.min(2, availableParallelism()));
    expect(usableCores(file("max 100000\n"))).toBe(availableParallelism());
    expect(usableCores(join(dir, "missing"))).toBe(availableParallelism());
  });

  test.each(["0", "-1", "two", "1.5"])("CACHET_WORKERS=%s is refused, naming the variable and what it accepts", (value) => {
    expect(() => workerCount({ CACHET_WORKERS: value })).toThrow(new RegExp(`CACHET_WORKERS=${value}: expected a whole number`));
  });
});

describe("two workers on one port", () => {
  let postgres: TestPostgresServer;
  // its own Redis: /api/instances lists every instance reporting to the Redis it uses, and other
  // test files' hosts report to the shared one
  let redis: EmbeddedRedis;
  let host: HostProcess;
  const agents: Agent[] = [];
  beforeAll(async () => {
    [postgres, redis] = await Promise.all([startPostgresServer(), startRedisServer()]);
    host = await startHostProcess({
      env: { CACHET_WORKERS: "2", REDIS_URL: redis.url, DATABASE_URL: postgres.url, CACHET_DATABASE_PREFIX: "workers_" },
      startTimeoutMs: 180_000,
    });
  }, 200_000);
  afterAll(async () => {
    agents.forEach((a) => a.destroy());
    await host?.stop();
    await postgres?.stop();
    await redis?.stop();
  });

  /** Two connections served by different workers, with their cache instance ids (undefined if not found in 20 tries). */
  async function connectionsToEachWorker(): Promise<Array<{ agent: Agent; instanceId: string }> | undefined> {
    const found = new Map<string, Agent>();
    for (let i = 0; i < 20 && found.size < 2; i++) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      const { json } = await call(agent, host.port, "GET", "/api/stats");
      if (!found.has(json.instanceId as string)) found.set(json.instanceId as string, agent);
    }
    return found.size === 2 ? [...found].map(([instanceId, agent]) => ({ agent, instanceId })) : undefined;
  }

  test("each worker is its own instance in /api/instances, and a write through one drops the other's L1 copy", async () => {
    expect(workerPids(host.pid)).toHaveLength(2);
    const [a, b] = (await connectionsToEachWorker())!;
    const { json: view } = await call(a!.agent, host.port, "GET", "/api/instances");
    const cacheInstances = (view.instances as Array<{ service: string; instanceId: string }>)
      .filter((i) => i.service === "cache-manager")
      .map((i) => i.instanceId);
    expect(cacheInstances.sort()).toEqual([a!.instanceId, b!.instanceId].sort());

    const key = `workers:${Date.now()}`;
    expect((await call(a!.agent, host.port, "PUT", `/api/cache/${key}`, { value: "v1" })).status).toBe(200);
    // Both workers come to hold v1 in their own L1.
    for (const side of [a!, b!]) {
      await until(`${side.instanceId} to serve v1 from L1`, async () => {
        const { json } = await call(side.agent, host.port, "GET", `/api/cache/${key}`);
        return json.source === "l1" && json.value === "v1" ? true : undefined;
      });
    }
    expect((await call(a!.agent, host.port, "PUT", `/api/cache/${key}`, { value: "v2" })).status).toBe(200);
    const seenByB = await until(
      "the other worker to serve v2",
      async () => {
        const { json } = await call(b!.agent, host.port, "GET", `/api/cache/${key}`);
        return json.value === "v2" ? json : undefined;
      },
      5000,
    );
    // B re-read L2: its L1 copy was dropped by the coherence stream, not left to expire.
    expect(seenByB.source).toBe("l2");
  }, 60_000);

  test("a killed worker is replaced while the other keeps serving", async () => {
    const before = workerPids(host.pid);
    expect(before).toHaveLength(2);
    process.kill(before[0]!, "SIGKILL");
    // Reaped by the primary (a zombie still has its /proc entry): from then on it hands no connection to the dead worker.
    await until("the primary to reap the dead worker", async () => (existsSync(`/proc/${before[0]}`) ? undefined : true));
    const agent = new Agent({ keepAlive: false });
    agents.push(agent);
    // The survivor answers every request meanwhile.
    const replaced = await until(
      "a replacement worker",
      async () => {
        expect((await call(agent, host.port, "GET", "/api/health")).status).toBe(200);
        const now = workerPids(host.pid);
        return now.length === 2 ? now : undefined;
      },
      60_000,
    );
    expect(replaced).toContain(before[1]);
    // The replacement listens and is an instance of its own.
    const [a, b] = await until("connections to both workers", connectionsToEachWorker, 120_000);
    expect(a!.instanceId).not.toBe(b!.instanceId);
  }, 150_000);

  test("SIGTERM to the primary drains every worker and exits 0", async () => {
    const workers = workerPids(host.pid);
    expect(await host.stop()).toBe(0);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
  }, 30_000);
});
