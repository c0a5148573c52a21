/**
 * A Node client for the Cachet platform's HTTP API, typed from its OpenAPI document
 * (src/schema.ts). Every call carries the bearer token, has a per-attempt timeout, and is retried
 * with exponential backoff and jitter when the platform answers 429 or 503 (waiting at least what
 * `Retry-After` says) and, for idempotent methods only, when the connection fails. Connections are
 * kept alive by Node's fetch (undici's pool).
 *
 * @example
 * const cachet = new CachetClient({ baseUrl: "http://localhost:4000", token: process.env.CACHET_TOKEN });
 * await cachet.set("product:42", { name: "lamp" }, { ttlSeconds: 60, tags: ["catalog"] });
 * const hit = await cachet.get("product:42");             // { value, source: "l1" | "l2" | "l3" | "origin", ... }
 * await cachet.invalidateTags(["catalog"], { wait: true }); // resolves when every instance applied it
 */
import type { operations } from "./schema.ts";

type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;
type RequestBody<K extends keyof operations> = Json<NonNullable<operations[K]["requestBody"]>>;
type Ok<K extends keyof operations> = Json<operations[K]["responses"][200]>;

export type CacheEntry = Ok<"cache-manager.get">;
export type SetOptions = Omit<RequestBody<"cache-manager.set">, "value">;
export type BatchEntry = RequestBody<"cache-manager.batchSet">["entries"][number];
export type BatchGetEntry = Ok<"cache-manager.batchGet">["entries"][number];
export type InvalidationAccepted = Ok<"invalidation.invalidateKeys">;
export type Invalidation = Ok<"invalidation.get">;
export type WarmingTrigger = RequestBody<"warming.trigger">;

/** Encore's error body, with the HTTP status. */
export class CachetError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = "CachetError";
  }
}

export interface CachetClientOptions {
  /** The platform's base URL, e.g. `http://localhost:4000`. */
  baseUrl: string;
  /** A bearer token (CACHE_ADMIN_TOKEN or one of CACHE_TOKENS). */
  token?: string;
  /** Per-attempt timeout; default 5 s. */
  timeoutMs?: number;
  /** Attempts after the first; default 3. */
  retries?: number;
  /** First backoff; doubled each attempt, with full jitter; default 100 ms. */
  backoffMs?: number;
  /** Longest single wait, whatever Retry-After says; default 10 s. */
  maxDelayMs?: number;
  /** For tests and custom agents. */
  fetch?: typeof fetch;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE"]);
const RETRY_STATUS = new Set([429, 503]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds a Retry-After header asks for (seconds or an HTTP date), or undefined. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export class CachetClient {
  private readonly baseUrl: string;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxDelayMs: number;

  constructor(private readonly options: CachetClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, "");
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.retries = options.retries ?? 3;
    this.backoffMs = options.backoffMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
  }

  /** One API call: JSON in, JSON out, retried as the class comment says; throws CachetError. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      const backoff = Math.min(this.maxDelayMs, Math.random() * this.backoffMs * 2 ** attempt);
      let response: Response;
      try {
        response = await this.fetch(this.baseUrl + path, { method, headers, body: payload, signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (error) {
        if (attempt >= this.retries || !IDEMPOTENT.has(method)) throw error;
        await sleep(backoff);
        continue;
      }
      const text = await response.text();
      if (response.ok) return (text ? JSON.parse(text) : undefined) as T;
      if (RETRY_STATUS.has(response.status) && attempt < this.retries) {
        const asked = retryAfterMs(response.headers.get("retry-after"));
        await sleep(Math.min(this.maxDelayMs, Math.max(backoff, asked ?? 0)));
        continue;
      }
      const error = (text ? safeJson(text) : undefined) as { code?: string; message?: string; details?: unknown } | undefined;
      throw new CachetError(response.status, error?.code ?? "unknown", error?.message ?? (text || response.statusText), error?.details);
    }
  }

  /** Reads through L1 → L2 → origin; undefined when nothing has the key. */
  async get(key: string): Promise<CacheEntry | undefined> {
    try {
      return await this.request<CacheEntry>("GET", `/api/cache/${encodeURIComponent(key)}`);
    } catch (error) {
      if (error instanceof CachetError && error.status === 404) return undefined;
      throw error;
    }
  }

  set(key: string, value: unknown, options: SetOptions = {}): Promise<Ok<"cache-manager.set">> {
    return this.request("PUT", `/api/cache/${encodeURIComponent(key)}`, { ...options, value });
  }

  /** True when the key existed. */
  async delete(key: string): Promise<boolean> {
    return (await this.request<Ok<"cache-manager.remove">>("DELETE", `/api/cache/${encodeURIComponent(key)}`)).deleted;
  }

  /** Up to 1,000 keys per call; entries come back in the order asked. */
  async getMany(keys: string[]): Promise<BatchGetEntry[]> {
    return (await this.request<Ok<"cache-manager.batchGet">>("POST", "/api/batch/get", { keys })).entries;
  }

  async setMany(entries: BatchEntry[]): Promise<number> {
    return (await this.request<Ok<"cache-manager.batchSet">>("POST", "/api/batch/set", { entries })).stored;
  }

  /** How many of the keys existed. */
  async deleteMany(keys: string[]): Promise<number> {
    return (await this.request<Ok<"cache-manager.batchDelete">>("POST", "/api/batch/delete", { keys })).deleted;
  }

  invalidateKeys(keys: string[], options: InvalidateOptions<"invalidation.invalidateKeys"> = {}) {
    return this.invalidate("/api/invalidate", { ...options, keys });
  }

  invalidatePattern(pattern: string, options: InvalidateOptions<"invalidation.invalidatePattern"> = {}) {
    return this.invalidate("/api/invalidate/pattern", { ...options, pattern });
  }

  invalidateTags(tags: string[], options: InvalidateOptions<"invalidation.invalidateTags"> = {}) {
    return this.invalidate("/api/invalidate/tags", { ...options, tags });
  }

  invalidation(id: string): Promise<Invalidation> {
    return this.request("GET", `/api/invalidations/${encodeURIComponent(id)}`);
  }

  /** Polls an invalidation until it completed (or failed: throws); default up to 30 s. */
  async waitForInvalidation(id: string, timeoutMs = 30_000): Promise<Invalidation> {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 5; ; delay = Math.min(delay * 2, 250)) {
      const state = await this.invalidation(id);
      if (state.status === "completed") return state;
      if (state.status === "failed") throw new CachetError(500, "invalidation_failed", state.error ?? "the invalidation failed", state);
      if (Date.now() > deadline) throw new CachetError(504, "deadline_exceeded", `invalidation ${id} still ${state.status} after ${timeoutMs} ms`, state);
      await sleep(delay);
    }
  }

  /** Starts a warming run (a job's, or an ad-hoc list of keys). */
  warm(trigger: WarmingTrigger): Promise<Ok<"warming.trigger">> {
    return this.request("POST", "/api/warming/trigger", trigger);
  }

  private async invalidate(
    path: string,
    body: Record<string, unknown> & { wait?: boolean; waitTimeoutMs?: number },
  ): Promise<InvalidationAccepted | Invalidation> {
    const { wait, waitTimeoutMs, ...request } = body;
    const accepted = await this.request<InvalidationAccepted>("POST", path, request);
    return wait && !accepted.dryRun ? this.waitForInvalidation(accepted.id, waitTimeoutMs) : accepted;
  }
}

/** An invalidation request; `wait` resolves only when it is applied everywhere. */
export type InvalidateOptions<K extends "invalidation.invalidateKeys" | "invalidation.invalidatePattern" | "invalidation.invalidateTags"> = Partial<
  Omit<RequestBody<K>, "keys" | "pattern" | "tags">
> & { wait?: boolean; waitTimeoutMs?: number };

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
