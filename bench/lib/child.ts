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

/**
 * A child process kept alive to run commands one at a time: it prints one JSON line when ready
 * and one JSON line per command it gets on stdin. Several such children, each holding one subject
 * built and warmed, let a section alternate short runs between subjects, so load that comes and
 * goes on a shared machine falls on every subject alike.
 */
export interface ServedChild {
  /** What the child printed when it was ready. */
  ready: Promise<unknown>;
  request<T>(command: unknown): Promise<T>;
  /** Asks the child to clean up and exit; resolves when it has. */
  close(): Promise<void>;
}

export function startServedChild(script: string, args: string[], options: ChildOptions = {}): ServedChild {
  const child = spawn(process.execPath, [...process.execArgv, ...(options.nodeArgs ?? []), script, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  let buffered = "";
  const waiting: Array<{ resolve: (value: unknown) => void; reject: (error: Error) => void }> = [];
  let exited: Error | null = null;
  const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.stderr.on("data", (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  child.stdout.on("data", (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line.startsWith("{")) waiting.shift()?.resolve(JSON.parse(line));
    }
  });
  child.once("exit", (code, signal) => {
    exited = new Error(`${script} ${args.join(" ")} exited with ${code ?? signal}:\n${stderr}`);
    for (const waiter of waiting.splice(0)) waiter.reject(exited);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 10 * 60_000);
  const next = () =>
    new Promise<unknown>((resolve, reject) => {
      if (exited) reject(exited);
      else waiting.push({ resolve, reject });
    });
  const ready = next();
  return {
    ready,
    request<T>(command: unknown) {
      const reply = next() as Promise<T>;
      child.stdin.write(`${JSON.stringify(command)}\n`);
      return reply;
    },
    async close() {
      if (!exited) child.stdin.end();
      await exit;
      clearTimeout(timer);
    },
  };
}

/**
 * Child side of `startServedChild`: runs `setup`, prints its result, then answers each JSON line
 * of stdin with `handle`'s result; when stdin ends, runs `close` and exits.
 */
export async function serveChild<S>(
  setup: () => Promise<S>,
  handle: (state: S, command: unknown) => Promise<unknown>,
  close: (state: S) => Promise<void>,
): Promise<void> {
  const write = (value: unknown) => new Promise<void>((resolve) => process.stdout.write(`\n${JSON.stringify(value)}\n`, () => resolve()));
  try {
    const state = await setup();
    await write({ ready: true });
    process.stdin.setEncoding("utf8");
    let buffered = "";
    for await (const chunk of process.stdin) {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        await write(await handle(state, JSON.parse(line)));
      }
    }
    await close(state);
    process.exit(0);
  } catch (error) {
    console.error(error);
    process.exit(1);
  }
}
