/**
 * A Keyv store backed by the platform, so `new Keyv({ store: new CachetStore(...) })` and
 * cache-manager v7 (`createCache({ stores: [keyv] })`) cache in Cachet. Keyv serialises values and
 * their expiry itself; the store keeps Keyv's string under `prefix + key` (a platform namespace,
 * which a namespace-limited token may be limited to) with the TTL rounded up to whole seconds.
 * `clear()` is a pattern invalidation of the store's keys (Keyv's namespace included), waited for
 * until every instance applied it.
 *
 * @example
 * const keyv = new Keyv({ store: new CachetStore({ baseUrl, token, prefix: "sessions:" }), namespace: "web" });
 * await keyv.set("user:1", { name: "Ada" }, 60_000);
 */
import { EventEmitter } from "node:events";
import { CachetClient, type CachetClientOptions } from "./client.ts";

export interface CachetStoreOptions extends CachetClientOptions {
  /** Platform key prefix for every key of this store, e.g. `sessions:`; default `keyv:`. */
  prefix?: string;
  /** TTL for values Keyv stores without one; default the platform's maximum, 365 days. */
  defaultTtlSeconds?: number;
  /** An existing client to share (its connection pool and settings). */
  client?: CachetClient;
}

const BATCH = 1_000;
/** Glob metacharacters of Redis patterns, escaped so a prefix matches itself only. */
const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, "\\$&");

export class CachetStore extends EventEmitter {
  /** Set by Keyv; keys arrive already prefixed with it, `clear()` is limited to it. */
  namespace?: string;
  /**
   * Keyv reads `opts.url` and `opts.dialect`, and wires `iterator()` only for dialects on its own
   * list; the platform keeps the keys in Redis, so the store names that dialect.
   */
  readonly opts: CachetStoreOptions & { url: string; dialect: "redis" };
  readonly client: CachetClient;
  private readonly prefix: string;
  private readonly defaultTtlSeconds: number;

  constructor(options: CachetStoreOptions) {
    super();
    this.opts = { ...options, url: options.baseUrl, dialect: "redis" };
    this.client = options.client ?? new CachetClient(options);
    this.prefix = options.prefix ?? "keyv:";
    this.defaultTtlSeconds = options.defaultTtlSeconds ?? 365 * 24 * 3600;
  }

  async get<T>(key: string): Promise<T | undefined> {
    return (await this.client.get(this.prefix + key))?.value as T | undefined;
  }

  async getMany<T>(keys: string[]): Promise<Array<T | undefined>> {
    const values: Array<T | undefined> = [];
    for (let i = 0; i < keys.length; i += BATCH) {
      const entries = await this.client.getMany(keys.slice(i, i + BATCH).map((k) => this.prefix + k));
      for (const entry of entries) values.push(entry.found ? (entry.value as T) : undefined);
    }
    return values;
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    const ttlSeconds = ttl && ttl > 0 ? Math.ceil(ttl / 1000) : this.defaultTtlSeconds;
    return (await this.client.set(this.prefix + key, value, { ttlSeconds })).stored;
  }

  async delete(key: string): Promise<boolean> {
    return this.client.delete(this.prefix + key);
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    let deleted = 0;
    for (let i = 0; i < keys.length; i += BATCH) deleted += await this.client.deleteMany(keys.slice(i, i + BATCH).map((k) => this.prefix + k));
    return deleted > 0;
  }

  async has(key: string): Promise<boolean> {
    return (await this.client.get(this.prefix + key)) !== undefined;
  }

  async clear(): Promise<void> {
    const scope = this.prefix + (this.namespace ? `${this.namespace}:` : "");
    await this.client.invalidatePattern(`${escapeGlob(scope)}*`, { reason: "keyv clear()", wait: true });
  }

  /** Keyv's `iterator()`: the store's keys in its namespace, SCAN-paged, with their values. */
  async *iterator<T>(namespace?: string): AsyncGenerator<[string, T]> {
    const scope = this.prefix + (namespace ? `${namespace}:` : "");
    let cursor: string | undefined = "0";
    do {
      const query = new URLSearchParams({ match: `${escapeGlob(scope)}*`, cursor, count: "500" });
      const page: { keys: { key: string }[]; cursor: string } = await this.client.request("GET", `/api/keys?${query}`);
      const keys = page.keys.map((k) => k.key.slice(this.prefix.length));
      const values = keys.length ? await this.getMany<T>(keys) : [];
      for (let i = 0; i < keys.length; i++) if (values[i] !== undefined) yield [keys[i], values[i] as T];
      cursor = page.cursor === "0" ? undefined : page.cursor;
    } while (cursor);
  }

  async disconnect(): Promise<void> {}
}
