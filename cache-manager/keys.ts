/**
 * The key explorer: cursor-paged listing of L2's keys (SCAN, never KEYS) with each key's tiers,
 * TTL, size and tags, and one key's metadata with a bounded preview of its value.
 */
import { api, APIError } from "encore.dev/api";
import { validateKey } from "../lib/validation";
import { canSeeKey, requireKeyAccess, requireRole, type AuthData } from "../lib/auth/access";
import type { KeyInfo } from "./core/explorer";
import { edge } from "./errors";
import { cacheRuntime } from "./runtime";

export const MAX_SCAN_COUNT = 1_000;
const DEFAULT_SCAN_COUNT = 100;
const MAX_MATCH_BYTES = 1024;
/** Bytes of a value's JSON the detail view returns. */
export const PREVIEW_BYTES = 1024;

interface ListKeysParams {
  /** Glob over keys (`*`, `?`, `[a-z]`); a pattern without glob characters is an exact key. Default `*`. */
  match?: string;
  /** From the previous page; omit or "0" to start. */
  cursor?: string;
  /** Keys per page (a hint, as in Redis SCAN): 1 to 1,000, default 100. */
  count?: number;
}

export interface ListedKey {
  key: string;
  tiers: ("l1" | "l2")[];
  /** L2's remaining TTL in ms (L1's when only L1 holds the key); -1 when it has none. */
  ttlMs: number;
  sizeBytes: number;
  tags: string[];
}

export interface KeyPage {
  keys: ListedKey[];
  /** Pass back as `cursor`; "0" when the scan is complete. */
  cursor: string;
  scanned: number;
}

interface KeyParams {
  key: string;
}

export interface KeyDetail extends ListedKey {
  /** The first 1 KiB of the value's JSON. */
  preview: string;
  truncated: boolean;
  /** The value's JSON length in bytes. */
  valueBytes: number;
  /** True for a negative entry (the origin said it has no such key). */
  negative: boolean;
}

/**
 * The match a namespace-limited token scans with: `*` becomes its namespace's `ns*` when it has
 * one namespace (no page of other tenants' keys to filter out); any other match is scanned as
 * given and filtered.
 */
function confineMatch(who: AuthData, match: string): string {
  if (match === "*" && who.namespaces.length === 1) return `${who.namespaces[0].replace(/[*?[\]\\]/g, "\\$&")}*`;
  return match;
}

const toListed = (info: KeyInfo): ListedKey => ({ key: info.key, tiers: info.tiers, ttlMs: info.ttlMs, sizeBytes: info.sizeBytes, tags: info.tags });

/** One page of keys matching `match`, with their tiers, TTL, size and tags. Viewer. */
export const listKeys = api({ method: "GET", path: "/api/keys", expose: true, auth: true }, async (p: ListKeysParams): Promise<KeyPage> =>
  edge(async () => {
    const who = requireRole("viewer");
    const count = p.count ?? DEFAULT_SCAN_COUNT;
    if (!Number.isInteger(count) || count < 1 || count > MAX_SCAN_COUNT) {
      throw APIError.invalidArgument(`"count" must be a whole number from 1 to ${MAX_SCAN_COUNT}`);
    }
    const match = p.match === undefined || p.match === "" ? "*" : p.match;
    if (Buffer.byteLength(match) > MAX_MATCH_BYTES) throw APIError.invalidArgument(`"match" must be at most ${MAX_MATCH_BYTES} bytes`);
    if (p.cursor !== undefined && p.cursor.length > 1024) throw APIError.invalidArgument('"cursor" must be the cursor of the previous page');
    const page = await (await cacheRuntime()).cache.explorer().scanKeys({ match: confineMatch(who, match), cursor: p.cursor, count });
    const visible = page.keys.filter((info) => canSeeKey(who, info.key));
    // How many keys the scan examined would count other namespaces' keys: a limited token is told
    // only how many it was shown.
    return { keys: visible.map(toListed), cursor: page.cursor, scanned: who.namespaces.length === 0 ? page.scanned : visible.length };
  }),
);

/** One key's metadata and the first 1 KiB of its value's JSON; 404 when no tier holds it. Viewer. */
export const keyDetail = api({ method: "GET", path: "/api/keys/:key", expose: true, auth: true }, async ({ key }: KeyParams): Promise<KeyDetail> =>
  edge(async () => {
    validateKey(key);
    requireKeyAccess(requireRole("viewer"), [key]);
    const found = await (await cacheRuntime()).cache.explorer().inspect(key);
    if (!found) throw APIError.notFound(`no tier holds the key "${key}"`);
    const json = Buffer.from(JSON.stringify(found.value) ?? "null", "utf8");
    const truncated = json.length > PREVIEW_BYTES;
    // A cut inside a multi-byte character decodes to U+FFFD; drop it rather than show garbage.
    const preview = truncated
      ? json
          .subarray(0, PREVIEW_BYTES)
          .toString("utf8")
          .replace(/\uFFFD+$/, "")
      : json.toString("utf8");
    return { ...toListed(found), preview, truncated, valueBytes: json.length, negative: found.negative };
  }),
);
