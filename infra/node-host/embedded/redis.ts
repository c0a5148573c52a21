import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { freePort } from "./ports.ts";

export interface EmbeddedRedis {
  url: string;
  port: number;
  process: ChildProcess;
  /** Stops the server (SIGTERM, then SIGKILL after 3 s) and waits for it to exit. */
  stop(): Promise<void>;
}

export interface EmbeddedRedisOptions {
  /** Working directory for RDB/AOF files; nothing is persisted when unset. */
  dataDir?: string;
  port?: number;
  /** Extra `redis-server` arguments, e.g. `["--cluster-enabled", "yes"]`. */
  args?: string[];
  /** `requirepass`: clients must authenticate (the URL then carries it). None when unset. */
  password?: string;
}

export const REDIS_INSTALL_HINT =
  "redis-server was not found on the PATH. Install Redis 7 (Debian/Ubuntu: `sudo apt-get install -y redis-server`, " +
  "macOS: `brew install redis`) or set REDIS_URL to an existing server.";

/** True when a `redis-server` binary is on the PATH. */
export function hasRedisServer(): boolean {
  return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}

/**
 * Starts `redis-server` from the PATH on a free loopback port and resolves once it accepts
 * connections. Throws with an install hint when the binary is missing.
 */
export async function startRedisServer(options: EmbeddedRedisOptions = {}): Promise<EmbeddedRedis> {
  if (!hasRedisServer()) throw new Error(REDIS_INSTALL_HINT);
  const port = options.port ?? (await freePort());
  const persistence = options.dataDir
    ? (mkdirSync(options.dataDir, { recursive: true }), ["--dir", options.dataDir, "--appendonly", "yes", "--appendfsync", "everysec"])
    : ["--save", "", "--appendonly", "no"];
  // The password goes in on stdin (`redis-server -`), not the command line other users can read with ps.
  const child = spawn(
    "redis-server",
    // Loopback only, protected mode on: nothing off this machine can reach it.
    [...(options.password ? ["-"] : []), "--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "yes", ...persistence, ...(options.args ?? [])],
    { stdio: [options.password ? "pipe" : "ignore", "pipe", "pipe"] },
  );
  if (options.password) child.stdin!.end(`requirepass "${options.password.replace(/["\\]/g, "")}"\n`);
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`)));
    setTimeout(() => reject(new Error(`redis-server did not become ready in 10 s:\n${output}`)), 10_000).unref();
  });
  child.stdout!.resume();
  child.stderr!.resume();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    url: options.password ? `redis://:${encodeURIComponent(options.password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`,
    port,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
