/**
 * Runs the Node host the way production does: a separate `node` process serving a chosen set of
 * services on its own port. No test-runner hooks, so benchmarks and `npm run chaos` use it too;
 * tests use `startHostProcess` (hosts.ts), which also stops the processes after the file.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../embedded/ports.ts";
import { testHostEnv } from "./tokens.ts";

export const appRoot = join(dirname(fileURLToPath(import.meta.url)), "../../..");

export interface HostProcess {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** The last 100 kB the process printed. */
  output(): string;
  alive(): boolean;
  /** Resident set size in bytes (Linux /proc), 0 when unknown. */
  rss(): number;
  /** The highest resident set size the process has had so far, in bytes (Linux VmHWM), 0 when unknown. */
  peakRss(): number;
  /** SIGTERM and wait for a graceful exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL: the process dies at once, as in a crash. */
  kill(): Promise<void>;
}

export interface HostProcessOptions {
  services?: string[];
  env?: Record<string, string>;
  port?: number;
  /** How long to wait for "Cachet is running"; default 90 s (a cold start on a loaded machine). */
  startTimeoutMs?: number;
}

function spawnHost(port: number, options: HostProcessOptions): ChildProcess {
  const args = ["--import", "./infra/node-host/register.js", "infra/node-host/main.ts", `--port=${port}`];
  if (options.services?.length) args.push(`--services=${options.services.join(",")}`);
  return spawn(process.execPath, args, {
    cwd: appRoot,
    env: { ...process.env, ...testHostEnv(), ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/**
 * Runs a host process that should stop while starting (a bad setting, an unreachable server);
 * resolves with its exit code and everything it printed. Rejects if it is still running after
 * `timeoutMs` (and kills it).
 */
export async function runHostExpectingExit(options: HostProcessOptions & { timeoutMs?: number } = {}): Promise<{ code: number | null; output: string }> {
  const child = spawnHost(options.port ?? (await freePort()), options);
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`host still running after ${timeoutMs / 1000} s:\n${output}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export async function spawnHostProcess(options: HostProcessOptions = {}): Promise<HostProcess> {
  const port = options.port ?? (await freePort());
  const child = spawnHost(port, options);
  let output = "";
  const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-100_000));
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const timeoutMs = options.startTimeoutMs ?? 90_000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`host did not start in ${timeoutMs / 1000} s:\n${output}`)), timeoutMs);
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
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    child,
    output: () => output,
    alive: () => !gone(),
    rss: () => procStatusBytes(child.pid!, "VmRSS"),
    peakRss: () => procStatusBytes(child.pid!, "VmHWM"),
    async stop(stopTimeoutMs = 15_000) {
      if (gone()) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), stopTimeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (gone()) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** A size field of /proc/<pid>/status in bytes, 0 when unknown (not Linux, process gone). */
function procStatusBytes(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
