/** cache-manager's API as the dashboard uses it (shapes from cache-manager/*.ts). */
import { api, withQuery } from "./client";

export type Role = "viewer" | "operator" | "admin";

export interface WhoAmI {
  userID: string;
  role: Role;
  namespaces: string[];
}

export interface ListedKey {
  key: string;
  tiers: ("l1" | "l2")[];
  /** L2's remaining TTL (L1's when only L1 has it); -1: none. */
  ttlMs: number;
  sizeBytes: number;
  tags: string[];
}

export interface KeyPage {
  keys: ListedKey[];
  /** "0" when the scan is complete. */
  cursor: string;
  scanned: number;
}

export interface KeyDetail extends ListedKey {
  preview: string;
  truncated: boolean;
  valueBytes: number;
  negative: boolean;
}

export interface CacheEntry {
  key: string;
  value: unknown;
  source: "l1" | "l2" | "origin";
  stale: boolean;
  fetchTimeMs: number;
  ttlMs: number;
  tags: string[];
}

export interface InstanceStats {
  instanceId: string;
  level: string;
  breaker: string;
  l1: { entries: number; bytes: number; maxEntries: number; maxBytes: number; hits: number; misses: number; evictions: number; expirations: number; policy: string };
  counters: Record<string, unknown>;
  writeBehind: { depth: number; lagMs: number; deadLettered: number } | null;
  coherence: { connected: boolean; gapsDetected: number; lastEntryLatencyMs: number | null };
  l2: Array<{ node: string; usedMemory: number; keys: number; healthy: boolean }>;
  hotKeys: Array<{ key: string; count: number }>;
}

export const PAGE_SIZE = 50;

export const paths = {
  whoami: "/api/auth/whoami",
  stats: "/api/stats",
  keys: (match: string, cursor: string, count = PAGE_SIZE) => withQuery("/api/keys", { match: match || "*", cursor: cursor === "0" ? undefined : cursor, count }),
  key: (key: string) => `/api/keys/${encodeURIComponent(key)}`,
  value: (key: string) => `/api/cache/${encodeURIComponent(key)}`,
};

export const listKeys = (match: string, cursor: string, count = PAGE_SIZE) => api<KeyPage>(paths.keys(match, cursor, count));
export const keyDetail = (key: string) => api<KeyDetail>(paths.key(key));
export const readValue = (key: string) => api<CacheEntry>(paths.value(key));
export const deleteKeys = (keys: string[]) => api<{ deleted: number }>("/api/batch/delete", { method: "POST", body: { keys } });
