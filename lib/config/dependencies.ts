/**
 * Start-up checks of the servers a process depends on, with their names: each waits a bounded
 * time (a server may still be starting) and then fails with one line naming the server, its
 * address (password hidden), the variable it came from and the last error, e.g.
 * `cannot reach Redis at redis://127.0.0.1:1 (REDIS_URL): ECONNREFUSED (tried for 10 s)`.
 */
import pg from "pg";
import { Redis } from "ioredis";
import { CodedError } from "../errors";

/** A server the process needs did not answer in time. */
export class DependencyError extends CodedError {
  static override code = "E_DEPENDENCY";
}

/** A URL fit for messages: the password is replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "<unparseable URL>";
  }
}

/** The short reason of a connection error: its code (ECONNREFUSED, ENOTFOUND) or its message. */
export function connectionReason(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code;
  if (Array.isArray((error as { errors?: unknown[] })?.errors)) return connectionReason((error as { errors: unknown[] }).errors[0]);
  return typeof message === "string" && message ? message : String(error);
}

export interface WaitOptions {
  /** The variable the address came from, named in the message. */
  variable: string;
  /** How long to keep trying; default 10 s. */
  timeoutMs?: number;
  /** Pause between attempts; default 250 ms. */
  retryMs?: number;
}

/** Errors that do not go away by waiting: a wrong password, an unknown database. */
const PERMANENT = /WRONGPASS|NOAUTH|NOPERM|password authentication|does not exist|ENOTFOUND/i;

async function waitFor(server: string, url: string, options: WaitOptions, attempt: (timeoutMs: number) => Promise<void>): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt(Math.max(500, Math.min(5_000, deadline - Date.now())));
    } catch (error) {
      const reason = connectionReason(error);
      if (PERMANENT.test(reason) || Date.now() + (options.retryMs ?? 250) >= deadline) {
        const waited = PERMANENT.test(reason) ? "" : ` (tried for ${Math.round(timeoutMs / 1000)} s)`;
        throw new DependencyError(`cannot reach ${server} at ${redactUrl(url)} (${options.variable}): ${reason}${waited}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, options.retryMs ?? 250));
    }
  }
}

/** Resolves once Redis at `url` answers PING; throws DependencyError after the bounded wait. */
export function waitForRedis(url: string, options: WaitOptions): Promise<void> {
  return waitFor("Redis", url, options, async (connectTimeout) => {
    const redis = new Redis(url, { lazyConnect: true, connectTimeout, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    // connect() rejects with "Connection is closed"; the cause (ECONNREFUSED, ENOTFOUND) comes as an event.
    let cause: unknown;
    redis.on("error", (error) => (cause ??= error));
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      throw cause ?? error;
    } finally {
      redis.disconnect();
    }
  });
}

/** Resolves once the PostgreSQL server at `url` accepts a connection; throws DependencyError after the bounded wait. */
export function waitForPostgres(url: string, options: WaitOptions): Promise<void> {
  return waitFor("PostgreSQL", url, options, async (connectionTimeoutMillis) => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis });
    client.on("error", () => undefined);
    try {
      await client.connect();
    } finally {
      await client.end().catch(() => undefined);
    }
  });
}
