/**
 * The Node host's SQL engine behind `encore.dev/storage/sqldb`.
 *
 * Every Encore database (`new SQLDatabase(name, …)`) gets its own PostgreSQL database:
 * - `DATABASE_URL` set (a `postgres://` server URL): a database named `<prefix><name>` on that
 *   server, created when missing, used through a `pg` Pool;
 * - unset: an embedded PGlite instance (real Postgres compiled to WASM) per database, stored under
 *   `<appRoot>/.cachet/pglite/<name>` (`CACHET_PGLITE_DIR` moves it; `memory://` keeps it in memory).
 *
 * Both sit behind one small executor interface (`SqlEngine` / `SqlSession`) so the shim, the
 * migrator and the tests do not care which one runs. Values come back the way Encore's runtime
 * returns them (int8 as number, date as `YYYY-MM-DD`, timestamps as `Date`, bytea as `Buffer`).
 *
 * Migrations (`N_name.up.sql`, Encore's format) run in version order, each in a transaction,
 * under a Postgres advisory lock, and are recorded in `cachet_migrations` (version, name,
 * checksum, applied_at) next to Encore's own `schema_migrations(version, dirty)`, which is kept
 * up to date so Encore can take the database over later.
 *
 * Sections, top-down: errors · value conversion · executors (pg, PGlite) · migrations ·
 * declared databases · `DatabaseRuntime` · the process-wide runtime.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { PGlite } from "@electric-sql/pglite";
import type { DatabaseManifest } from "../manifest/types.ts";
import { hostState } from "./state.ts";

// ─── Errors ─────────────────────────────────────────────────────────────────────────────────────

/** Base class of every error this module throws; `code` is stable, the message says what to do. */
export class SQLDatabaseError extends Error {
  static code = "E_SQL";
  readonly code: string = (this.constructor as typeof SQLDatabaseError).code;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad configuration: DATABASE_URL, a database name, a migrations directory or file name. */
export class SQLConfigError extends SQLDatabaseError {
  static override code = "E_SQL_CONFIG";
}

/** The server could not be reached, or the connection broke. */
export class SQLConnectionError extends SQLDatabaseError {
  static override code = "E_SQL_CONNECTION";
}

/** No connection became free in time (pool exhausted, or PGlite held by a transaction). */
export class SQLTimeoutError extends SQLDatabaseError {
  static override code = "E_SQL_TIMEOUT";
}

/** A transaction or connection was used after it ended, or its commit turned into a rollback. */
export class SQLTransactionError extends SQLDatabaseError {
  static override code = "E_SQL_TRANSACTION";
}

/** A migration could not be read or applied, or an applied one was edited afterwards. */
export class SQLMigrationError extends SQLDatabaseError {
  static override code = "E_SQL_MIGRATION";
  constructor(
    message: string,
    readonly database: string,
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The fields Postgres reports with an error (pg's and PGlite's `DatabaseError` both have them). */
interface PostgresErrorFields {
  message: string;
  code: string;
  severity?: string;
  detail?: string;
  hint?: string;
  position?: string;
  schema?: string;
  table?: string;
  column?: string;
  constraint?: string;
}

/** Names for the SQLSTATEs an app most often branches on; others fall back to their class. */
const SQLSTATE_KINDS: Record<string, string> = {
  "23505": "unique_violation",
  "23503": "foreign_key_violation",
  "23502": "not_null_violation",
  "23514": "check_violation",
  "23P01": "exclusion_violation",
  "40001": "serialization_failure",
  "40P01": "deadlock_detected",
  "42P01": "undefined_table",
  "42703": "undefined_column",
  "42601": "syntax_error",
  "42501": "insufficient_privilege",
  "22P02": "invalid_text_representation",
  "22001": "string_data_right_truncation",
  "22003": "numeric_value_out_of_range",
  "57014": "query_canceled",
  "55P03": "lock_not_available",
  "53300": "too_many_connections",
};
const SQLSTATE_CLASSES: Record<string, string> = {
  "08": "connection_exception",
  "22": "data_exception",
  "23": "integrity_constraint_violation",
  "25": "invalid_transaction_state",
  "40": "transaction_rollback",
  "42": "syntax_error_or_access_rule_violation",
  "53": "insufficient_resources",
  "57": "operator_intervention",
};

/** The server rejected a statement. `sqlState` is the SQLSTATE, `kind` its readable name. */
export class SQLQueryError extends SQLDatabaseError {
  static override code = "E_SQL_QUERY";
  readonly sqlState: string;
  readonly kind: string;
  readonly database: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly constraint?: string;
  readonly table?: string;
  readonly column?: string;
  /** 1-based character offset of the error in the statement, when Postgres reports one. */
  readonly position?: number;

  constructor(source: PostgresErrorFields, database: string) {
    const kind = SQLSTATE_KINDS[source.code] ?? SQLSTATE_CLASSES[source.code.slice(0, 2)] ?? "error";
    const detail = source.detail ? `: ${source.detail}` : "";
    super(`${source.message}${detail} [${source.code} ${kind}, database "${database}"]`, { cause: source });
    this.sqlState = source.code;
    this.kind = kind;
    this.database = database;
    this.detail = source.detail;
    this.hint = source.hint;
    this.constraint = source.constraint;
    this.table = source.table;
    this.column = source.column;
    this.position = source.position ? Number(source.position) : undefined;
  }
}

function isPostgresError(error: unknown): error is PostgresErrorFields {
  const e = error as Partial<PostgresErrorFields> | null;
  return typeof e === "object" && e !== null && typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code) && "severity" in e;
}

const CONNECTION_ERROR_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH"]);

function isConnectionFailure(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (typeof e !== "object" || e === null) return false;
  if (typeof e.code === "string" && CONNECTION_ERROR_CODES.has(e.code)) return true;
  return typeof e.message === "string" && /Connection terminated|connection error|Client was closed/i.test(e.message);
}

/** Wraps a driver error into this module's typed errors, keeping the original as `cause`. */
export function toSQLError(error: unknown, database: string): SQLDatabaseError {
  if (error instanceof SQLDatabaseError) return error;
  if (isPostgresError(error)) return new SQLQueryError(error, database);
  const message = error instanceof Error ? error.message : String(error);
  if (isConnectionFailure(error)) {
    return new SQLConnectionError(`Lost or could not open the connection to database "${database}": ${message}`, { cause: error });
  }
  return new SQLDatabaseError(`Query on database "${database}" failed: ${message}`, { cause: error });
}

/** A URL fit for messages: the password is replaced by `***`. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<unparseable URL>";
  }
}

// ─── Value conversion ───────────────────────────────────────────────────────────────────────────

type TextParser = (value: string) => unknown;

/** `[1,["2"]]` → `[1,[2]]`: applies `fn` to every leaf of a parsed Postgres array. */
function mapArray(value: unknown, fn: (leaf: unknown) => unknown): unknown {
  return Array.isArray(value) ? value.map((v) => mapArray(v, fn)) : value === null ? null : fn(value);
}

/** `timestamp` (no zone) read as UTC, as Encore does; pg would read it in the local zone. */
function parseTimestampAsUtc(value: string): unknown {
  const date = new Date(`${value.replace(" ", "T")}Z`);
  return Number.isNaN(date.getTime()) ? pgTypesParser(1114)(value) : date;
}

/** pg-types' own text parser for `oid` (takes any oid, unlike its enum-typed signature). */
function pgTypesParser(oid: number): TextParser {
  return pg.types.getTypeParser(oid, "text") as TextParser;
}

const textArray = pgTypesParser(1009);

/**
 * Where Encore's runtime and node-postgres disagree, Encore wins: int8 is a JS number (like
 * Encore, precision is lost beyond 2^53), `date` stays a `YYYY-MM-DD` string, and `timestamp`
 * is UTC. Everything else uses pg-types' parsers, for pg and PGlite alike. (`numeric` stays a
 * string here; Encore returns its own `Decimal`, which the host does not provide.)
 */
const PARSER_OVERRIDES: Record<number, TextParser> = {
  20: (v) => Number(v),
  1016: (v) => mapArray(textArray(v), (leaf) => Number(leaf)),
  1082: (v) => v,
  1182: (v) => textArray(v),
  1114: parseTimestampAsUtc,
  1115: (v) => mapArray(textArray(v), (leaf) => parseTimestampAsUtc(String(leaf))),
  1700: (v) => v,
};

/** The types pg-types knows (see pg-types/lib/textParsers.js), handed to PGlite as well. */
const PG_TYPES_OIDS = [
  16, 17, 20, 21, 23, 26, 114, 199, 600, 651, 700, 701, 718, 791, 1000, 1001, 1005, 1007, 1008, 1009, 1014, 1015,
  1016, 1017, 1021, 1022, 1028, 1040, 1041, 1082, 1114, 1115, 1182, 1183, 1184, 1185, 1186, 1187, 1231, 1270, 1700,
  2951, 3802, 3807, 3907,
];

function textParser(oid: number): TextParser {
  return PARSER_OVERRIDES[oid] ?? pgTypesParser(oid);
}

/** Type parsing for a pg Pool: the overrides, then pg-types (binary results are never requested). */
const pgTypeConfig: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    format === "binary" ? pg.types.getTypeParser(oid, "binary") : textParser(oid)) as pg.CustomTypesConfig["getTypeParser"],
};

/** The same parsers as a PGlite `parsers` table. */
const pgliteParsers: Record<number, TextParser> = Object.fromEntries(PG_TYPES_OIDS.map((oid) => [oid, textParser(oid)]));

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Turns a query argument into what both drivers send the same way: `undefined` → NULL, bigint →
 * its decimal string, Date → ISO-8601 (zone-independent), objects and arrays of objects → JSON
 * (pg would send an array of objects as a Postgres array literal, which a json column rejects).
 */
export function toDriverValue(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) {
    if (value.some(isPlainObject)) return JSON.stringify(value);
    return value.map((v) => (typeof v === "bigint" ? v.toString() : v instanceof Date ? v.toISOString() : v));
  }
  if (isPlainObject(value)) return JSON.stringify(value);
  return value;
}

// ─── Executors ──────────────────────────────────────────────────────────────────────────────────

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Row = Record<string, any>;

export interface QueryResult<T extends Row = Row> {
  rows: T[];
  /** The command tag's verb: `SELECT`, `INSERT`, `COMMIT`, or `ROLLBACK` for a failed commit. */
  command: string;
  rowCount: number;
}

/** Runs single statements with `$n` parameters (extended protocol, as Encore's runtime does). */
export interface SqlExecutor {
  query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
}

/** One dedicated connection: what transactions, `acquire()` and migrations run on. */
export interface SqlSession extends SqlExecutor {
  /** Runs a script of several statements without parameters (simple protocol): migrations. */
  script(text: string): Promise<void>;
  /**
   * Hands the connection back; an open transaction is rolled back first. `broken` discards the
   * connection instead of reusing it (after a failure whose effect on it is unknown).
   */
  release(broken?: boolean): Promise<void>;
}

/** One Encore database, opened. */
export interface SqlEngine extends SqlExecutor {
  readonly kind: "postgres" | "pglite";
  /** A dedicated connection; waits at most the acquire timeout for one to be free. */
  acquire(): Promise<SqlSession>;
  close(): Promise<void>;
}

function extendedQuery(text: string, params: readonly unknown[] | undefined): pg.QueryConfig {
  // `queryMode: "extended"` makes pg use Parse/Bind even without parameters, as Encore always
  // does, so a multi-statement string fails here exactly as it would under Encore.
  const config: pg.QueryConfig & { queryMode: "extended" } = {
    text,
    values: (params ?? []).map(toDriverValue),
    queryMode: "extended",
  };
  return config;
}

function toResult<T extends Row>(result: { rows: T[]; command?: string | null; rowCount?: number | null }): QueryResult<T> {
  return { rows: result.rows, command: result.command ?? "", rowCount: result.rowCount ?? result.rows.length };
}

class PgSession implements SqlSession {
  private released = false;
  private lostConnection: Error | undefined;
  private readonly onError = (error: Error) => {
    // A checked-out pg client emits "error" when its connection drops; without a listener that
    // would crash the process. Remember it: the next query reports it.
    this.lostConnection = error;
  };

  constructor(
    private readonly client: pg.PoolClient,
    private readonly database: string,
  ) {
    client.on("error", this.onError);
  }

  async query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
    this.assertUsable();
    try {
      return toResult(await this.client.query<T>(extendedQuery(text, params)));
    } catch (error) {
      throw toSQLError(error, this.database);
    }
  }

  async script(text: string): Promise<void> {
    this.assertUsable();
    try {
      await this.client.query(text);
    } catch (error) {
      throw toSQLError(error, this.database);
    }
  }

  async release(broken = false): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.client.off("error", this.onError);
    // pg tracks the server's transaction status from ReadyForQuery ('I' idle, 'T' in a
    // transaction, 'E' failed transaction). It is not public API, hence the defensive read: a
    // client left inside a transaction is destroyed rather than handed to the next caller.
    const txStatus = (this.client as unknown as { _txStatus?: string })._txStatus;
    const dirty = broken || this.lostConnection !== undefined || txStatus === "T" || txStatus === "E";
    this.client.release(dirty ? new Error("discarded by the Node host") : undefined);
  }

  private assertUsable(): void {
    if (this.released) throw new SQLTransactionError(`This connection to database "${this.database}" was already released.`);
    if (this.lostConnection) throw toSQLError(this.lostConnection, this.database);
  }
}

/** Postgres server engine: a pg Pool on the database `<prefix><name>`. */
class PostgresEngine implements SqlEngine {
  readonly kind = "postgres";

  constructor(
    private readonly pool: pg.Pool,
    private readonly database: string,
  ) {}

  async query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
    try {
      return toResult(await this.pool.query<T>(extendedQuery(text, params)));
    } catch (error) {
      throw this.wrapPoolError(error);
    }
  }

  async acquire(): Promise<SqlSession> {
    try {
      return new PgSession(await this.pool.connect(), this.database);
    } catch (error) {
      throw this.wrapPoolError(error);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private wrapPoolError(error: unknown): SQLDatabaseError {
    if (error instanceof Error && /timeout exceeded when trying to connect/i.test(error.message)) {
      return new SQLTimeoutError(
        `No connection to database "${this.database}" became free within ${this.pool.options.connectionTimeoutMillis} ms ` +
          `(pool max ${this.pool.options.max}). Release connections and finish transactions promptly, or raise CACHET_PG_POOL_MAX.`,
        { cause: error },
      );
    }
    return toSQLError(error, this.database);
  }
}

/** Quotes an identifier for SQL: `my"db` → `"my""db"`. */
function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Creates database `dbName` on the server behind `serverUrl` unless it exists. Safe when several
 * processes race: losing a CREATE DATABASE race (42P04, or 23505 on pg_database) is success.
 */
async function ensureServerDatabase(serverUrl: string, dbName: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: timeoutMs });
  client.on("error", () => undefined); // Reported through the failing call below.
  try {
    await client.connect();
  } catch (error) {
    throw new SQLConnectionError(
      `Cannot connect to the PostgreSQL server at ${redactUrl(serverUrl)} (DATABASE_URL): ${(error as Error).message}. ` +
        "Start the server, fix DATABASE_URL, or unset it to use the embedded PGlite database.",
      { cause: error },
    );
  }
  try {
    const existing = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [dbName]);
    if (existing.rowCount) return;
    try {
      await client.query(`CREATE DATABASE ${quoteIdent(dbName)}`);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "42P04" || code === "23505") return;
      const reason = code === "42501" ? " The DATABASE_URL user lacks CREATEDB: create the database yourself or grant it." : "";
      throw new SQLConfigError(`Database "${dbName}" does not exist and could not be created: ${(error as Error).message}.${reason}`, {
        cause: error,
      });
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function openPostgres(serverUrl: string, dbName: string, options: ResolvedOptions): Promise<PostgresEngine> {
  await ensureServerDatabase(serverUrl, dbName, options.acquireTimeoutMs);
  const pool = new pg.Pool({
    connectionString: databaseUrlFor(serverUrl, dbName),
    max: options.poolMax,
    connectionTimeoutMillis: options.acquireTimeoutMs,
    types: pgTypeConfig,
  });
  // An idle client whose connection drops makes the pool emit "error"; unhandled, that would end
  // the process. The pool replaces the client; queries in flight report their own errors.
  pool.on("error", (error) => options.log(`idle connection to database "${dbName}" failed: ${error.message}`));
  return new PostgresEngine(pool, dbName);
}

/** `postgres://u:p@h:5432/postgres?x=y` + `db` → `postgres://u:p@h:5432/db?x=y`. */
function databaseUrlFor(serverUrl: string, dbName: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(dbName)}`;
  return url.toString();
}

/** A FIFO mutex with a bounded wait: PGlite has exactly one connection to hand out. */
class ExclusiveLock {
  private held = false;
  private readonly waiters: Array<() => void> = [];

  acquire(timeoutMs: number, timeoutError: () => Error): Promise<() => void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolvePromise, reject) => {
      const waiter = () => {
        clearTimeout(timer);
        resolvePromise(this.releaser());
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(timeoutError());
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.held = false;
    };
  }
}

class PgliteSession implements SqlSession {
  private released = false;

  constructor(
    private readonly db: PGlite,
    private readonly database: string,
    private readonly unlock: () => void,
  ) {}

  async query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
    this.assertUsable();
    return pgliteQuery<T>(this.db, this.database, text, params);
  }

  async script(text: string): Promise<void> {
    this.assertUsable();
    try {
      await this.db.exec(text);
    } catch (error) {
      throw toSQLError(error, this.database);
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      // The next holder must not find itself inside someone else's transaction.
      if (this.db.isInTransaction()) await this.db.exec("ROLLBACK");
    } catch {
      // The database was closed underneath us; nothing is left to roll back.
    } finally {
      this.unlock();
    }
  }

  private assertUsable(): void {
    if (this.released) throw new SQLTransactionError(`This connection to database "${this.database}" was already released.`);
  }
}

async function pgliteQuery<T extends Row>(db: PGlite, database: string, text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
  try {
    const result = await db.query<T>(text, (params ?? []).map(toDriverValue));
    return { rows: result.rows, command: result.command ?? "", rowCount: result.rowCount ?? result.rows.length };
  } catch (error) {
    throw toSQLError(error, database);
  }
}

/**
 * Embedded PGlite engine. PGlite is a single connection, so every use — a lone query, a
 * transaction, an acquired connection — takes the engine's lock; transactions are serialised.
 * A query on the database issued while the same flow holds a transaction on it waits for that
 * transaction (on a server it would use a second connection): the wait ends with a
 * `SQLTimeoutError` that says so.
 */
class PgliteEngine implements SqlEngine {
  readonly kind = "pglite";
  private readonly lock = new ExclusiveLock();

  constructor(
    private readonly db: PGlite,
    private readonly database: string,
    private readonly acquireTimeoutMs: number,
    private readonly onClose: () => void,
  ) {}

  async query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
    const unlock = await this.waitForConnection();
    try {
      return await pgliteQuery<T>(this.db, this.database, text, params);
    } finally {
      unlock();
    }
  }

  async acquire(): Promise<SqlSession> {
    return new PgliteSession(this.db, this.database, await this.waitForConnection());
  }

  async close(): Promise<void> {
    // Let a running statement finish, but do not wait forever on a leaked transaction.
    const unlock = await this.lock.acquire(2000, () => new Error("busy")).catch(() => undefined);
    try {
      await this.db.close();
    } finally {
      unlock?.();
      this.onClose();
    }
  }

  private waitForConnection(): Promise<() => void> {
    return this.lock.acquire(
      this.acquireTimeoutMs,
      () =>
        new SQLTimeoutError(
          `Waited ${this.acquireTimeoutMs} ms for the embedded PGlite database "${this.database}". PGlite has a single ` +
            "connection, and a transaction or acquired connection still holds it: commit, roll back or close it. A query " +
            "on the database issued while the same code holds a transaction on it waits for that transaction; run it on " +
            "the transaction instead, or set DATABASE_URL to use a PostgreSQL server.",
        ),
    );
  }
}

/**
 * Claims a PGlite data directory for this process with a `<dir>.lock` file holding our pid.
 * PGlite runs Postgres in single-user mode: two processes writing one directory corrupt it.
 */
function lockDataDir(dataDir: string): () => void {
  const lockFile = `${dataDir}.lock`;
  if (existsSync(lockFile)) {
    const pid = Number(readFileSync(lockFile, "utf8").trim());
    if (pid && processIsAlive(pid)) {
      throw new SQLConfigError(
        `The PGlite data directory ${dataDir} is in use by process ${pid}${pid === process.pid ? " (this process)" : ""}. ` +
          "PGlite serves one process: run a single host process, or set DATABASE_URL so processes share a PostgreSQL server.",
      );
    }
  }
  writeFileSync(lockFile, String(process.pid));
  return () => rmSync(lockFile, { force: true });
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function openPglite(name: string, dataDir: string | undefined, options: ResolvedOptions): Promise<PgliteEngine> {
  // Loaded on demand: the WASM module is large, and a host using DATABASE_URL never needs it.
  const { PGlite } = await import("@electric-sql/pglite");
  let unlockDir = () => {};
  if (dataDir) {
    mkdirSync(dirname(dataDir), { recursive: true });
    unlockDir = lockDataDir(dataDir);
  }
  try {
    const db = await PGlite.create(dataDir, { parsers: pgliteParsers });
    return new PgliteEngine(db, name, options.acquireTimeoutMs, unlockDir);
  } catch (error) {
    unlockDir();
    throw new SQLConnectionError(`Could not open the embedded PGlite database "${name}"${dataDir ? ` in ${dataDir}` : ""}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

// ─── Migrations ─────────────────────────────────────────────────────────────────────────────────

export interface MigrationFile {
  version: number;
  /** The part after `N_`: `create_tables` for `1_create_tables.up.sql`. */
  name: string;
  /** The file name. */
  file: string;
  path: string;
  sql: string;
  /** sha256 of the file's bytes, hex. */
  checksum: string;
}

const MIGRATION_FILE = /^(\d+)_([^.]+)\.up\.sql$/;
const DOWN_MIGRATION_FILE = /^(\d+)_([^.]+)\.down\.sql$/;

/**
 * Reads Encore-style migrations from `dir`, sorted by version. Down migrations and non-SQL files
 * are ignored (Encore does not run them either); any other `.sql` file is an error, as it is for
 * Encore's parser.
 */
export function readMigrations(dir: string, database: string): MigrationFile[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new SQLMigrationError(`The migrations directory ${dir} of database "${database}" does not exist.`, database);
  }
  const migrations: MigrationFile[] = [];
  const byVersion = new Map<number, string>();
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith(".sql") || DOWN_MIGRATION_FILE.test(file)) continue;
    const match = MIGRATION_FILE.exec(file);
    if (!match) {
      throw new SQLMigrationError(
        `Migration file ${join(dir, file)} of database "${database}" is not named N_name.up.sql (e.g. 1_create_tables.up.sql).`,
        database,
        file,
      );
    }
    const version = Number(match[1]);
    const clash = byVersion.get(version);
    if (clash) {
      throw new SQLMigrationError(`Migrations ${clash} and ${file} of database "${database}" share version ${version}.`, database, file);
    }
    byVersion.set(version, file);
    const path = join(dir, file);
    const bytes = readFileSync(path);
    migrations.push({ version, name: match[2], file, path, sql: bytes.toString("utf8"), checksum: createHash("sha256").update(bytes).digest("hex") });
  }
  return migrations.sort((a, b) => a.version - b.version);
}

/** Advisory lock key for migrations; locks are per database, so one constant serves them all. */
const MIGRATION_LOCK_KEY = "7402117386461209733";

export interface MigrationReport {
  database: string;
  /** Files applied by this run, in order. */
  applied: string[];
  /** Migrations found already applied (by us, or by Encore before us). */
  alreadyApplied: number;
}

/** Line of a 1-based character offset in `text`: turns Postgres' `position` into something to look at. */
function lineAt(text: string, position: number): number {
  return text.slice(0, position - 1).split("\n").length;
}

/**
 * Applies the pending `migrations` on one session under an advisory lock, so concurrent hosts
 * starting against the same server apply each migration exactly once: the second waits, then
 * finds them recorded.
 */
export async function applyMigrations(engine: SqlEngine, database: string, migrations: MigrationFile[], log: (message: string) => void): Promise<MigrationReport> {
  const report: MigrationReport = { database, applied: [], alreadyApplied: 0 };
  const session = await engine.acquire();
  let healthy = true;
  try {
    await session.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    try {
      await session.script(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);\n" +
          "CREATE TABLE IF NOT EXISTS cachet_migrations (version bigint NOT NULL PRIMARY KEY, name text NOT NULL, " +
          "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());",
      );
      const history = await loadHistory(session, database, migrations, log);
      let highest = Math.max(0, ...history.keys());
      for (const migration of migrations) {
        const recorded = history.get(migration.version);
        if (recorded === undefined) {
          highest = Math.max(highest, migration.version);
          await applyOne(session, database, migration, highest);
          report.applied.push(migration.file);
          log(`database "${database}": applied migration ${migration.file}`);
        } else if (recorded === migration.checksum) {
          report.alreadyApplied++;
        } else {
          throw new SQLMigrationError(
            `Migration ${migration.path} of database "${database}" was changed after it was applied (checksum ` +
              `${migration.checksum.slice(0, 12)}…, applied ${recorded.slice(0, 12)}…). Applied migrations must not change: ` +
              "restore the file and add a new migration with the change.",
            database,
            migration.file,
          );
        }
      }
    } finally {
      // Fails only when the connection is unusable (a failed ROLLBACK); then it is discarded
      // below, and its session-level advisory lock goes with it.
      await session.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => (healthy = false));
    }
  } finally {
    await session.release(!healthy);
  }
  return report;
}

async function applyOne(session: SqlSession, database: string, migration: MigrationFile, highest: number): Promise<void> {
  await session.query("BEGIN");
  try {
    await session.script(migration.sql);
    await session.query("INSERT INTO cachet_migrations (version, name, checksum) VALUES ($1, $2, $3)", [
      migration.version,
      migration.name,
      migration.checksum,
    ]);
    // Encore (golang-migrate) keeps one row: the current version.
    await session.query("DELETE FROM schema_migrations");
    await session.query("INSERT INTO schema_migrations (version, dirty) VALUES ($1, false)", [highest]);
    await session.query("COMMIT");
  } catch (error) {
    await session.query("ROLLBACK").catch(() => undefined);
    const cause = error instanceof SQLQueryError ? error : toSQLError(error, database);
    const line = cause instanceof SQLQueryError && cause.position ? ` at line ${lineAt(migration.sql, cause.position)}` : "";
    throw new SQLMigrationError(`Migration ${migration.path} of database "${database}" failed${line}: ${cause.message}`, database, migration.file, {
      cause,
    });
  }
}

/**
 * Applied versions → checksums. A database that Encore migrated before us has versions in
 * `schema_migrations` but no history here: those are adopted (recorded with today's checksums).
 */
async function loadHistory(session: SqlSession, database: string, migrations: MigrationFile[], log: (message: string) => void): Promise<Map<number, string>> {
  const rows = await session.query<{ version: number; checksum: string }>("SELECT version, checksum FROM cachet_migrations");
  const history = new Map(rows.rows.map((r) => [Number(r.version), r.checksum]));
  if (history.size > 0) return history;

  const encore = await session.query<{ version: number; dirty: boolean }>("SELECT version, dirty FROM schema_migrations");
  if (encore.rows.length === 0) return history;
  // One row: golang-migrate's sequential mode, all versions up to it are applied (a dirty one is
  // not: Encore re-runs it). Several rows: Encore's non-sequential mode, one row per version.
  const adopted =
    encore.rows.length === 1
      ? migrations.filter((m) => (encore.rows[0].dirty ? m.version < Number(encore.rows[0].version) : m.version <= Number(encore.rows[0].version)))
      : migrations.filter((m) => encore.rows.some((r) => Number(r.version) === m.version && !r.dirty));
  for (const m of adopted) {
    await session.query("INSERT INTO cachet_migrations (version, name, checksum) VALUES ($1, $2, $3)", [m.version, m.name, m.checksum]);
    history.set(m.version, m.checksum);
  }
  if (adopted.length > 0) log(`database "${database}": adopted ${adopted.length} migration(s) applied by Encore`);
  return history;
}

// ─── Declared databases ─────────────────────────────────────────────────────────────────────────

/** The `migrations` option of `new SQLDatabase(name, { migrations })`. */
export type MigrationsOption = string | { path: string; source?: "prisma" | "drizzle" | "drizzle/v1" };

export interface DeclaredDatabase {
  name: string;
  migrations?: MigrationsOption;
  /** Absolute path of the file that declared it; `migrations` is relative to its directory. */
  declaredIn?: string;
}

const declared = new Map<string, DeclaredDatabase>();

/**
 * Records a database the app declared. Called by the `SQLDatabase` constructor, which must work
 * before any host runs, so this only remembers; nothing connects until the first query.
 */
export function declareDatabase(database: DeclaredDatabase): void {
  const previous = declared.get(database.name);
  // `SQLDatabase.named(x)` re-declares without options; keep what the real declaration said.
  if (previous?.migrations !== undefined && database.migrations === undefined) return;
  declared.set(database.name, database);
}

export function declaredDatabases(): DeclaredDatabase[] {
  return [...declared.values()];
}

const THIS_FILE = fileURLToPath(import.meta.url);

/**
 * The source file that called into `ignore` (the shim), from the stack: the file declaring a
 * database, whose directory Encore resolves `migrations: "./migrations"` against.
 */
export function callerFile(ignore: string[] = []): string | undefined {
  const skip = new Set([THIS_FILE, ...ignore]);
  for (const line of (new Error().stack ?? "").split("\n").slice(1)) {
    const match = /(?:\(|at )((?:file:\/\/)?\/[^():]+):\d+:\d+\)?\s*$/.exec(line);
    if (!match) continue;
    const file = match[1].startsWith("file://") ? fileURLToPath(match[1]) : match[1];
    if (!skip.has(file) && !file.includes("/node_modules/")) return file;
  }
  return undefined;
}

// ─── DatabaseRuntime ────────────────────────────────────────────────────────────────────────────

export interface DatabaseRuntimeOptions {
  /** Absolute path of the app root: migrations and the PGlite directory are relative to it. */
  appRoot: string;
  /** The manifest's databases (name, migrations directory, declaring file). */
  databases?: DatabaseManifest[];
  /** A `postgres://` server URL. Unset: embedded PGlite. */
  databaseUrl?: string;
  /** PGlite directory, relative to `appRoot` or absolute; `memory://` keeps databases in memory. Default `.cachet/pglite`. */
  pgliteDir?: string;
  /** Prefix of the server-side database names, to keep runs that share a server apart. Default none. */
  databaseNamePrefix?: string;
  /** Connections per database pool (server only). Default 10. */
  poolMax?: number;
  /** How long to wait for a free connection before `SQLTimeoutError`. Default 30 s. */
  acquireTimeoutMs?: number;
  /** Apply a database's migrations when it is first opened, if `migrate()` has not. Default true. */
  migrateOnOpen?: boolean;
  log?: (message: string) => void;
}

interface ResolvedOptions {
  appRoot: string;
  databases: DatabaseManifest[];
  databaseUrl?: string;
  /** Absolute directory, or undefined for memory. */
  pgliteDir?: string;
  databaseNamePrefix: string;
  poolMax: number;
  acquireTimeoutMs: number;
  migrateOnOpen: boolean;
  log: (message: string) => void;
}

export const PGLITE_MEMORY = "memory://";

/**
 * Runtime options from the environment: DATABASE_URL, CACHET_PGLITE_DIR (a directory, or
 * `memory://`), CACHET_DATABASE_PREFIX and CACHET_PG_POOL_MAX.
 */
export function runtimeOptionsFromEnv(
  host: { appRoot: string; manifest?: { databases: DatabaseManifest[] } },
  env: NodeJS.ProcessEnv = process.env,
): DatabaseRuntimeOptions {
  const poolMax = env.CACHET_PG_POOL_MAX ? Number(env.CACHET_PG_POOL_MAX) : undefined;
  if (poolMax !== undefined && !(Number.isInteger(poolMax) && poolMax > 0)) {
    throw new SQLConfigError(`CACHET_PG_POOL_MAX must be a positive integer, got "${env.CACHET_PG_POOL_MAX}".`);
  }
  return {
    appRoot: host.appRoot,
    databases: host.manifest?.databases,
    databaseUrl: env.DATABASE_URL || undefined,
    pgliteDir: env.CACHET_PGLITE_DIR || undefined,
    databaseNamePrefix: env.CACHET_DATABASE_PREFIX,
    poolMax,
  };
}

/** Which databases `migrate()` covers: all known ones when both are unset. */
export interface MigrateSelection {
  databases?: string[];
  /** Databases the manifest places in these services. */
  services?: string[];
}

function resolveOptions(options: DatabaseRuntimeOptions): ResolvedOptions {
  const databaseUrl = options.databaseUrl || undefined;
  if (databaseUrl) {
    let protocol = "";
    try {
      protocol = new URL(databaseUrl).protocol;
    } catch {
      // Reported below.
    }
    if (protocol !== "postgres:" && protocol !== "postgresql:") {
      throw new SQLConfigError(`DATABASE_URL must be a postgres:// URL to a PostgreSQL server, got ${redactUrl(databaseUrl)}.`);
    }
  }
  const pgliteDir = options.pgliteDir ?? join(".cachet", "pglite");
  return {
    appRoot: options.appRoot,
    databases: options.databases ?? [],
    databaseUrl,
    pgliteDir: pgliteDir === PGLITE_MEMORY ? undefined : resolve(options.appRoot, pgliteDir),
    databaseNamePrefix: options.databaseNamePrefix ?? "",
    poolMax: options.poolMax ?? 10,
    acquireTimeoutMs: options.acquireTimeoutMs ?? 30_000,
    migrateOnOpen: options.migrateOnOpen ?? true,
    log: options.log ?? ((message) => console.info(`[sqldb] ${message}`)),
  };
}

/**
 * The host's databases. Opens each lazily on first use (and migrates it then, unless `migrate()`
 * already did), hands out engines to the shim, and closes everything on `close()`.
 *
 * @example
 * const databases = new DatabaseRuntime(); // after setHostState(); becomes the shim's runtime
 * await databases.migrate(["audit"]);      // at host start: fail fast on a bad migration
 * ...
 * await databases.close();                 // at host stop
 */
export class DatabaseRuntime {
  private readonly options: ResolvedOptions;
  /** Opening engines, by database name. */
  private readonly engines = new Map<string, Promise<SqlEngine>>();
  /** Engines opened and migrated, by database name. */
  private readonly ready = new Map<string, Promise<SqlEngine>>();
  private closed = false;

  /**
   * With options: a standalone runtime (tests). Without: the host's runtime, configured from
   * `hostState()` and the environment (`runtimeOptionsFromEnv`), which becomes the process-wide
   * runtime the `SQLDatabase` shim uses.
   */
  constructor(options?: DatabaseRuntimeOptions) {
    this.options = resolveOptions(options ?? runtimeOptionsFromEnv(hostState()));
    if (!options) current = this;
  }

  get kind(): "postgres" | "pglite" {
    return this.options.databaseUrl ? "postgres" : "pglite";
  }

  /** Every database the manifest or the app's declarations name. */
  databaseNames(): string[] {
    return [...new Set([...this.options.databases.map((d) => d.name), ...declaredDatabases().map((d) => d.name)])].sort();
  }

  /** The name of `name`'s database on the server (`<prefix><name>`). */
  serverDatabaseName(name: string): string {
    return `${this.options.databaseNamePrefix}${name}`;
  }

  /**
   * A URL for `name`'s database. With a server: a `postgres://` URL any Postgres client can use.
   * With PGlite: a descriptive `pglite://` URL (`pglite:///abs/data/dir` or `pglite://memory/<name>`)
   * that no Postgres client can open: PGlite has one in-process connection (see the docs at
   * `SQLDatabase.connectionString`); set DATABASE_URL when a tool needs a wire connection.
   */
  connectionString(name: string): string {
    validateName(name);
    if (this.options.databaseUrl) return databaseUrlFor(this.options.databaseUrl, this.serverDatabaseName(name));
    const dataDir = this.pgliteDataDir(name);
    return dataDir ? `pglite://${dataDir}` : `pglite://memory/${encodeURIComponent(name)}`;
  }

  /** `name`'s engine, opened (and migrated, with `migrateOnOpen`) on first use. */
  database(name: string): Promise<SqlEngine> {
    let ready = this.ready.get(name);
    if (!ready) {
      ready = this.open(name).then(async (engine) => {
        if (this.options.migrateOnOpen) await this.migrateOne(name, engine);
        return engine;
      });
      this.remember(this.ready, name, ready);
    }
    return ready;
  }

  /**
   * Applies pending migrations of the selected databases (default: all known), in parallel
   * across databases and in version order within each. Rejects with the first failure.
   */
  async migrate(selection: MigrateSelection | string[] = {}): Promise<MigrationReport[]> {
    const names = this.select(Array.isArray(selection) ? { databases: selection } : selection);
    return Promise.all(
      names.map(async (name) => {
        const engine = await this.open(name);
        const report = await this.migrateOne(name, engine);
        if (!this.ready.has(name)) this.ready.set(name, Promise.resolve(engine));
        return report;
      }),
    );
  }

  /** The migrations directory of `name`, or undefined when it has none. */
  migrationsDir(name: string): string | undefined {
    const fromManifest = this.options.databases.find((d) => d.name === name);
    if (fromManifest?.migrations) return resolve(this.options.appRoot, fromManifest.migrations);
    const declaration = declared.get(name);
    const option = declaration?.migrations;
    if (option === undefined) return undefined;
    const config = typeof option === "string" ? { path: option } : option;
    if (config.source) {
      throw new SQLConfigError(
        `Database "${name}" uses ${config.source} migrations; the Node host applies only Encore's N_name.up.sql migrations.`,
      );
    }
    if (isAbsolute(config.path)) return config.path;
    const base = declaration?.declaredIn
      ? dirname(declaration.declaredIn)
      : fromManifest
        ? resolve(this.options.appRoot, dirname(fromManifest.pos.file))
        : this.options.appRoot;
    return resolve(base, config.path);
  }

  /** Closes every opened database. The runtime can't be used afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    if (current === this) current = undefined;
    const opening = [...this.engines.values()];
    this.engines.clear();
    this.ready.clear();
    const results = await Promise.allSettled(opening.map(async (engine) => (await engine).close()));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected" && !(r.reason instanceof SQLDatabaseError));
    if (failure) throw failure.reason;
  }

  private select(selection: MigrateSelection): string[] {
    if (!selection.databases && !selection.services) return this.databaseNames();
    const names = new Set(selection.databases ?? []);
    for (const db of this.options.databases) if (db.service && selection.services?.includes(db.service)) names.add(db.name);
    return [...names].sort();
  }

  private async migrateOne(name: string, engine: SqlEngine): Promise<MigrationReport> {
    const dir = this.migrationsDir(name);
    if (!dir) return { database: name, applied: [], alreadyApplied: 0 };
    const migrations = readMigrations(dir, name);
    const shown = relative(this.options.appRoot, dir);
    const relativeMigrations = migrations.map((m) => ({ ...m, path: shown.startsWith("..") ? m.path : join(shown, m.file) }));
    return applyMigrations(engine, name, relativeMigrations, this.options.log);
  }

  private open(name: string): Promise<SqlEngine> {
    if (this.closed) return Promise.reject(new SQLConfigError(`The database runtime was closed; database "${name}" can't be opened.`));
    let engine = this.engines.get(name);
    if (!engine) {
      validateName(name);
      const { databaseUrl } = this.options;
      engine = databaseUrl
        ? openPostgres(databaseUrl, this.serverDatabaseName(name), this.options)
        : openPglite(name, this.pgliteDataDir(name), this.options);
      this.remember(this.engines, name, engine);
    }
    return engine;
  }

  /** Caches `promise` under `name`, forgetting it if it fails so the next use tries again. */
  private remember(cache: Map<string, Promise<SqlEngine>>, name: string, promise: Promise<SqlEngine>): void {
    cache.set(name, promise);
    promise.catch(() => {
      if (cache.get(name) === promise) cache.delete(name);
    });
  }

  private pgliteDataDir(name: string): string | undefined {
    return this.options.pgliteDir ? join(this.options.pgliteDir, name) : undefined;
  }
}

/** Database names become directory and database names: no separators, nothing empty. */
function validateName(name: string): void {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new SQLConfigError(`Invalid database name "${name}": use letters, digits, "_" and "-".`);
  }
}

// ─── The process-wide runtime ───────────────────────────────────────────────────────────────────

let current: DatabaseRuntime | undefined;

/**
 * The runtime the `SQLDatabase` shim uses: the host's (or one installed with
 * `setDatabaseRuntime`), else one built from the running host's state on first use.
 */
export function databaseRuntime(): DatabaseRuntime {
  return current ?? new DatabaseRuntime();
}

/** Installs (or, with undefined, forgets) the process-wide runtime; tests use it. Does not close the old one. */
export function setDatabaseRuntime(runtime: DatabaseRuntime | undefined): void {
  current = runtime;
}

/** Closes and forgets the process-wide runtime, if any: for host stop. */
export async function closeDatabaseRuntime(): Promise<void> {
  const runtime = current;
  current = undefined;
  await runtime?.close();
}
