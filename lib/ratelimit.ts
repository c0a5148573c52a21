/**
 * Per-caller rate limiting shared by every process of a deployment: a token bucket per caller
 * kept in Redis and updated by one Lua script, so a burst spread over several instances is counted
 * once. The bucket refills at `rate` tokens per second up to `burst`; a request takes one token.
 *
 * At high rates a round trip per request would cost more than the requests it guards (an L1 hit
 * is microseconds), so an instance takes tokens from the shared bucket in chunks of
 * `rate / 50` and spends them locally for up to `chunkTtlMs`. Every admitted request still comes
 * out of the shared bucket, so the limit holds across instances; what a chunk leaves unspent
 * expires (a little under-admission, never over-admission). At low rates the chunk is one token.
 *
 * The limiter protects the platform, it must not become its single point of failure: when Redis
 * does not answer within `timeoutMs` (down, partitioned, slow) the request is let through
 * ("fail open") and the limiter stays out of the way for `cooldownMs`, so an L2 outage does not
 * add a Redis round trip to every L1 hit.
 *
 * @example
 * const limiter = new RateLimiter({ redis, rate: 50, burst: 100 });
 * const verdict = await limiter.take("ci-token");
 * if (verdict && !verdict.allowed) reply429(Math.ceil(verdict.retryAfterMs / 1000));
 */
import type { Redis } from "ioredis";
import { CodedError } from "./errors";

export class RateLimitConfigError extends CodedError {
  static override code = "E_RATE_LIMIT_CONFIG";
}

export interface RateLimitVerdict {
  allowed: boolean;
  /** When refused: how long until a token is available. 0 when allowed. */
  retryAfterMs: number;
  /** Whole tokens left after this request. */
  remaining: number;
}

export interface RateLimiterOptions {
  redis: Pick<Redis, "eval">;
  /** Tokens added per second (sustained requests per second per caller); > 0. */
  rate: number;
  /** Bucket size: requests a caller may send at once after being idle; ≥ 1. Default 2 × rate. */
  burst?: number;
  /** Key prefix of the buckets. */
  prefix?: string;
  /** How long to wait for Redis before letting the request through. Default 100 ms. */
  timeoutMs?: number;
  /** After a Redis failure or timeout, skip the limiter this long. Default 1 s. */
  cooldownMs?: number;
  /** How long tokens taken in a chunk may be spent locally. Default 1 s. */
  chunkTtlMs?: number;
  /** Milliseconds since the epoch; the Redis server's clock when unset (one clock for all instances). */
  now?: () => number;
}

/**
 * KEYS[1]: the bucket. ARGV: rate (tokens/s), burst, now (ms; empty = the server's TIME), want.
 * Takes up to `want` whole tokens. Returns {tokens granted, retry-after ms, whole tokens left}.
 */
const TAKE_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local want = tonumber(ARGV[4]) or 1
local allowed = 0
local wait = 0
if tokens >= 1 then
  allowed = math.min(want, math.floor(tokens))
  tokens = tokens - allowed
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait, math.floor(tokens)}
`;

export class RateLimiter {
  readonly rate: number;
  readonly burst: number;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly cooldownMs: number;
  private skipUntil = 0;
  private readonly chunk: number;
  private readonly chunkTtlMs: number;
  /**
   * Per caller: tokens taken from the shared bucket and not spent yet, or, after a refusal, when
   * the next token is due (until then refusals are answered here, without Redis).
   */
  private readonly local = new Map<string, { tokens: number; expiresAt: number; blockedUntil: number }>();
  private readonly reserving = new Map<string, Promise<void>>();
  /** Requests let through because Redis did not answer in time. */
  failedOpen = 0;

  constructor(private readonly options: RateLimiterOptions) {
    if (!(options.rate > 0) || !Number.isFinite(options.rate))
      throw new RateLimitConfigError(`rate must be a number of requests per second > 0, got ${options.rate}`);
    this.rate = options.rate;
    this.burst = options.burst ?? Math.max(1, Math.ceil(options.rate * 2));
    if (!(this.burst >= 1) || !Number.isFinite(this.burst)) throw new RateLimitConfigError(`burst must be ≥ 1, got ${options.burst}`);
    this.prefix = options.prefix ?? "cachet:ratelimit:";
    this.timeoutMs = options.timeoutMs ?? 100;
    this.cooldownMs = options.cooldownMs ?? 1_000;
    this.chunk = Math.max(1, Math.min(Math.floor(this.rate / 50), Math.floor(this.burst / 4)));
    this.chunkTtlMs = options.chunkTtlMs ?? 1_000;
  }

  private clock(): number {
    return this.options.now?.() ?? Date.now();
  }

  /**
   * Takes one token from `caller`'s bucket. Returns null when the limiter could not decide
   * (Redis unavailable or slow): the caller should let the request through.
   */
  async take(caller: string): Promise<RateLimitVerdict | null> {
    for (;;) {
      const local = this.takeLocal(caller);
      if (local !== undefined) return local;
      // Concurrent requests share one reservation: each reserving on its own would drain the
      // shared bucket in chunks nobody spends.
      const pending = this.reserving.get(caller);
      if (!pending) break;
      await pending;
    }
    const reservation = this.reserve(caller);
    this.reserving.set(
      caller,
      reservation.then(() => undefined),
    );
    return reservation;
  }

  /**
   * `take` without waiting, for the common case: the verdict when this instance can give it on its
   * own (a token left from the caller's chunk, a refusal still in force, or the fail-open cooldown
   * → null), or undefined when only `take` can decide, because it needs Redis.
   *
   * @example
   * const verdict = limiter.takeLocal(name);
   * const decided = verdict === undefined ? await limiter.take(name) : verdict;
   */
  takeLocal(caller: string): RateLimitVerdict | null | undefined {
    const at = this.clock();
    const held = this.local.get(caller);
    if (held && held.tokens > 0 && held.expiresAt > at) {
      held.tokens -= 1;
      return { allowed: true, retryAfterMs: 0, remaining: held.tokens };
    }
    if (held && held.blockedUntil > at) return { allowed: false, retryAfterMs: Math.ceil(held.blockedUntil - at), remaining: 0 };
    if (Date.now() < this.skipUntil) {
      this.failedOpen++;
      return null;
    }
    return undefined;
  }

  /** Takes a chunk of tokens from the shared bucket: one for this request, the rest kept locally. */
  private async reserve(caller: string): Promise<RateLimitVerdict | null> {
    const at = this.clock();
    const now = this.options.now ? String(Math.floor(this.options.now())) : "";
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), this.timeoutMs)));
    try {
      const script = this.options.redis.eval(TAKE_SCRIPT, 1, this.prefix + caller, this.rate, this.burst, now, this.chunk) as Promise<[number, number, number]>;
      const reply = await Promise.race([script, timeout]);
      if (reply === "timeout") throw new Error("timeout");
      const [granted, retryAfterMs, remaining] = reply.map(Number);
      if (this.local.size > 10_000) this.local.clear(); // bounded: idle callers' leftovers go
      this.local.set(caller, { tokens: Math.max(0, granted - 1), expiresAt: at + this.chunkTtlMs, blockedUntil: granted > 0 ? 0 : at + retryAfterMs });
      return { allowed: granted >= 1, retryAfterMs, remaining };
    } catch {
      this.failedOpen++;
      this.skipUntil = Date.now() + this.cooldownMs;
      return null;
    } finally {
      clearTimeout(timer);
      this.reserving.delete(caller); // before the waiters resume, so one of them may reserve next
    }
  }
}

/** Generous: far above what one dashboard or script sends, low enough to stop a runaway loop. */
export const DEFAULT_RATE = 2_000;
