/**
 * Runs part of the benchmark in a fresh Node process (same loader as this one, so TypeScript
 * works) and reads the JSON it prints last. A fresh process per subject keeps one subject's JIT
 * state and heap from slowing another's.
 */
import { spawn } from "node:child_process";

export interface ChildOptions {
  env?: Record<string, string>;
  /** Extra Node flags, e.g. ["--expose-gc"]. */
  nodeArgs?: string[];
  timeoutMs?: number;
}

export function runChild<T>(script: string, args: string[], options: ChildOptions = {}): Promise<T> {
  const child = spawn(process.execPath, [...process.execArgv, ...(options.nodeArgs ?? []), script, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 10 * 60_000);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split("\n").at(-1) ?? "";
      if (code === 0 && last.startsWith("{")) return resolve(JSON.parse(last) as T);
      reject(new Error(`${script} ${args.join(" ")} exited with ${code ?? signal}:\n${stderr.slice(-4000)}${stdout.slice(-2000)}`));
    });
  });
}

/** Child side: prints the result as the last line and exits (open Redis handles must not keep it alive). */
export async function childMain(work: () => Promise<unknown>): Promise<void> {
  try {
    const result = await work();
    process.stdout.write(`\n${JSON.stringify(result)}\n`, () => process.exit(0));
  } catch (error) {
    console.error(error);
    process.exit(1);
  }
}
