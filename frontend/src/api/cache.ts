/** cache-manager's API as the dashboard uses it; the types are cache-manager/*.ts's own (`import type` only). */
import type { AuthData } from "../../../cache-manager/auth";
import type { BatchDeleteResponse } from "../../../cache-manager/batch";
import type { CacheEntry as ServiceCacheEntry } from "../../../cache-manager/cache";
import type { KeyDetail as ServiceKeyDetail, KeyPage as ServiceKeyPage, ListedKey as ServiceListedKey } from "../../../cache-manager/keys";
import type { InstanceStats as ServiceInstanceStats } from "../../../cache-manager/stats";
import { api, withQuery } from "./client";
import type { Wire } from "./wire";

export type { Role } from "../../../lib/auth/tokens";
/** `GET /api/auth/whoami` (cache-manager/tokens.ts) answers with the caller's AuthData. */
export type WhoAmI = Wire<AuthData>;
export type ListedKey = Wire<ServiceListedKey>;
export type KeyPage = Wire<ServiceKeyPage>;
export type KeyDetail = Wire<ServiceKeyDetail>;
export type CacheEntry = Wire<ServiceCacheEntry>;
export type InstanceStats = Wire<ServiceInstanceStats>;

export const PAGE_SIZE = 50;

export const paths = {
  whoami: "/api/auth/whoami",
  stats: "/api/stats",
  keys: (match: string, cursor: string, count = PAGE_SIZE) =>
    withQuery("/api/keys", { match: match || "*", cursor: cursor === "0" ? undefined : cursor, count }),
  key: (key: string) => `/api/keys/${encodeURIComponent(key)}`,
  value: (key: string) => `/api/cache/${encodeURIComponent(key)}`,
};

/** Who `token` belongs to, asked before the dashboard keeps it (the sign-in screen). */
export const whoamiWith = (token: string) => api<WhoAmI>(paths.whoami, { token });
export const listKeys = (match: string, cursor: string, count = PAGE_SIZE) => api<KeyPage>(paths.keys(match, cursor, count));
export const keyDetail = (key: string) => api<KeyDetail>(paths.key(key));
export const readValue = (key: string) => api<CacheEntry>(paths.value(key));
export const deleteKeys = (keys: string[]) => api<Wire<BatchDeleteResponse>>("/api/batch/delete", { method: "POST", body: { keys } });
