/**
 * The API gateway and its auth handler: `Authorization: Bearer <token>` → the token's name, role
 * and namespaces. Endpoints check the role they need with `requireRole`, and namespace-limited
 * tokens with `requireKeyAccess`. Lives in cache-manager because Encore requires an auth handler
 * to belong to a service; every service shares it through the gateway.
 */
import { APIError, Gateway, type Header } from "encore.dev/api";
import { authHandler } from "encore.dev/auth";
import { secret } from "encore.dev/config";
import { getAuthData } from "~encore/auth";
import { allowsKey, allowsPattern, roleAtLeast, TokenStore, type Role } from "../lib/auth/tokens";
import { RateLimiter, rateLimitFromEnv, type RateLimitVerdict } from "../lib/ratelimit";
import { connectRedis } from "../lib/redis";
import { redisUrl } from "./config";

/** Bootstrap admin token (`npm start` generates one when unset). */
const adminToken = secret("CACHE_ADMIN_TOKEN");
/** Further tokens: see lib/auth/tokens.ts for the format. */
const tokenConfig = secret("CACHE_TOKENS");

interface AuthParams {
  authorization: Header<"Authorization">;
}

export interface AuthData {
  userID: string;
  role: Role;
  namespaces: string[];
}

let store: { admin: string; config: string; tokens: TokenStore } | undefined;

/**
 * The token store, rebuilt when the secrets change (rotation without a restart). Runs on every
 * request: it compares the secrets as they are now with those the store was built from.
 */
function tokens(): TokenStore {
  const admin = adminToken();
  const config = tokenConfig();
  if (store?.admin !== admin || store.config !== config) store = { admin, config, tokens: TokenStore.fromConfig(admin, config) };
  return store.tokens;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export const auth = authHandler<AuthParams, AuthData>(async (params) => {
  const match = BEARER.exec(params.authorization ?? "");
  if (!match) throw APIError.unauthenticated('the Authorization header must be "Bearer <token>"');
  const principal = tokens().verify(match[1]);
  if (!principal) throw APIError.unauthenticated("unknown or revoked token");
  const limited = enforceRateLimit(principal.name);
  if (limited) await limited;
  return { userID: principal.name, role: principal.role, namespaces: principal.namespaces };
});

let limiter: RateLimiter | null | undefined;

/**
 * Per-token rate limit (lib/ratelimit.ts), shared by every instance through Redis:
 * CACHE_RATE_LIMIT requests per second per token, bursts up to CACHE_RATE_LIMIT_BURST. Refused
 * requests get 429 with `Retry-After`; when Redis cannot answer in time the request goes through.
 */
function rateLimiter(): RateLimiter | null {
  if (limiter === undefined) {
    const config = rateLimitFromEnv();
    // Its own connection without an offline queue: while Redis is down the check fails at once.
    limiter = config && new RateLimiter({ ...config, redis: connectRedis(redisUrl(), { enableOfflineQueue: false }) });
  }
  return limiter;
}

/**
 * Takes one request from the token's rate limit; throws `resource_exhausted` when it is over.
 * Decided without waiting when this instance holds tokens for the caller (the common case);
 * returns a promise only when Redis must be asked.
 */
function enforceRateLimit(tokenName: string): Promise<void> | undefined {
  const limits = rateLimiter();
  if (!limits) return undefined;
  const verdict = limits.takeLocal(tokenName);
  if (verdict === undefined) return limits.take(tokenName).then((decided) => refuseWhenOver(limits, tokenName, decided));
  refuseWhenOver(limits, tokenName, verdict);
  return undefined;
}

function refuseWhenOver(limits: RateLimiter, tokenName: string, verdict: RateLimitVerdict | null): void {
  if (verdict && !verdict.allowed) {
    const retryAfterSeconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
    throw APIError.resourceExhausted(
      `token "${tokenName}" is over its rate limit of ${limits.rate} requests/s (burst ${limits.burst}); retry after ${retryAfterSeconds} s`,
    ).withDetails({ retryAfterSeconds });
  }
}

// Connect when the process starts, so the first requests are counted rather than let through.
rateLimiter();

export const gateway = new Gateway({ authHandler: auth });

/** The caller's auth data; throws `unauthenticated` when there is none. */
export function caller(): AuthData {
  const data = getAuthData();
  if (!data) throw APIError.unauthenticated("missing credentials: send an Authorization: Bearer <token> header");
  return data;
}

/** Throws `permission_denied` unless the caller's role is at least `role`. */
export function requireRole(role: Role): AuthData {
  const data = caller();
  if (!roleAtLeast(data.role, role)) {
    throw APIError.permissionDenied(`this action needs the ${role} role; token "${data.userID}" has ${data.role}`);
  }
  return data;
}

const principalOf = (data: AuthData) => ({ name: data.userID, role: data.role, namespaces: data.namespaces });

/** True when the caller may see `key` (a namespace-limited token only keys in its namespaces): for filtering lists. */
export function canSeeKey(data: AuthData, key: string): boolean {
  return allowsKey(principalOf(data), key);
}

/** True when every key the glob can match is in the caller's namespaces. */
export function canUsePattern(data: AuthData, pattern: string): boolean {
  return allowsPattern(principalOf(data), pattern);
}

/** Throws `permission_denied` unless every key the glob can match is in the caller's namespaces. */
export function requirePatternAccess(data: AuthData, pattern: string): void {
  if (!canUsePattern(data, pattern)) {
    throw APIError.permissionDenied(
      `token "${data.userID}" may only use keys in ${data.namespaces.join(", ")}; start the pattern with one of them (e.g. "${data.namespaces[0]}*")`,
    );
  }
}

/** Throws `permission_denied` when a namespace-limited token reaches outside its namespaces. */
export function requireKeyAccess(data: AuthData, keys: Iterable<string>): void {
  if (data.namespaces.length === 0) return; // every key
  for (const key of keys) {
    if (!allowsKey(principalOf(data), key)) {
      throw APIError.permissionDenied(`token "${data.userID}" may only use keys in ${data.namespaces.join(", ")}; "${key}" is outside them`);
    }
  }
}
