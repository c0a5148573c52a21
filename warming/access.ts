/** Which jobs a namespace-limited token may touch, and cursor parsing shared by the list endpoints. */
import { APIError } from "encore.dev/api";
import { canSeeKey, type AuthData } from "../lib/auth/access";
import type { JobDefinition } from "./core/spec";

/** The keys that decide a job's access: its namespace, or for a job without one, its explicit keys. */
function accessKeys(job: Pick<JobDefinition, "namespace" | "source">): string[] {
  if (job.namespace) return [job.namespace];
  return job.source.type === "keys" ? (job.source.keys ?? []) : [];
}

/**
 * A token limited to some namespaces may only see and manage jobs (and their runs) inside them:
 * the job's namespace, or for a job without one, every explicit key, must be in the token's
 * namespaces.
 */
export function requireJobAccess(who: AuthData, job: Pick<JobDefinition, "namespace" | "source">): void {
  if (canAccessJob(who, job)) return;
  // The job's own namespace or keys are not named: they may be another tenant's.
  throw APIError.permissionDenied(
    `token "${who.userID}" is limited to ${who.namespaces.join(", ")}: the job's "namespace" (or every key of a job without one) must be in them`,
  );
}

/** `requireJobAccess` as a filter, for lists. */
export function canAccessJob(who: AuthData, job: Pick<JobDefinition, "namespace" | "source">): boolean {
  if (who.namespaces.length === 0) return true;
  const keys = accessKeys(job);
  return keys.length > 0 && keys.every((key) => canSeeKey(who, key));
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
