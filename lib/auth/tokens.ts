/**
 * Bearer tokens with roles. Tokens are configured from a secret, kept only as SHA-256 digests,
 * and compared in constant time. A token may be limited to key namespaces (`product:`).
 *
 * Configuration (the CACHE_TOKENS secret), a JSON array:
 *   [{"name": "ci", "role": "operator", "token": "s3cret", "namespaces": ["product:"]},
 *    {"name": "grafana", "role": "viewer", "sha256": "<hex digest of the token>"}]
 * or the compact form `name:role[:ns1|ns2]=token` separated by commas or newlines.
 *
 * Configuration that would silently widen access is refused (TokenConfigError): an empty
 * namespace (it would match every key while the token still looks limited), two tokens with one
 * name (the audit log could not tell them apart), a token shorter than MIN_TOKEN_LENGTH.
 * Namespaces are matched by whole segments: `prod` is kept as `prod:`, so it does not reach
 * `production:1`; a namespace already ending in a separator (`:` `/` `.` `#`) is kept as written.
 */
import { createHash, hash, timingSafeEqual } from "node:crypto";
import { CodedError } from "../errors";
import { literalPrefix } from "../glob";
import { listOf } from "../literal-union.ts";

/** A token's role, from least to most powerful. */
export type Role = "viewer" | "operator" | "admin";
export const ROLES = listOf<Role>()("viewer", "operator", "admin");

export interface Principal {
  /** The token's name: the actor recorded in audit logs. */
  name: string;
  role: Role;
  /** Key namespaces the token may touch; empty means all. */
  namespaces: string[];
}

interface StoredToken extends Principal {
  digest: Buffer;
}

export class TokenConfigError extends CodedError {
  static override code = "E_TOKEN_CONFIG";
}

/** The shortest token secret accepted (the generated admin token has 45 characters). */
export const MIN_TOKEN_LENGTH = 16;

/** Characters that end a key segment: a namespace ending in one is matched as written. */
const SEGMENT_END = /[:/.#]$/;

export const sha256 = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/** True when `role` is at least `required` (viewer < operator < admin). */
export function roleAtLeast(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}

/** True when the principal may touch `key` (a namespace-limited token only its prefixes). */
export function allowsKey(principal: Principal, key: string): boolean {
  return principal.namespaces.length === 0 || principal.namespaces.some((ns) => key.startsWith(ns));
}

/** True when every key `pattern` can match is in the principal's namespaces (its literal prefix starts with one). */
export function allowsPattern(principal: Principal, pattern: string): boolean {
  if (principal.namespaces.length === 0) return true;
  const prefix = literalPrefix(pattern);
  return principal.namespaces.some((ns) => prefix.startsWith(ns));
}

function parseRole(value: unknown, where: string): Role {
  if (typeof value === "string" && (ROLES as readonly string[]).includes(value)) return value as Role;
  throw new TokenConfigError(`${where}: role must be one of ${ROLES.join(", ")}, got ${JSON.stringify(value)}`);
}

/** Parses the token configuration; throws TokenConfigError saying which entry is wrong. */
export function parseTokenConfig(text: string): StoredToken[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  if (trimmed.startsWith("[")) {
    let entries: unknown;
    try {
      entries = JSON.parse(trimmed);
    } catch (err) {
      throw new TokenConfigError(`CACHE_TOKENS is not valid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(entries)) throw new TokenConfigError("CACHE_TOKENS must be a JSON array of token entries");
    return checkNames(
      entries.map((entry: Record<string, unknown>, i) => {
        const where = `CACHE_TOKENS[${i}]`;
        if (typeof entry?.name !== "string" || !entry.name) throw new TokenConfigError(`${where}: "name" is required`);
        const digest =
          typeof entry.token === "string" && entry.token
            ? sha256(checkTokenLength(entry.token, where))
            : typeof entry.sha256 === "string" && /^[0-9a-f]{64}$/i.test(entry.sha256)
              ? Buffer.from(entry.sha256, "hex")
              : undefined;
        if (!digest) throw new TokenConfigError(`${where}: give "token" or "sha256" (64 hex characters)`);
        if (entry.namespaces !== undefined && !Array.isArray(entry.namespaces))
          throw new TokenConfigError(`${where}: "namespaces" must be an array of key prefixes`);
        const namespaces = normalizeNamespaces((entry.namespaces as unknown[] | undefined) ?? [], where);
        return { name: entry.name, role: parseRole(entry.role, where), namespaces, digest };
      }),
    );
  }
  return checkNames(
    trimmed
      .split(/[,\n]/)
      .map((s) => s.trim())
      .filter(Boolean)
      .map((item) => {
        const eq = item.indexOf("=");
        const [name, role, ...rest] = item.slice(0, eq).split(":");
        const namespaces = rest.join(":");
        const token = item.slice(eq + 1);
        if (eq < 0 || !name || !token) throw new TokenConfigError(`CACHE_TOKENS entry "${item.slice(0, 40)}" is not name:role[:ns1|ns2]=token`);
        const where = `CACHE_TOKENS entry "${name}"`;
        return {
          name,
          role: parseRole(role, where),
          namespaces: namespaces ? normalizeNamespaces(namespaces.split("|"), where) : [],
          digest: sha256(checkTokenLength(token, where)),
        };
      }),
  );
}

function checkTokenLength(token: string, where: string): string {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new TokenConfigError(`${where}: the token has ${token.length} characters; use at least ${MIN_TOKEN_LENGTH} (e.g. \`openssl rand -base64 24\`)`);
  }
  return token;
}

/** Each namespace non-empty and ending at a segment boundary (`prod` → `prod:`), no repeats. */
function normalizeNamespaces(namespaces: readonly unknown[], where: string): string[] {
  const normalized = namespaces.map((ns) => {
    if (typeof ns !== "string" || ns.trim() === "") {
      throw new TokenConfigError(`${where}: a namespace is empty, which would match every key; omit "namespaces" for a token that reaches all keys`);
    }
    return SEGMENT_END.test(ns) ? ns : `${ns}:`;
  });
  return [...new Set(normalized)];
}

function checkNames<T extends { name: string }>(tokens: T[]): T[] {
  const seen = new Set<string>();
  for (const { name } of tokens) {
    if (seen.has(name)) throw new TokenConfigError(`CACHE_TOKENS: two tokens are named "${name}"; each name must be unique (it is the actor in the audit log)`);
    seen.add(name);
  }
  return tokens;
}

/**
 * Checks the whole token configuration as the process would use it; throws TokenConfigError
 * saying what to fix. For start-up validation: an ambiguous configuration stops the process.
 */
export function validateTokenConfig(adminToken: string, config: string): void {
  TokenStore.fromConfig(adminToken, config);
}

/** How many verified tokens a store remembers (see TokenStore.verify). */
export const VERIFIED_CACHE_SIZE = 256;

/**
 * Looks up a presented token. Every stored digest is compared (in constant time), so the time
 * taken does not depend on which token matched or how much of it did.
 *
 * A store is immutable: rotating the configuration builds a new store. Tokens it has already
 * verified are remembered by digest, never as the token itself (at most VERIFIED_CACHE_SIZE,
 * oldest dropped first), so a caller that sends the same token on every request pays the
 * comparisons once. Only tokens that matched are remembered: an unknown token always takes the
 * full, constant-time path, and a new store (after a rotation) starts empty, so a revoked token
 * is never served from memory.
 */
export class TokenStore {
  private readonly tokens: StoredToken[];
  private readonly verified = new Map<string, Principal>();

  constructor(tokens: StoredToken[]) {
    this.tokens = tokens;
  }

  static fromConfig(adminToken: string, config: string): TokenStore {
    const tokens = parseTokenConfig(config);
    if (adminToken) checkTokenLength(adminToken, "CACHE_ADMIN_TOKEN");
    if (adminToken && tokens.some((token) => token.name === "admin")) {
      throw new TokenConfigError('CACHE_TOKENS: the name "admin" is taken by CACHE_ADMIN_TOKEN; name this token otherwise');
    }
    if (adminToken) tokens.unshift({ name: "admin", role: "admin", namespaces: [], digest: sha256(adminToken) });
    return new TokenStore(tokens);
  }

  /** The token's principal (frozen, shared between calls), or null for an unknown token. */
  verify(presented: string): Principal | null {
    // Remembered by digest, so memory holds no usable token; one-shot hashing costs ~0.3 µs.
    const digestKey = hash("sha256", presented, "base64");
    const remembered = this.verified.get(digestKey);
    if (remembered) return remembered;
    const digest = Buffer.from(digestKey, "base64");
    let found: StoredToken | null = null;
    for (const token of this.tokens) {
      if (timingSafeEqual(token.digest, digest) && !found) found = token;
    }
    if (!found) return null;
    const principal: Principal = Object.freeze({ name: found.name, role: found.role, namespaces: Object.freeze([...found.namespaces]) as string[] });
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(digestKey, principal);
    return principal;
  }
}
