/** Which jobs a namespace-limited token may touch, and cursor parsing shared by the list endpoints. */
import { APIError } from "encore.dev/api";
import { requireKeyAccess, type AuthData } from "../lib/auth/access";
import type { JobDefinition } from "./core/spec";

/**
 * A token limited to some namespaces may only manage jobs inside them: the job's namespace, or
 * for a job without one, every explicit key, must be in the token's namespaces.
 */
export function requireJobAccess(who: AuthData, job: Pick<JobDefinition, "namespace" | "source">): void {
  if (who.namespaces.length === 0) return;
  if (job.namespace) return requireKeyAccess(who, [job.namespace]);
  if (job.source.type === "keys" && job.source.keys?.length) return requireKeyAccess(who, job.source.keys);
  throw APIError.permissionDenied(`token "${who.userID}" is limited to ${who.namespaces.join(", ")}: set "namespace" to one of them`);
}

/** A page cursor is the id the previous page ended at. */
export function parseCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined || cursor === "") return undefined;
  if (!/^\d{1,15}$/.test(cursor)) throw APIError.invalidArgument('"cursor" must be the cursor returned by the previous page');
  return Number(cursor);
}

export function parseLimit(limit: number | undefined, fallback: number, max: number): number {
  const value = limit ?? fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) throw APIError.invalidArgument(`"limit" must be a whole number from 1 to ${max}`);
  return value;
}

export function parseId(id: number, what: string): number {
  if (!Number.isSafeInteger(id) || id < 1) throw APIError.invalidArgument(`the ${what} id must be a positive whole number, got ${JSON.stringify(id)}`);
  return id;
}
