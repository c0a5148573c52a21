/**
 * What the gateway's auth handler does with a request: `Authorization: Bearer <token>` → the
 * token's name, role and namespaces, after taking one request from the token's rate limit.
 * The Encore declarations (secrets, `authHandler`, `Gateway`) live in cache-manager/auth.ts,
 * because Encore's parser requires them inside a service directory; the logic lives here.
 *
 * Importing this module starts nothing. The rate limiter's Redis connection opens on the first
 * request (or on `startRateLimiter()`), and that request waits until the connection is ready
 * (at most `READY_TIMEOUT_MS`), so the first requests are counted rather than let through.
 */
import { APIError } from "encore.dev/api";
import { RateLimiter, rateLimitFromEnv, type RateLimitVerdict } from "../ratelimit";
import { connectRedis, waitReady } from "../redis";
import type { AuthData } from "./access";
import { TokenStore } from "./tokens";

const BEARER = /^Bearer\s+(\S+)\s*$/i;
/** How long the first request waits for the rate limiter's Redis before it is let through. */
const READY_TIMEOUT_MS = 2_000;

export interface AuthenticatorOptions {
  /** The bootstrap admin token and the CACHE_TOKENS config, read on every request (rotation). */
  secrets: () => { admin: string; tokens: string };
  /** Redis holding the shared rate-limit buckets. */
  redisUrl: () => string;
}

export interface Authenticator {
  /** The caller behind an Authorization header; throws `unauthenticated` / `resource_exhausted`. */
  authenticate(authorization: string | undefined): Promise<AuthData>;
  /** Opens the rate limiter's connection now instead of on the first request. */
  startRateLimiter(): Promise<RateLimiter | null>;
}

/**
 * Per-token rate limit (lib/ratelimit.ts), shared by every instance through Redis:
 * CACHE_RATE_LIMIT requests per second per token, bursts up to CACHE_RATE_LIMIT_BURST. Refused
 * requests get 429 with `Retry-After`; when Redis cannot answer in time the request goes through.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  let store: { admin: string; config: string; tokens: TokenStore } | undefined;
  /** The token store, rebuilt when the secrets change (rotation without a restart). */
  const tokens = (): TokenStore => {
    const { admin, tokens: config } = options.secrets();
    if (store?.admin !== admin || store.config !== config) store = { admin, config, tokens: TokenStore.fromConfig(admin, config) };
    return store.tokens;
  };

  let limiter: RateLimiter | null | undefined;
  let starting: Promise<RateLimiter | null> | undefined;
  const startRateLimiter = (): Promise<RateLimiter | null> =>
    (starting ??= (async () => {
      const config = rateLimitFromEnv();
      if (!config) return (limiter = null);
      // Its own connection without an offline queue: while Redis is down the check fails at once.
      const redis = connectRedis(options.redisUrl(), { enableOfflineQueue: false });
      await waitReady(redis, READY_TIMEOUT_MS);
      return (limiter = new RateLimiter({ ...config, redis }));
    })());

  /**
   * Takes one request from the token's rate limit; throws `resource_exhausted` when it is over.
   * Decided without waiting when this instance holds tokens for the caller (the common case);
   * returns a promise only when Redis must be asked (or the limiter is not started yet).
   */
  const enforceRateLimit = (tokenName: string): Promise<void> | undefined => {
    if (limiter === undefined) return startRateLimiter().then(() => enforceRateLimit(tokenName));
    const limits = limiter;
    if (!limits) return undefined;
    const verdict = limits.takeLocal(tokenName);
    if (verdict === undefined) return limits.take(tokenName).then((decided) => refuseWhenOver(limits, tokenName, decided));
    refuseWhenOver(limits, tokenName, verdict);
    return undefined;
  };

  return {
    async authenticate(authorization) {
      const match = BEARER.exec(authorization ?? "");
      if (!match) throw APIError.unauthenticated('the Authorization header must be "Bearer <token>"');
      const principal = tokens().verify(match[1]);
      if (!principal) throw APIError.unauthenticated("unknown or revoked token");
      const limited = enforceRateLimit(principal.name);
      if (limited) await limited;
      return { userID: principal.name, role: principal.role, namespaces: principal.namespaces };
    },
    startRateLimiter,
  };
}

function refuseWhenOver(limits: RateLimiter, tokenName: string, verdict: RateLimitVerdict | null): void {
  if (verdict && !verdict.allowed) {
    const retryAfterSeconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
    throw APIError.resourceExhausted(
      `token "${tokenName}" is over its rate limit of ${limits.rate} requests/s (burst ${limits.burst}); retry after ${retryAfterSeconds} s`,
    ).withDetails({ retryAfterSeconds });
  }
}
