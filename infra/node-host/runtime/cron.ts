/**
 * The cron scheduler behind the host's `encore.dev/cron`.
 *
 * Every host process schedules the cron jobs of its local services (from the manifest) and, at
 * each due time, races the others for a Redis lock on that due time
 * (`SET ${keyPrefix}cron:${id}:${dueEpochMs} NX PX`): only the winner calls the job's endpoint, so
 * each due time runs once across all processes. Due times follow Encore's rules: `every` is a
 * whole number of minutes that divides 24 hours, counted from midnight UTC (the Unix epoch);
 * `schedule` is a 5-field cron expression in UTC.
 *
 * Timers are recomputed from the clock each time they fire, so schedules do not drift. A timer
 * that fires late (the process was paused, the clock jumped) runs the job once, for the latest
 * due time that has passed: missed runs are never replayed more than once. Overlapping runs of a
 * job are not started in the same process; another process may take that due time instead.
 */
import { CronExpressionParser } from "cron-parser";
import { parseDuration } from "../../../lib/duration.ts";
import { CodedError } from "../../../lib/errors.ts";
import type { CronJobManifest } from "../manifest/types.ts";
import { hostState, type HostState } from "./state.ts";

// ---------------------------------------------------------------------------------------------
// Due times
// ---------------------------------------------------------------------------------------------

/** A cron job whose `every` or `schedule` Encore would reject. */
export class CronScheduleError extends CodedError {
  static override code = "E_CRON_SCHEDULE";
}

export interface CronSpec {
  every?: string;
  schedule?: string;
}

/** When a job is due, as Unix epoch milliseconds (UTC). */
export interface CronTiming {
  readonly description: string;
  /** The first due time strictly after `epochMs`. */
  nextAfter(epochMs: number): number;
  /** The last due time at or before `epochMs`. */
  latestAtOrBefore(epochMs: number): number;
}

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/**
 * Validates a job's timing and returns its due-time calculator; throws CronScheduleError with
 * the rule that failed.
 *
 * @example
 *   cronTiming("cleanup", { every: "6h" }).nextAfter(Date.UTC(2025, 0, 1, 7)) // 12:00 UTC
 *   cronTiming("report", { schedule: "0 4 15 * *" })                          // 04:00 UTC on the 15th
 */
export function cronTiming(jobId: string, spec: CronSpec): CronTiming {
  const where = `cron job "${jobId}"`;
  if (spec.every !== undefined && spec.schedule !== undefined) {
    throw new CronScheduleError(`${where}: set either "every" or "schedule", not both`);
  }
  if (spec.every !== undefined) return intervalTiming(where, spec.every);
  if (spec.schedule !== undefined) return scheduleTiming(where, spec.schedule);
  throw new CronScheduleError(`${where}: set "every" (e.g. "1h") or "schedule" (e.g. "0 4 * * *")`);
}

function intervalTiming(where: string, every: string): CronTiming {
  let intervalMs: number;
  try {
    intervalMs = parseDuration(every);
  } catch (err) {
    throw new CronScheduleError(`${where}: every: ${(err as Error).message}`, { cause: err });
  }
  if (intervalMs % MINUTE_MS !== 0) {
    throw new CronScheduleError(`${where}: every must be a whole number of minutes, got "${every}"`);
  }
  if (intervalMs < MINUTE_MS || intervalMs > DAY_MS) {
    throw new CronScheduleError(`${where}: every must be between 1 minute and 24 hours, got "${every}"`);
  }
  if (DAY_MS % intervalMs !== 0) {
    throw new CronScheduleError(`${where}: every must divide 24 hours evenly (e.g. "10m" or "6h", not "7h"), got "${every}"`);
  }
  // The epoch is a UTC midnight and the interval divides a day, so this grid starts at every midnight.
  return {
    description: `every ${every}`,
    nextAfter: (epochMs) => Math.floor(epochMs / intervalMs) * intervalMs + intervalMs,
    latestAtOrBefore: (epochMs) => Math.floor(epochMs / intervalMs) * intervalMs,
  };
}

function scheduleTiming(where: string, schedule: string): CronTiming {
  const fields = schedule.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5) {
    throw new CronScheduleError(
      `${where}: schedule "${schedule}" must have 5 fields (minute hour day-of-month month day-of-week, in UTC), got ${fields.length}`,
    );
  }
  const at = (epochMs: number) => CronExpressionParser.parse(schedule, { currentDate: new Date(epochMs), tz: "UTC" });
  try {
    at(0).next();
  } catch (err) {
    throw new CronScheduleError(`${where}: invalid schedule "${schedule}": ${(err as Error).message}`, { cause: err });
  }
  return {
    description: `schedule "${schedule}"`,
    nextAfter: (epochMs) => at(epochMs).next().getTime(),
    latestAtOrBefore: (epochMs) =>
      at(epochMs + 1)
        .prev()
        .getTime(),
  };
}

// ---------------------------------------------------------------------------------------------
// Registry (filled by the `encore.dev/cron` shim)
// ---------------------------------------------------------------------------------------------

export interface CronJobRegistration {
  id: string;
  title?: string;
  every?: string;
  schedule?: string;
  endpoint: () => Promise<unknown>;
}

const registry = new Map<string, CronJobRegistration>();

/**
 * Records a `new CronJob(...)`, validating its timing so a bad schedule fails when its module
 * loads. The runtime schedules from the manifest; the registry is for the host's diagnostics.
 */
export function registerCronJob(job: CronJobRegistration): void {
  cronTiming(job.id, job);
  registry.set(job.id, job);
}

export function registeredCronJobs(): CronJobRegistration[] {
  return [...registry.values()];
}

// ---------------------------------------------------------------------------------------------
// The runtime
// ---------------------------------------------------------------------------------------------

/** Time and timers, injectable so tests control them. */
export interface CronClock {
  now(): number;
  /** Calls `fn` after `delayMs`. A fake clock may await what `fn` returns. */
  setTimer(fn: () => void | Promise<void>, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: CronClock = {
  now: () => Date.now(),
  setTimer: (fn, delayMs) => setTimeout(fn, delayMs).unref(),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** What the runtime needs from the host: the `HostState` fields it reads. */
export type CronDeps = Pick<HostState, "manifest" | "redis" | "localServices" | "instanceId" | "keyPrefix" | "callEndpoint">;

export interface CronLogger {
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

const consoleLogger: CronLogger = {
  warn: (message, fields) => console.warn(`[cron] ${message}`, fields),
  error: (message, fields) => console.error(`[cron] ${message}`, fields),
};

export interface CronRuntimeOptions {
  /** The host's state; defaults to `hostState()` when `start()` runs. */
  deps?: CronDeps;
  clock?: CronClock;
  /** How long a due time's lock lives (ms); it must outlast the clock skew between hosts. Default 1 hour. */
  lockTtlMs?: number;
  /** How long `stop()` waits for running jobs (ms). Default 10 000. */
  shutdownTimeoutMs?: number;
  logger?: CronLogger;
}

/** Node's timers overflow past 2^31-1 ms; long waits are split and re-checked against the clock. */
const MAX_TIMER_MS = 60 * 60_000;

interface ScheduledJob {
  job: CronJobManifest;
  timing: CronTiming;
  /** The due time the timer is set for. */
  due: number;
  timer?: unknown;
  /** A run of this job is in flight in this process. */
  running: boolean;
}

/**
 * Runs the cron jobs of this process's local services, each due time once across all processes.
 * One instance per host process.
 *
 * @example
 *   const cron = new CronRuntime();
 *   await cron.start();
 *   process.once("SIGTERM", () => void cron.stop());
 */
export class CronRuntime {
  private readonly clock: CronClock;
  private readonly logger: CronLogger;
  private deps: CronDeps | undefined;
  private jobs: ScheduledJob[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private phase: "new" | "running" | "stopped" = "new";

  constructor(private readonly options: CronRuntimeOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? consoleLogger;
  }

  /**
   * Validates every job in the manifest (a bad one throws CronScheduleError on every host alike)
   * and schedules the local ones from now on; due times before `start()` are not run.
   */
  async start(): Promise<void> {
    if (this.phase !== "new") throw new Error(`CronRuntime.start() was already called (the runtime is ${this.phase})`);
    const deps = this.options.deps ?? hostState();
    const timed = deps.manifest.cronJobs.map((job) => ({ job, timing: cronTiming(job.id, job) }));
    this.deps = deps;
    this.phase = "running";
    this.jobs = timed.filter(({ job }) => deps.localServices.has(job.service)).map(({ job, timing }) => ({ job, timing, due: 0, running: false }));
    const now = this.clock.now();
    for (const scheduled of this.jobs) this.scheduleAfter(scheduled, now);
  }

  /** Cancels the timers and waits (up to `shutdownTimeoutMs`) for runs in flight. */
  async stop(): Promise<void> {
    if (this.phase !== "running") {
      this.phase = "stopped";
      return;
    }
    this.phase = "stopped";
    for (const scheduled of this.jobs) {
      if (scheduled.timer !== undefined) this.clock.clearTimer(scheduled.timer);
      scheduled.timer = undefined;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => (timer = setTimeout(resolve, this.options.shutdownTimeoutMs ?? 10_000))),
    ]);
    clearTimeout(timer);
  }

  /** The next due time of each local job (for diagnostics and tests). */
  nextRuns(): Array<{ id: string; due: number }> {
    return this.jobs.map(({ job, due }) => ({ id: job.id, due }));
  }

  private scheduleAfter(scheduled: ScheduledJob, epochMs: number): void {
    scheduled.due = scheduled.timing.nextAfter(epochMs);
    this.arm(scheduled);
  }

  private arm(scheduled: ScheduledJob): void {
    const delay = Math.min(Math.max(scheduled.due - this.clock.now(), 0), MAX_TIMER_MS);
    scheduled.timer = this.clock.setTimer(() => this.onTimer(scheduled), delay);
  }

  private onTimer(scheduled: ScheduledJob): Promise<void> | undefined {
    scheduled.timer = undefined;
    if (this.phase !== "running") return undefined;
    const now = this.clock.now();
    if (now < scheduled.due) {
      this.arm(scheduled);
      return undefined;
    }
    // However late the timer is, run once, for the latest due time that has passed.
    const due = scheduled.timing.latestAtOrBefore(now);
    this.scheduleAfter(scheduled, now);
    const run: Promise<void> = this.runOnce(scheduled, due).finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
    return run;
  }

  /** Calls the job's endpoint if this process wins the due time's lock. Failures are logged, never thrown. */
  private async runOnce(scheduled: ScheduledJob, due: number): Promise<void> {
    const deps = this.deps!;
    const { job } = scheduled;
    const fields = { job: job.id, due: new Date(due).toISOString(), instance: deps.instanceId };
    if (scheduled.running) {
      this.logger.warn("previous run still in progress; leaving this due time to other processes", fields);
      return;
    }
    let won: boolean;
    try {
      const lock = `${deps.keyPrefix}cron:${job.id}:${due}`;
      won = (await deps.redis.set(lock, deps.instanceId, "PX", this.options.lockTtlMs ?? 60 * 60_000, "NX")) === "OK";
    } catch (err) {
      this.logger.warn("could not take the due time's lock; skipping this run", { ...fields, error: (err as Error).message });
      return;
    }
    if (!won) return;
    scheduled.running = true;
    try {
      await deps.callEndpoint(job.endpoint.service, job.endpoint.name, undefined);
    } catch (err) {
      this.logger.error("cron job failed", { ...fields, endpoint: `${job.endpoint.service}.${job.endpoint.name}`, error: (err as Error).message });
    } finally {
      scheduled.running = false;
    }
  }
}
