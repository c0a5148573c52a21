/**
 * The cache's data plane. (First version: reads and writes the L2 tier directly; the tiered
 * read-through cache replaces the internals, not the contract.)
 */
import { api, APIError } from "encore.dev/api";
import { requireKeyAccess, requireRole } from "./auth";
import { redis } from "./config";

const KEY_PREFIX = "cachet:v:";
const MAX_KEY_BYTES = 1024;

export interface CacheEntry {
  key: string;
  value: unknown;
  source: "l1" | "l2" | "origin";
  fetchTimeMs: number;
  ttlMs: number | null;
  tags: string[];
}

interface KeyParams {
  key: string;
}

interface SetParams {
  key: string;
  value: unknown;
  ttlSeconds?: number;
  tags?: string[];
}

function checkKey(key: string): void {
  if (key.length === 0) throw APIError.invalidArgument("key must not be empty");
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw APIError.invalidArgument(`key is longer than ${MAX_KEY_BYTES} bytes`);
}

export const get = api({ method: "GET", path: "/api/cache/:key", expose: true, auth: true }, async ({ key }: KeyParams): Promise<CacheEntry> => {
  checkKey(key);
  requireKeyAccess(requireRole("viewer"), [key]);
  const started = performance.now();
  const [[, raw], [, ttl]] = (await redis().multi().get(KEY_PREFIX + key).pttl(KEY_PREFIX + key).exec()) as [[null, string | null], [null, number]];
  if (raw === null) throw APIError.notFound(`key "${key}" is not cached`);
  const { value, tags } = JSON.parse(raw) as { value: unknown; tags: string[] };
  return { key, value, source: "l2", fetchTimeMs: performance.now() - started, ttlMs: ttl >= 0 ? ttl : null, tags };
});

export const set = api({ method: "PUT", path: "/api/cache/:key", expose: true, auth: true }, async (params: SetParams): Promise<{ key: string; stored: boolean }> => {
  checkKey(params.key);
  requireKeyAccess(requireRole("operator"), [params.key]);
  if (params.value === undefined) throw APIError.invalidArgument("value is required");
  if (params.ttlSeconds !== undefined && !(params.ttlSeconds > 0)) throw APIError.invalidArgument("ttlSeconds must be a positive number");
  const payload = JSON.stringify({ value: params.value, tags: params.tags ?? [] });
  if (params.ttlSeconds) await redis().set(KEY_PREFIX + params.key, payload, "PX", Math.round(params.ttlSeconds * 1000));
  else await redis().set(KEY_PREFIX + params.key, payload);
  return { key: params.key, stored: true };
});

export const remove = api({ method: "DELETE", path: "/api/cache/:key", expose: true, auth: true }, async ({ key }: KeyParams): Promise<{ key: string; deleted: boolean }> => {
  checkKey(key);
  requireKeyAccess(requireRole("operator"), [key]);
  return { key, deleted: (await redis().unlink(KEY_PREFIX + key)) > 0 };
});
