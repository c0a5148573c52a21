/**
 * The invalidation service's API (invalidation/*.ts). PROVISIONAL shapes until that service's
 * endpoints exist; re-checked against its source.
 */
import { api, withQuery } from "./client";

export type InvalidationKind = "keys" | "pattern" | "tags";
export type InvalidationStatus = "pending" | "completed" | "failed";

/** invalidation/invalidate.ts `Accepted`: answered at once; the work completes asynchronously. */
export interface InvalidationAccepted {
  id: string;
  state: "pending";
  dryRun: boolean;
  statusUrl: string;
  /** The HTTP status the service would answer with (202). */
  status: number;
}

/** invalidation/trail.ts `Invalidation`. */
export interface InvalidationRecord {
  id: string;
  actor: string;
  kind: InvalidationKind;
  /** `{keys}`, `{pattern}` or `{tags}`. */
  target: Record<string, unknown>;
  reason: string | null;
  dryRun: boolean;
  status: InvalidationStatus;
  requestedAt: string;
  completedAt: string | null;
  matched: number | null;
  deleted: number | null;
  instancesNotified: number | null;
  durationMs: number | null;
  error: string | null;
  seq: number;
}

export interface InvalidationPage {
  items: InvalidationRecord[];
  /** For older requests; null on the last page. */
  nextCursor: string | null;
}

export interface PatternPreview {
  matched: number;
  /** True when the scan finished. */
  exact: boolean;
  scanned: number;
  sample: string[];
  /** When the scan stopped at its limit: the projected total and how it was projected. */
  estimate: { matched: number; method: string } | null;
}

export interface AuditVerification {
  intact: boolean;
  checked: number;
  firstBad: unknown;
}

export interface AuditFilter {
  actor?: string;
  kind?: string;
  status?: string;
  from?: string;
  to?: string;
  cursor?: string;
}

export const invalidationPaths = {
  preview: (pattern: string, limit?: number) => withQuery("/api/invalidate/preview", { pattern, limit }),
  list: (f: AuditFilter) => withQuery("/api/invalidations", { ...f }),
  one: (id: string) => `/api/invalidations/${encodeURIComponent(id)}`,
  verify: "/api/audit/verify",
};

interface Common {
  reason?: string;
  dryRun?: boolean;
}

export const invalidateKeys = (body: Common & { keys: string[] }) => api<InvalidationAccepted>("/api/invalidate", { method: "POST", body });
export const invalidatePattern = (body: Common & { pattern: string; confirm?: boolean }) => api<InvalidationAccepted>("/api/invalidate/pattern", { method: "POST", body });
export const invalidateTags = (body: Common & { tags: string[] }) => api<InvalidationAccepted>("/api/invalidate/tags", { method: "POST", body });
export const getInvalidation = (id: string) => api<InvalidationRecord>(invalidationPaths.one(id));
export const previewPattern = (pattern: string, limit?: number) => api<PatternPreview>(invalidationPaths.preview(pattern, limit));

export const FINAL_STATUSES: ReadonlySet<string> = new Set(["completed", "failed"]);
