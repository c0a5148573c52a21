/** cache-manager's cache policy API (Settings, admin); the types are cache-manager/policy.ts's own (`import type` only). */
import type { PolicyName as ServicePolicyName } from "../../../cache-manager/core/l1/policies/policy";
import type { AuditedSettings, PolicyAuditEntry as ServiceAuditEntry } from "../../../cache-manager/core/policy/audit";
import type { NamespacePolicyEntry as ServiceNamespacePolicy } from "../../../cache-manager/core/policy/registry";
import type { CachePolicyResponse, PolicyAuditPage, PolicyChangeResponse } from "../../../cache-manager/policy";
import { api, withQuery } from "./client";
import type { Assert, Same, Wire } from "./wire";

/** A copy of core/l1/policies's POLICY_NAMES (the value would pull service code into the bundle); `_Same` fails to compile when they differ. */
export const L1_POLICIES = ["lru", "lfu", "w-tinylfu"] as const;
export type L1PolicyName = (typeof L1_POLICIES)[number];
type _SamePolicies = Assert<Same<L1PolicyName, ServicePolicyName>>;

export type CachePolicy = Wire<CachePolicyResponse>;
export type NamespacePolicy = Wire<ServiceNamespacePolicy>;
export type PolicyAuditEntry = Wire<ServiceAuditEntry>;
export type PolicySettings = Wire<AuditedSettings>;
export type AuditPage = Wire<PolicyAuditPage>;

export const policyPaths = {
  policy: "/api/cache-policy",
  audit: (limit = 10) => withQuery("/api/cache-policy/audit", { limit }),
  namespace: (namespace: string) => `/api/cache-policy/namespaces/${encodeURIComponent(namespace)}`,
};

export const putL1Policy = (l1: { policy: L1PolicyName; maxEntries: number; maxBytes: number }) =>
  api<Wire<PolicyChangeResponse>>("/api/cache-policy/l1", { method: "PUT", body: l1 });
export const resetL1Policy = () => api<Wire<PolicyChangeResponse>>("/api/cache-policy/l1", { method: "DELETE" });
export const putNamespacePolicy = ({ namespace, ...policy }: NamespacePolicy) =>
  api<Wire<PolicyChangeResponse>>(policyPaths.namespace(namespace), { method: "PUT", body: policy });
export const removeNamespacePolicy = (namespace: string) => api<Wire<PolicyChangeResponse>>(policyPaths.namespace(namespace), { method: "DELETE" });
