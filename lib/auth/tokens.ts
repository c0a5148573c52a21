/**
 * Bearer tokens with roles. Tokens are configured from a secret, kept only as SHA-256 digests,
 * and compared in constant time. A token may be limited to key namespaces (`product:`).
 *
 * Configuration (the CACHE_TOKENS secret), a JSON array:
 *   [{"name": "ci", "role": "operator", "token": "s3cret", "namespaces": ["product:"]},
 *    {"name": "grafana", "role": "viewer", "sha256": "<hex digest of the token>"}]
 * or the compact form `name:role[:ns1|ns2]=token` separated by commas or newlines.
 */
import { createHash, hash, timingSafeEqual } from "node:crypto";
import { CodedError } from "../errors";
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

export const sha256 = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/** True when `role` is at least `required` (viewer < operator < admin). */
export function roleAtLeast(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}

/** True when the principal may touch `key` (a namespace-limited token only its prefixes). */
export function allowsKey(principal: Principal, key: string): boolean {
  return principal.namespaces.length === 0 || principal.namespaces.some((ns) => key.startsWith(ns));
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
    return (entries as Array<Record<string, unknown>>).map((entry, i) => {
      const where = `CACHE_TOKENS[${i}]`;
      if (typeof entry?.name !== "string" || !entry.name) throw new TokenConfigError(`${where}: "name" is required`);
      const digest =
        typeof entry.token === "string" && entry.token
          ? sha256(entry.token)
          : typeof entry.sha256 === "string" && /^[0-9a-f]{64}$/i.test(entry.sha256)
            ? Buffer.from(entry.sha256, "hex")
            : undefined;
      if (!digest) throw new TokenConfigError(`${where}: give "token" or "sha256" (64 hex characters)`);
      const namespaces = Array.isArray(entry.namespaces) ? entry.namespaces.map(String) : [];
      return { name: entry.name, role: parseRole(entry.role, where), namespaces, digest };
    });
  }
  return trimmed
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const eq = item.indexOf("=");
      const [name, role, ...rest] = item.slice(0, eq).split(":");
      const namespaces = rest.join(":");
      const token = item.slice(eq + 1);
      if (eq < 0 || !name || !token) throw new TokenConfigError(`CACHE_TOKENS entry "${item.slice(0, 40)}" is not name:role[:ns1|ns2]=token`);
      return { name, role: parseRole(role, `CACHE_TOKENS entry "${name}"`), namespaces: namespaces ? namespaces.split("|") : [], digest: sha256(token) };
    });
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
