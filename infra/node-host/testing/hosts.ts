/**
 * Test helpers that run the Node host the way production does: as separate `node` processes
 * (`startHostProcess`), each serving a chosen set of services on its own port, sharing Redis
 * (and Postgres when DATABASE_URL is set). Processes are stopped at the end of the test file.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { afterAll } from "vitest";
import { freePort } from "../embedded/ports.ts";
import { testHostEnv } from "./tokens.ts";

const appRoot = join(dirname(fileURLToPath(import.meta.url)), "../../..");

export interface HostProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGTERM and wait for a graceful exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL: the process dies at once, as in a crash. */
  kill(): Promise<void>;
}

export interface HostProcessOptions {
  services?: string[];
  env?: Record<string, string>;
  port?: number;
}

const running = new Set<HostProcess>();
let cleanupRegistered = false;

export async function startHostProcess(options: HostProcessOptions = {}): Promise<HostProcess> {
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    afterAll(async () => {
      await Promise.all([...running].map((h) => h.stop()));
    });
  }
  const port = options.port ?? (await freePort());
  const args = ["--import", "./infra/node-host/register.js", "infra/node-host/main.ts", `--port=${port}`];
  if (options.services?.length) args.push(`--services=${options.services.join(",")}`);
  const child = spawn(process.execPath, args, {
    cwd: appRoot,
    env: { ...process.env, ...testHostEnv(), ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`host did not start in 60 s:\n${output}`)), 60_000);
    const check = () => {
      if (output.includes("Cachet is running")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`host exited with ${code} before it started:\n${output}`));
    });
  });
  const host: HostProcess = {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    output: () => output,
    async stop(timeoutMs = 15_000) {
      running.delete(host);
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      running.delete(host);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
  running.add(host);
  return host;
}

/** Starts `count` host processes with the same options, in parallel. */
export function startHostProcesses(count: number, options: HostProcessOptions = {}): Promise<HostProcess[]> {
  return Promise.all(Array.from({ length: count }, () => startHostProcess(options)));
}
