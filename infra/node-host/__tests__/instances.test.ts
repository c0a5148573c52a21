/**
 * The README's "Run several instances" block for one machine, run by bash as written — with this
 * test's own Redis, PostgreSQL, ports and log directory in place of the README's addresses, and
 * the host's entry point in place of `npm start` (which would first build the dashboard) — then
 * checked: both instances serve, agree on every value, and a change through one reaches the
 * other's L1.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { freePort } from "../embedded/ports.ts";
import { startRedisServer, type EmbeddedRedis } from "../embedded/redis.ts";
import { eventually } from "../testing/api.ts";
import { startPostgresServer, type TestPostgresServer } from "../testing/postgres.ts";
import { appRoot } from "../testing/spawn.ts";

const README = readFileSync(join(appRoot, "README.md"), "utf8");

/** The first sh block after `marker` in the README. */
export function readmeBlock(marker: string): string {
  const at = README.indexOf(marker);
  if (at < 0) throw new Error(`README has no ${marker}`);
  const match = /```sh\n([\s\S]*?)```/.exec(README.slice(at));
  if (!match) throw new Error(`no sh block after ${marker}`);
  return match[1];
}

let redis: EmbeddedRedis;
let postgres: TestPostgresServer;
let shell: ChildProcess;
const ports: number[] = [];
const logs = mkdtempSync(join(tmpdir(), "cachet-instances-"));

beforeAll(async () => {
  [redis, postgres] = await Promise.all([startRedisServer(), startPostgresServer()]);
  ports.push(await freePort(), await freePort());
  const written = readmeBlock("<!-- instances:one-machine -->");
  const script = written
    .replace("redis://127.0.0.1:6379", redis.url)
    .replace("postgres://postgres@127.0.0.1:5432/postgres", postgres.url)
    .replace("PORT=4000", `PORT=${ports[0]}`)
    .replace("PORT=4001", `PORT=${ports[1]}`)
    .replace(/npm start/g, "node --import ./infra/node-host/register.js infra/node-host/main.ts")
    .replace(/instance-(\d)\.log/g, (_, n: string) => join(logs, `instance-${n}.log`));
  expect(script).not.toContain(":6379");
  expect(script).not.toContain(":5432");
  // The environment of a shell without Cachet settings, as a reader's would be.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(CACHE|CACHET|WARMING|INVALIDATION|REDIS|DATABASE)_/.test(name)));
  shell = spawn("bash", ["-e", "-c", script], { cwd: appRoot, env: { ...env, LOG_LEVEL: "warn" }, detached: true, stdio: "ignore" });
  for (const port of ports) {
    const status = await eventually(
      () =>
        fetch(`http://127.0.0.1:${port}/api/health`).then(
          (r) => r.status,
          () => 0,
        ),
      (s) => s === 200,
      180_000,
      250,
    );
    expect(status, `instance on ${port}:\n${output()}`).toBe(200);
  }
}, 240_000);

afterAll(async () => {
  if (shell?.pid) {
    try {
      process.kill(-shell.pid, "SIGTERM"); // the group holds both instances
    } catch {
      // already gone
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await Promise.all([redis?.stop(), postgres?.stop()]);
}, 60_000);

function output(): string {
  return [1, 2]
    .map((n) => {
      try {
        return readFileSync(join(logs, `instance-${n}.log`), "utf8");
      } catch {
        return "";
      }
    })
    .join("\n---\n");
}

const token = () => readFileSync(join(appRoot, ".cachet", "admin-token"), "utf8").trim();

async function call(port: number, method: string, path: string, body?: unknown) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${token()}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json().catch(() => null)) as any };
}

describe("two instances on one machine, started as the README writes them", () => {
  test("both start, neither refuses the other", () => {
    expect(output()).not.toMatch(/cannot share Redis|cannot start/);
  });

  test("a write through one is read back through the other", async () => {
    const key = `instances:${Date.now()}`;
    expect((await call(ports[0], "PUT", `/api/cache/${key}`, { value: "from-1" })).status).toBe(200);
    const read = await call(ports[1], "GET", `/api/cache/${key}`);
    expect(read.body).toMatchObject({ value: "from-1" });
  });

  test("a change through one reaches the other's L1", async () => {
    const key = `instances:l1:${Date.now()}`;
    await call(ports[0], "PUT", `/api/cache/${key}`, { value: 1 });
    await call(ports[1], "GET", `/api/cache/${key}`);
    expect((await call(ports[1], "GET", `/api/cache/${key}`)).body).toMatchObject({ value: 1, source: "l1" });

    await call(ports[0], "PUT", `/api/cache/${key}`, { value: 2 });
    const seen = await eventually(
      () => call(ports[1], "GET", `/api/cache/${key}`),
      (r) => r.body?.value === 2,
      2_000,
      20,
    );
    expect(seen.body.value).toBe(2);

    expect((await call(ports[0], "DELETE", `/api/cache/${key}`)).status).toBeLessThan(300);
    const gone = await eventually(
      () => call(ports[1], "GET", `/api/cache/${key}`),
      (r) => r.status === 404,
      2_000,
      20,
    );
    expect(gone.status).toBe(404);
  });

  test("both answer /api/health with every service healthy", async () => {
    for (const port of ports) {
      const health = (await fetch(`http://127.0.0.1:${port}/api/health`).then((r) => r.json())) as { healthy: boolean; services: unknown[] };
      expect(health.healthy).toBe(true);
      expect(health.services).toHaveLength(4);
    }
  });
});
