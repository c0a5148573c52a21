/**
 * Test harness for the multi-node L2 modes: a real Redis Cluster (`startRedisCluster`) and a set
 * of independent servers for the ring (`startRedisNodes`), each `redis-server` on free loopback
 * ports with its own temporary working directory, removed on `stop()`.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "../embedded/ports.ts";
import { startRedisServer, type EmbeddedRedis } from "../embedded/redis.ts";

export interface RedisNodeAddress {
  host: string;
  port: number;
}

export interface RedisClusterHandle {
  nodes: RedisNodeAddress[];
  stop(): Promise<void>;
}

export interface RedisNodeHandle extends RedisNodeAddress {
  url: string;
  /** Stops this server (SIGTERM; data is flushed to its AOF when `persistent`). */
  stop(): Promise<void>;
  /** Starts it again on the same port and working directory. */
  restart(): Promise<void>;
  readonly running: boolean;
}

export interface RedisNodesHandle {
  nodes: RedisNodeHandle[];
  stop(): Promise<void>;
}

function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `cachet-${label}-`));
}

function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${output}`));
    });
  });
}

/** Polls CLUSTER INFO on every node until all report `cluster_state:ok` and agree on the size. */
async function waitForClusterOk(nodes: RedisNodeAddress[], timeoutMs: number): Promise<void> {
  const clients = nodes.map(({ host, port }) => new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 1 }));
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const infos = await Promise.all(clients.map((c) => c.cluster("INFO").catch(() => "")));
      const ok = infos.every((info) => /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${nodes.length}\\b`).test(info));
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`cluster did not reach cluster_state:ok in ${timeoutMs} ms:\n${infos.join("\n---\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    clients.forEach((c) => c.disconnect());
  }
}

/**
 * Starts `masters` cluster-enabled servers, joins them with `redis-cli --cluster create`
 * (no replicas) and resolves once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(options: { masters?: number } = {}): Promise<RedisClusterHandle> {
  const count = options.masters ?? 3;
  const dirs: string[] = [];
  const servers: EmbeddedRedis[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const dir = tempDir(`cluster${i}`);
      dirs.push(dir);
      // The bus port defaults to port + 10000, which may be taken: pick a free one explicitly.
      const busPort = await freePort();
      servers.push(
        await startRedisServer({
          dataDir: dir,
          args: [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-port",
            String(busPort),
            "--cluster-node-timeout",
            "5000",
            "--appendonly",
            "no",
          ],
        }),
      );
    }
    const nodes = servers.map((s) => ({ host: "127.0.0.1", port: s.port }));
    await run("redis-cli", ["--cluster", "create", ...nodes.map((n) => `${n.host}:${n.port}`), "--cluster-replicas", "0", "--cluster-yes"], 30_000);
    await waitForClusterOk(nodes, 20_000);
    return { nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Starts `count` independent servers (for the ring). With `persistent`, each keeps an AOF in its
 * working directory, so `restart()` brings its old data back — the case a ring must not serve
 * stale values from.
 */
export async function startRedisNodes(count: number, options: { persistent?: boolean } = {}): Promise<RedisNodesHandle> {
  const handles: RedisNodeHandle[] = [];
  const dirs: string[] = [];
  const stop = async () => {
    await Promise.all(handles.map((h) => h.stop()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const dataDir = options.persistent ? tempDir(`node${i}`) : undefined;
      if (dataDir) dirs.push(dataDir);
      let server: EmbeddedRedis | undefined = await startRedisServer({ dataDir });
      const port = server.port;
      handles.push({
        host: "127.0.0.1",
        port,
        url: server.url,
        get running() {
          return server !== undefined;
        },
        async stop() {
          const s = server;
          server = undefined;
          await s?.stop();
        },
        async restart() {
          if (server) return;
          server = await startRedisServer({ port, dataDir });
        },
      });
    }
    return { nodes: handles, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
