/**
 * Starts the Node host (`infra/node-host/main.ts`) as a child process for the HTTP benchmark, the
 * way `npm start` runs it, on a given Redis, with PGlite in memory and a known admin token.
 * (The test helper `infra/node-host/testing/hosts.ts` registers Vitest hooks, so it cannot be
 * used outside a test.)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../infra/node-host/embedded/ports.ts";

const appRoot = join(dirname(fileURLToPath(import.meta.url)), "../..");

const START_TIMEOUT_MS = 120_000;

export interface BenchHost {
  url: string;
  /** The host's process (with workers: the primary). */
  pid: number;
  /** Milliseconds from spawn to "Cachet is running". */
  startMs: number;
  stop(): Promise<void>;
}

export interface BenchHostOptions {
  redisUrl: string;
  adminToken: string;
  env?: Record<string, string>;
  /** Extra Node flags, e.g. `["--cpu-prof"]` to profile the host. */
  nodeArgs?: string[];
  /** The services to run; default cache-manager alone, `[]` for all of them (as `npm start`). */
  services?: string[];
  /** The node binary; default this process's. */
  nodePath?: string;
}

export async function startBenchHost(options: BenchHostOptions): Promise<BenchHost> {
  const port = await freePort();
  const services = options.services ?? ["cache-manager"];
  const spawnedAt = performance.now();
  const child: ChildProcess = spawn(
    options.nodePath ?? process.execPath,
    [
      ...(options.nodeArgs ?? []),
      "--import",
      "./infra/node-host/register.js",
      "infra/node-host/main.ts",
      `--port=${port}`,
      ...(services.length ? [`--services=${services.join(",")}`] : []),
    ],
    {
      cwd: appRoot,
      env: {
        ...process.env,
        REDIS_URL: options.redisUrl,
        CACHE_ADMIN_TOKEN: options.adminToken,
        CACHET_INTERNAL_SECRET: "bench-internal-secret-0123456789abcdef",
        CACHET_PGLITE_DIR: "memory://",
        // Bench hosts share one Redis, each with its own in-memory database: measured one at a
        // time, they never need each other's queues, so the deployment check only warns.
        CACHET_DEPLOYMENT_CHECK: "warn",
        LOG_LEVEL: "warn",
        // The per-token rate limiter stays in the request path (its cost is measured) but with a
        // limit no run reaches: the benchmark measures serving, not 429s.
        CACHE_RATE_LIMIT: "10000000",
        NODE_ENV: "production",
        CACHET_WORKERS: "1",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    // As long as the chaos harness allows (chaos/harness.ts): a whole-platform start on a loaded
    // 2-core machine (the smoke test runs beside other test files) has taken over 60 s.
    const timer = setTimeout(() => reject(new Error(`the host did not start in ${START_TIMEOUT_MS / 1000} s:\n${output}`)), START_TIMEOUT_MS);
    const check = () => {
      if (!output.includes("Cachet is running")) return;
      clearTimeout(timer);
      child.stdout!.off("data", check);
      resolve();
    };
    child.stdout!.on("data", check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the host exited before it started:\n${output}`));
    });
  });
  // Keep draining its output so a chatty host cannot block on a full pipe.
  child.stdout!.resume();
  child.stderr!.resume();
  const startMs = performance.now() - spawnedAt;
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    startMs,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
