/** The invalidation service's API; the types are invalidation/*.ts's own (`import type` only). */
import type { Accepted, KeysRequest, PatternRequest, Preview, TagsRequest } from "../../../invalidation/invalidate";
import type { Invalidation, InvalidationPage as ServiceInvalidationPage, ListRequest, VerifyResult } from "../../../invalidation/trail";
import { api, withQuery } from "./client";
import type { Wire } from "./wire";

export type { InvalidationKind } from "../../../invalidation/core/chain";
export type { RequestStatus as InvalidationStatus } from "../../../invalidation/audit-store";

/**
 * invalidation/invalidate.ts `Accepted`: answered at once (202); the work completes
 * asynchronously. Its `status` is the HTTP status, not a field of the body (see wire.ts).
 */
export type InvalidationAccepted = Wire<Accepted>;
/** invalidation/trail.ts `Invalidation`: one request of the audit trail. */
export type InvalidationRecord = Wire<Invalidation>;
export type InvalidationPage = Wire<ServiceInvalidationPage>;
export type PatternPreview = Wire<Preview>;
export type AuditVerification = Wire<VerifyResult>;
/** The query of `GET /api/invalidations`. */
export type AuditFilter = Wire<ListRequest>;

export const invalidationPaths = {
  preview: (pattern: string, limit?: number) => withQuery("/api/invalidate/preview", { pattern, limit }),
  list: (f: AuditFilter) => withQuery("/api/invalidations", { ...f }),
  one: (id: string) => `/api/invalidations/${encodeURIComponent(id)}`,
  verify: "/api/audit/verify",
};

export const invalidateKeys = (body: Wire<KeysRequest>) => api<InvalidationAccepted>("/api/invalidate", { method: "POST", body });
export const invalidatePattern = (body: Wire<PatternRequest>) => api<InvalidationAccepted>("/api/invalidate/pattern", { method: "POST", body });
export const invalidateTags = (body: Wire<TagsRequest>) => api<InvalidationAccepted>("/api/invalidate/tags", { method: "POST", body });
export const getInvalidation = (id: string) => api<InvalidationRecord>(invalidationPaths.one(id));
export const previewPattern = (pattern: string, limit?: number) => api<PatternPreview>(invalidationPaths.preview(pattern, limit));

export const FINAL_STATUSES: ReadonlySet<string> = new Set(["completed", "failed"]);
