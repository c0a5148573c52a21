/**
 * The cache policy from Settings (admin): the L1 eviction policy and bounds, and per-namespace
 * policies (default TTL, L3 on or off, L3 retention), shared by every instance through Redis
 * (core/policy/registry.ts). Every change is audited with the caller's token, the time, and the
 * settings before and after (core/policy/audit.ts, table `policy_audit`).
 */
import { api, APIError, type Query } from "encore.dev/api";
import log from "encore.dev/log";
import { requireRole } from "../lib/auth/access";
import { encoreSql } from "../lib/sql";
import type { L1Stats } from "./core/l1";
import { MAX_AUDIT_PAGE, PolicyAudit, type PolicyAuditEntry } from "./core/policy/audit";
import type { PolicyChange, PolicyView } from "./core/policy/registry";
import { db } from "./db";
import { edge } from "./errors";
import { cacheRuntime } from "./runtime";

export interface CachePolicyResponse extends PolicyView {
  /** What the answering instance applies now: its id and its L1's policy and bounds. */
  instance: { instanceId: string; l1: Pick<L1Stats, "policy" | "maxEntries" | "maxBytes" | "entries" | "bytes"> };
}

export interface PolicyChangeResponse {
  /** The audit row of the change. */
  change: PolicyAuditEntry;
  policy: CachePolicyResponse;
}

/** The body of `PUT /api/cache-policy/l1`: all three settings (optional here only so a missing one is a 400 naming it). */
interface PutL1Request {
  policy?: string;
  maxEntries?: number;
  maxBytes?: number;
}

/** The body of `PUT /api/cache-policy/namespaces/:namespace`: the namespace's whole policy; what it leaves out falls back to the defaults. */
interface PutNamespaceRequest {
  namespace: string;
  defaultTtlMs?: number;
  l3?: boolean;
  l3RetentionMs?: number;
}

interface NamespaceParams {
  namespace: string;
}

interface AuditRequest {
  /** Rows per page, 1 to 200; default 50. */
  limit?: Query<number>;
  /** The `id` of the last row of the previous page. */
  beforeId?: Query<number>;
}

export interface PolicyAuditPage {
  entries: PolicyAuditEntry[];
}

const audit = new PolicyAudit(encoreSql(db));

async function currentPolicy(): Promise<CachePolicyResponse> {
  const rt = await cacheRuntime();
  const { policy, maxEntries, maxBytes, entries, bytes } = rt.cache.l1Stats();
  return { ...rt.policy.view(), instance: { instanceId: rt.instanceId, l1: { policy, maxEntries, maxBytes, entries, bytes } } };
}

/**
 * Records an applied change. The change is already in effect; if its row cannot be written the
 * caller hears so (503) and the log keeps the whole record, so no change goes unrecorded silently.
 */
async function audited(actor: string, change: PolicyChange): Promise<PolicyChangeResponse> {
  let row: PolicyAuditEntry;
  try {
    row = await audit.record(actor, change);
  } catch (error) {
    log.error("cache policy changed but its audit row could not be written", { actor, ...change, error: String(error) });
    throw APIError.unavailable(`the change was applied (policy version ${change.version}) but its audit row could not be written: ${(error as Error).message}`);
  }
  return { change: row, policy: await currentPolicy() };
}

const definedOnly = (input: Record<string, unknown>) => Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));

/** The cache policy in effect and what the answering instance applies. Admin. */
export const getCachePolicy = api({ method: "GET", path: "/api/cache-policy", expose: true, auth: true }, async (): Promise<CachePolicyResponse> =>
  edge(async () => {
    requireRole("admin");
    await (await cacheRuntime()).policy.refresh();
    return currentPolicy();
  }),
);

/** Sets the L1 eviction policy and bounds of every instance; the entries they hold stay (only what no longer fits is evicted). Admin. */
export const putL1Policy = api(
  { method: "PUT", path: "/api/cache-policy/l1", expose: true, auth: true },
  async (p: PutL1Request): Promise<PolicyChangeResponse> =>
    edge(async () => {
      const who = requireRole("admin");
      const change = await (await cacheRuntime()).policy.setL1({ policy: p.policy, maxEntries: p.maxEntries, maxBytes: p.maxBytes });
      return audited(who.userID, change);
    }),
);

/** Returns every instance to the environment's L1 settings; 404 when they are in effect already. Admin. */
export const resetL1Policy = api({ method: "DELETE", path: "/api/cache-policy/l1", expose: true, auth: true }, async (): Promise<PolicyChangeResponse> =>
  edge(async () => {
    const who = requireRole("admin");
    const change = await (await cacheRuntime()).policy.resetL1();
    if (!change) throw APIError.notFound("the L1 settings already come from the environment (CACHE_L1_POLICY, CACHE_L1_MAX_ENTRIES, CACHE_L1_MAX_BYTES)");
    return audited(who.userID, change);
  }),
);

/** Sets a namespace's policy (default TTL, L3 on or off, L3 retention) on every instance. Admin. */
export const putNamespacePolicy = api(
  { method: "PUT", path: "/api/cache-policy/namespaces/:namespace", expose: true, auth: true },
  async ({ namespace, ...policy }: PutNamespaceRequest): Promise<PolicyChangeResponse> =>
    edge(async () => {
      const who = requireRole("admin");
      const change = await (await cacheRuntime()).policy.setNamespace(namespace, definedOnly({ ...policy }));
      return audited(who.userID, change);
    }),
);

/** Drops a namespace's policy on every instance (its keys use the defaults again); 404 when it has none. Admin. */
export const removeNamespacePolicy = api(
  { method: "DELETE", path: "/api/cache-policy/namespaces/:namespace", expose: true, auth: true },
  async ({ namespace }: NamespaceParams): Promise<PolicyChangeResponse> =>
    edge(async () => {
      const who = requireRole("admin");
      const change = await (await cacheRuntime()).policy.removeNamespace(namespace);
      if (!change) throw APIError.notFound(`the namespace "${namespace}" has no policy of its own`);
      return audited(who.userID, change);
    }),
);

/** The policy changes, newest first. Admin. */
export const listPolicyAudit = api(
  { method: "GET", path: "/api/cache-policy/audit", expose: true, auth: true },
  async ({ limit, beforeId }: AuditRequest): Promise<PolicyAuditPage> =>
    edge(async () => {
      requireRole("admin");
      const size = limit ?? 50;
      if (!Number.isInteger(size) || size < 1 || size > MAX_AUDIT_PAGE) throw APIError.invalidArgument(`limit must be an integer from 1 to ${MAX_AUDIT_PAGE}`);
      if (beforeId !== undefined && (!Number.isSafeInteger(beforeId) || beforeId < 1))
        throw APIError.invalidArgument("beforeId must be a positive integer: the id of a row");
      return { entries: await audit.list(size, beforeId) };
    }),
);
