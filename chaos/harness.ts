/**
 * What the chaos scenarios run on: host processes (the same `node … infra/node-host/main.ts`
 * that `npm start` runs), real `redis-server` and PostgreSQL processes that can be stopped and
 * started again on the same port and data, and the fault proxy. Works under Vitest and from
 * `npm run chaos` alike (no Vitest hooks): every scenario owns a `Lab` and closes it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { startRedisServer, type EmbeddedRedis } from "../infra/node-host/embedded/redis.ts";
import { startFaultProxy, type FaultProxy } from "../infra/node-host/testing/fault-proxy.ts";
import { findPostgresBinDir, startPostgresServer, type TestPostgresServer } from "../infra/node-host/testing/postgres.ts";
import { waitUntilReady } from "../infra/node-host/embedded/postgres.ts";
import { appRoot, spawnHostProcess, type HostProcess, type HostProcessOptions } from "../infra/node-host/testing/spawn.ts";

export { appRoot };

export type Host = HostProcess;
export type HostOptions = HostProcessOptions;

/** Starts a host process and waits until it serves. */
export const spawnHost = (options: HostOptions = {}) => spawnHostProcess({ startTimeoutMs: 120_000, ...options });

/** A PostgreSQL server that can be stopped and started again with its data and port. */
export interface RestartablePostgres {
  url: string;
  port: number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const server: TestPostgresServer = await startPostgresServer();
  let current: ChildProcess | null = server.process;
  const identity = (() => {
    if (typeof process.getuid !== "function" || process.getuid() !== 0) return {};
    const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
    return { uid: id("-u"), gid: id("-g") };
  })();
  const stopChild = async (child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGINT"); // fast shutdown: clients are disconnected
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return {
    url: server.url,
    port: server.port,
    async down() {
      if (current) await stopChild(current);
      current = null;
    },
    async up() {
      if (current) return;
      const args = ["-D", join(server.dir, "data"), "-p", String(server.port), "-k", server.dir, "-c", "listen_addresses=127.0.0.1"];
      for (const [k, v] of Object.entries({ fsync: "off", synchronous_commit: "off", full_page_writes: "off", max_connections: "200" }))
        args.push("-c", `${k}=${v}`);
      const child = spawn(join(findPostgresBinDir()!, "postgres"), args, { ...identity, stdio: ["ignore", "pipe", "pipe"] });
      child.stdout!.resume();
      let log = "";
      child.stderr!.on("data", (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
      current = child;
      await waitUntilReady(server.url, child, () => log, 30_000);
    },
    async close() {
      if (current && current !== server.process) await stopChild(current);
      await server.stop();
    },
  };
}

/** Everything one scenario started; `close()` stops it all, in reverse order. */
export class Lab {
  private readonly closers: Array<() => Promise<unknown>> = [];

  async redis(port?: number): Promise<EmbeddedRedis> {
    const redis = await startRedisServer(port ? { port } : {});
    this.closers.push(() => redis.stop());
    return redis;
  }

  async postgres(): Promise<RestartablePostgres> {
    const pg = await startRestartablePostgres();
    this.closers.push(() => pg.close());
    return pg;
  }

  async proxy(targetPort: number): Promise<FaultProxy> {
    const proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: targetPort } });
    this.closers.push(() => proxy.close());
    return proxy;
  }

  async host(options: HostOptions): Promise<Host> {
    const host = await spawnHost(options);
    this.closers.push(() => host.stop());
    return host;
  }

  hosts(count: number, options: HostOptions): Promise<Host[]> {
    return Promise.all(Array.from({ length: count }, () => this.host(options)));
  }

  defer(closer: () => Promise<unknown>): void {
    this.closers.push(closer);
  }

  async close(): Promise<void> {
    for (const closer of this.closers.reverse()) await closer().catch(() => undefined);
    this.closers.length = 0;
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The result of one scenario: a headline figure, and the checks its verdict is made of. */
export interface ScenarioResult {
  id: number;
  name: string;
  figure: string;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
  verdict: "pass" | "fail";
  durationMs: number;
}

/** Collects named checks; the verdict passes when every check does. */
export class Checks {
  readonly list: ScenarioResult["checks"] = [];
  check(name: string, ok: boolean, detail: string | number = ""): boolean {
    this.list.push({ name, ok, detail: String(detail) });
    return ok;
  }
}
