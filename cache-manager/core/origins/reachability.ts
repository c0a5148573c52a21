/**
 * Whether each origin's server answers at all, checked when the cache starts so an operator
 * learns at once that an origin is down or mistyped — a warning, not a refusal: origins may be
 * down for a while, and the cache serves what it holds meanwhile.
 */
import { connectionReason } from "../../../lib/config/dependencies";
import type { OriginEntry } from "./registry";
import type { SqlExecutorResolver } from "./types";

export interface UnreachableOrigin {
  namespace: string;
  /** What was tried: the HTTP server's origin, or the SQL origin's database. */
  target: string;
  reason: string;
}

export interface ReachabilityOptions {
  sql?: SqlExecutorResolver;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** The origins whose server does not answer (any HTTP status counts as an answer; SQL: `SELECT 1`). */
export async function unreachableOrigins(entries: readonly OriginEntry[], options: ReachabilityOptions = {}): Promise<UnreachableOrigin[]> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const doFetch = options.fetch ?? fetch;
  const checks = entries.map(async ({ namespace, config }): Promise<UnreachableOrigin | undefined> => {
    if (config.kind === "http") {
      const target = new URL(config.url.replaceAll("{id}", "x")).origin;
      try {
        await doFetch(target, { method: "HEAD", signal: AbortSignal.timeout(timeoutMs) });
        return undefined;
      } catch (error) {
        return { namespace, target, reason: connectionReason((error as { cause?: unknown }).cause ?? error) };
      }
    }
    const target = `database ${config.database ?? "(default)"}`;
    const executor = options.sql?.(config.database);
    if (!executor) return { namespace, target, reason: "no such database" };
    try {
      await Promise.race([
        executor("SELECT 1", []),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs).unref()),
      ]);
      return undefined;
    } catch (error) {
      return { namespace, target, reason: connectionReason(error) };
    }
  });
  return (await Promise.all(checks)).filter((u): u is UnreachableOrigin => u !== undefined);
}
