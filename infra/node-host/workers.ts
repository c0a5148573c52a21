/**
 * Several host processes on one machine (`CACHET_WORKERS`): the primary forks N workers with
 * node:cluster; they share the listening port, and each is a full instance (own L1, own
 * coherence follower, own metrics reports), exactly as N hosts on N machines would be. The
 * primary serves nothing: it restarts a worker that dies, and on stop drains all of them.
 *
 * Protocol: a worker sends `{ cachet: "ready", port }` once it listens, or `{ cachet: "failed",
 * message }` before it exits when it cannot start.
 */
import cluster, { type Worker } from "node:cluster";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

export type WorkerMessage = { cachet: "ready"; port: number } | { cachet: "failed"; message: string };

export interface WorkerPoolOptions {
  count: number;
  /** Environment added to every worker's (which inherits the primary's). */
  env?: Record<string, string>;
  log: { info(message: string, fields?: Record<string, string | number>): void; warn(message: string, fields?: Record<string, string | number>): void };
  /** Restart delay after a crash; doubles while workers keep dying young, up to 5 s. Default 200 ms. */
  restartDelayMs?: number;
}

export interface WorkerPool {
  /** The port the workers share. */
  port: number;
  /** Pids of the live workers. */
  pids(): number[];
  /** SIGTERM to every worker, resolved when all have exited (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * The cores this process may use: the CPUs it can run on, capped by a cgroup v2 CPU quota
 * (`/sys/fs/cgroup/cpu.max`, e.g. a container's CPU limit), which `availableParallelism()` ignores.
 */
export function usableCores(cpuMaxFile = "/sys/fs/cgroup/cpu.max"): number {
  const cpus = availableParallelism();
  try {
    const [quota, period] = readFileSync(cpuMaxFile, "utf8").trim().split(/\s+/);
    if (quota === "max" || !quota || !period) return cpus;
    return Math.max(1, Math.min(cpus, Math.ceil(Number(quota) / Number(period))));
  } catch {
    return cpus; // No cgroup v2 limit to read.
  }
}

/**
 * The worker count from CACHET_WORKERS: a positive integer, or `auto` for the usable cores.
 * Unset: the cores in production (NODE_ENV=production), else 1 (development, tests).
 */
export function workerCount(env: NodeJS.ProcessEnv = process.env): { count: number; explicit: boolean } {
  const raw = env.CACHET_WORKERS?.trim();
  if (!raw) return { count: env.NODE_ENV === "production" ? usableCores() : 1, explicit: false };
  if (raw === "auto") return { count: usableCores(), explicit: true };
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1 || count > 256) {
    throw new Error(`CACHET_WORKERS=${raw}: expected a whole number of processes from 1 to 256, or "auto" for one per core.`);
  }
  return { count, explicit: true };
}

/** Forks `count` workers and resolves once all listen; rejects (after stopping them) if one fails to start. */
export async function startWorkers(options: WorkerPoolOptions): Promise<WorkerPool> {
  const live = new Set<Worker>();
  let stopping = false;
  let delayMs = options.restartDelayMs ?? 200;

  const fork = (index: number): Promise<number> => {
    const startedAt = Date.now();
    const worker = cluster.fork({ ...options.env, CACHET_WORKER_INDEX: String(index) });
    live.add(worker);
    return new Promise<number>((resolve, reject) => {
      let failure = "";
      let ready = false;
      worker.on("message", (message: WorkerMessage) => {
        if (message?.cachet === "ready") {
          ready = true;
          resolve(message.port);
        } else if (message?.cachet === "failed") failure = message.message;
      });
      worker.once("exit", (code, signal) => {
        live.delete(worker);
        if (!ready) reject(new Error(failure || `worker ${index} exited with ${code ?? signal} before it listened`));
        if (stopping || !ready) return;
        const young = Date.now() - startedAt < 10_000;
        delayMs = young ? Math.min(delayMs * 2, 5000) : (options.restartDelayMs ?? 200);
        options.log.warn("worker died; restarting it", { worker: index, pid: worker.process.pid ?? 0, exit: String(code ?? signal), restartInMs: delayMs });
        setTimeout(() => {
          if (stopping) return;
          fork(index).then(
            () => options.log.info("worker restarted", { worker: index }),
            (error: Error) => options.log.warn("worker restart failed", { worker: index, error: error.message }),
          );
        }, delayMs).unref();
      });
    });
  };

  const stop = async (timeoutMs = 20_000) => {
    stopping = true;
    const exits = [...live].map((worker) => new Promise<void>((resolve) => (worker.isDead() ? resolve() : worker.once("exit", () => resolve()))));
    for (const worker of live) worker.process.kill("SIGTERM");
    const force = setTimeout(() => live.forEach((worker) => worker.process.kill("SIGKILL")), timeoutMs);
    await Promise.all(exits);
    clearTimeout(force);
  };

  let ports: number[];
  try {
    ports = await Promise.all(Array.from({ length: options.count }, (_, index) => fork(index)));
  } catch (error) {
    await stop(5000);
    throw error;
  }
  return { port: ports[0]!, pids: () => [...live].map((w) => w.process.pid!).filter(Boolean), stop };
}

/** In a worker: tells the primary how starting went. */
export function reportToPrimary(message: WorkerMessage): void {
  process.send?.(message);
}
