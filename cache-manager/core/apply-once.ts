/**
 * Runs a request's work at most once per request id across deliveries and processes, and hands
 * every delivery the first recorded outcome.
 *
 * Why: Pub/Sub delivers at least once, and a delivery that outlives its ack deadline is retried
 * while the first is still running. A pattern invalidation run twice is not harmless: the late run
 * deletes values written after the first run's outcome was recorded (and acknowledged to the
 * client). So a run holds a lease in Redis (`SET NX PX`, renewed while it runs); a delivery that
 * finds the lease held waits for the outcome instead of running; a delivery that finds an outcome
 * returns it. If the holder dies, its lease lapses and the next delivery runs the work: it was
 * never completed, so running it is the at-least-once promise, not a repeat.
 *
 * @example
 * const { outcome } = await applyOnce(redis, { outcomeKey: `inv:${id}:outcome`, leaseKey: `inv:${id}:running` }, () => deleteMatching(pattern));
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { runScript } from "../../lib/redis.ts";
import { CodedError } from "../../lib/errors.ts";

/** Another delivery is running the same request and did not finish within `waitMs`: retry later. */
export class RequestInProgressError extends CodedError {
  static override code = "E_REQUEST_IN_PROGRESS";
}

export interface ApplyOnceOptions {
  /** Where the outcome is remembered. */
  outcomeKey: string;
  /** The lease of the delivery running the request. */
  leaseKey: string;
  /** How long an outcome is remembered; default 7 days. */
  outcomeTtlMs?: number;
  /** Lease lifetime without renewal (renewed every third of it); default 10 s. */
  leaseMs?: number;
  /** How long a delivery finding the lease held waits for the outcome before throwing; default 20 s. */
  waitMs?: number;
  /** Poll interval while waiting; default 100 ms. */
  pollMs?: number;
}

/** KEYS[1] lease; ARGV[1] token, ARGV[2] ms. Extends the lease only if we still hold it. */
const RENEW_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
/** KEYS[1] lease; ARGV[1] token. Releases the lease only if we still hold it. */
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The outcome of `run` for `options.outcomeKey`: the recorded one when some delivery finished it, else
 * `run`'s, recorded first. Throws `RequestInProgressError` when another delivery holds the
 * request past `waitMs` (the caller's retry finds its outcome later).
 */
export async function applyOnce<T>(redis: Redis, options: ApplyOnceOptions, run: () => Promise<T>): Promise<{ outcome: T; ran: boolean }> {
  const { outcomeKey, leaseKey } = options;
  const leaseMs = options.leaseMs ?? 10_000;
  const recorded = async (): Promise<T | null> => {
    const stored = await redis.get(outcomeKey);
    return stored === null ? null : (JSON.parse(stored) as T);
  };

  const deadline = Date.now() + (options.waitMs ?? 20_000);
  const token = randomUUID();
  for (;;) {
    const done = await recorded();
    if (done !== null) return { outcome: done, ran: false };
    if ((await redis.set(leaseKey, token, "PX", leaseMs, "NX")) === "OK") break;
    if (Date.now() >= deadline) throw new RequestInProgressError(`${outcomeKey}: the request is being applied by another delivery; retry later`);
    await sleep(options.pollMs ?? 100);
  }

  const renew = setInterval(
    () => void runScript(redis, RENEW_SCRIPT, [leaseKey], [token, leaseMs]).catch(() => undefined),
    Math.max(1, Math.floor(leaseMs / 3)),
  );
  try {
    // The holder before us may have recorded its outcome between our check and our lease.
    const done = await recorded();
    if (done !== null) return { outcome: done, ran: false };
    const outcome = await run();
    // Two runs can only overlap if a lease lapsed (renewals failing): the first outcome stands.
    const first = await redis.set(outcomeKey, JSON.stringify(outcome), "PX", options.outcomeTtlMs ?? 7 * 24 * 3600_000, "NX");
    return first === "OK" ? { outcome, ran: true } : { outcome: (await recorded()) ?? outcome, ran: true };
  } finally {
    clearInterval(renew);
    await runScript(redis, RELEASE_SCRIPT, [leaseKey], [token]).catch(() => undefined);
  }
}
