/**
 * Origins: where a cache miss is loaded from. A namespace (a key prefix such as `product:`) maps
 * to one origin; the part of the key after the namespace is the id the origin looks up.
 */

export type OriginKind = "sql" | "http";

/** What a load returns: the value, or that the origin has no such id. */
export type LoadResult = { found: true; value: unknown } | { found: false };

/** Per-call options. `signal` aborts the call (the result is then an `OriginAbortedError`). */
export interface OriginCallOptions {
  signal?: AbortSignal;
  /**
   * The caller stops waiting for the call before `signal` aborts (the cache's hard timeout does):
   * an origin may skip racing the signal, and read `signal` only when it has a use for it (it may
   * be made on first read).
   */
  abandonsBeforeAbort?: boolean;
}

export interface ListOptions extends OriginCallOptions {
  /** The cursor of the previous page; `null`/absent for the first page. */
  cursor?: string | null;
  /** Page size, 1..10 000. */
  limit: number;
}

/** One page of a namespace's keys. `cursor` is `null` on the last page. */
export interface ListPage {
  keys: string[];
  cursor: string | null;
}

/**
 * A loader (and optionally a writer) for one namespace. Optional methods exist only when the
 * config enables them (`listQuery`, `writeQuery`/`writeUrl`, `deleteQuery`/`deleteUrl`).
 */
export interface Origin {
  readonly namespace: string;
  readonly kind: OriginKind;
  /** The validated config the origin was built from. */
  readonly config: OriginConfig;
  load(key: string, options?: OriginCallOptions): Promise<LoadResult>;
  /** Loads several keys with bounded concurrency; the map has one entry per distinct key. */
  loadMany?(keys: readonly string[], options?: OriginCallOptions): Promise<Map<string, LoadResult>>;
  /** Every key of the namespace, page by page (for warming). */
  list?(options: ListOptions): Promise<ListPage>;
  write?(key: string, value: unknown, options?: OriginCallOptions): Promise<void>;
  remove?(key: string, options?: OriginCallOptions): Promise<void>;
}

interface CommonOriginConfig {
  /** Key prefix ending in ":" (e.g. "product:"); must not overlap another namespace. */
  namespace: string;
  /** Simulated extra latency per call, so misses are visible in demos (0..60 000 ms). */
  addedLatencyMs?: number;
}

/**
 * A SQL origin. Every query is parameterised: `$1` is the id (the key without the namespace).
 *
 * @example
 * {
 *   "namespace": "product:", "kind": "sql",
 *   "query": "SELECT id, name, price, data FROM products WHERE id = $1",
 *   "listQuery": "SELECT id FROM products WHERE id > $1 ORDER BY id LIMIT $2", "listStart": 0,
 *   "writeQuery": "UPDATE products SET data = $2::jsonb WHERE id = $1 RETURNING id"
 * }
 */
export interface SqlOriginConfig extends CommonOriginConfig {
  kind: "sql";
  /** Name of the database the executor is resolved by; the default database when absent. */
  database?: string;
  /** Load one row: `$1` = id. One column → that column's value; several → the row object. */
  query: string;
  /** Keyset paging: `$1` = the last id of the previous page (`listStart` on the first), `$2` = limit. */
  listQuery?: string;
  /** `$1` of the first list page: a value below every id (0 for serial ids, "" for text ids). Default `null`. */
  listStart?: string | number;
  /** `$1` = id, `$2` = the value (objects and arrays as JSON text). With `RETURNING`, no row is an error. */
  writeQuery?: string;
  /** `$1` = id. */
  deleteQuery?: string;
}

/**
 * An HTTP origin. `{id}` in a URL is replaced by the URL-encoded id.
 *
 * @example
 * { "namespace": "user:", "kind": "http", "url": "https://api.example.com/users/{id}", "timeoutMs": 2000 }
 */
export interface HttpOriginConfig extends CommonOriginConfig {
  kind: "http";
  url: string;
  /** Default GET. */
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  /** Hard deadline per request, headers and body included (default 5000, max 120 000). */
  timeoutMs?: number;
  /** Where `write` sends the value as JSON; enables `write`. */
  writeUrl?: string;
  /** Default PUT. */
  writeMethod?: "PUT" | "POST" | "PATCH";
  /** Enables `remove`. */
  deleteUrl?: string;
  /** Default DELETE. */
  deleteMethod?: "DELETE" | "POST";
  /** Largest response body accepted (default 8 MiB). */
  maxResponseBytes?: number;
}

export type OriginConfig = SqlOriginConfig | HttpOriginConfig;

/** One result row, column name → value, as `pg` and PGlite return it. */
export type Row = Record<string, unknown>;

/** How a statement runs: `readOnly` statements run in a `READ ONLY` transaction, so they cannot write. */
export interface SqlRunOptions {
  readOnly?: boolean;
}

/**
 * Runs one parameterised statement and returns its rows (an empty array for none). With
 * `readOnly`, the statement must run in a transaction started `READ ONLY` (Postgres then refuses
 * any write, `WITH d AS (DELETE ...)` and writing functions included).
 */
export type SqlExecutor = (sql: string, params: unknown[], options?: SqlRunOptions) => Promise<Row[]>;

/** Finds the executor for a database name (`undefined` = the default database). */
export type SqlExecutorResolver = (database: string | undefined) => SqlExecutor | undefined;

/** The IO an origin needs; everything is injected so the core runs without a host. */
export interface OriginDependencies {
  /** Required for sql origins. */
  sql?: SqlExecutorResolver;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** Defaults to a timer; tests may make it instant. Must reject when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}
