/**
 * The PostgreSQL server engine: a schema per Encore database in the DATABASE_URL database
 * (created when missing), used through a pg Pool whose connections see only that schema.
 */
import pg from "pg";
import { SQLConfigError, SQLConnectionError, SQLDatabaseError, SQLTimeoutError, SQLTransactionError, redactUrl, toSQLError } from "./errors.ts";
import type { QueryResult, Row, SqlEngine, SqlSession } from "./executor.ts";
import { pgTypeConfig, toDriverValue } from "./values.ts";

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

/** Postgres server engine: a pg Pool confined to the schema `<prefix><name>`. */
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
 * The startup option that confines a connection to `schema`: unqualified names resolve, and new
 * tables land, there (pg_catalog stays visible, as always).
 */
function schemaOption(schema: string): string {
  return `-c search_path=${quoteIdent(schema)}`;
}

/**
 * Creates schema `schema` in the DATABASE_URL database unless it exists. Safe when several
 * processes race: losing the race (42P06, or 23505 on pg_namespace) is success.
 */
async function ensureSchema(serverUrl: string, schema: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: timeoutMs });
  client.on("error", () => undefined); // Reported through the failing call below.
  try {
    await client.connect();
  } catch (error) {
    throw new SQLConnectionError(
      `Cannot connect to the PostgreSQL database at ${redactUrl(serverUrl)} (DATABASE_URL): ${(error as Error).message}. ` +
        "Start the server, fix DATABASE_URL, or unset it to use the embedded database.",
      { cause: error },
    );
  }
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "42P06" || code === "23505") return;
    const reason = code === "42501" ? " The DATABASE_URL user needs the CREATE privilege on its database: grant it, or create the schema yourself." : "";
    throw new SQLConfigError(`Schema "${schema}" could not be created in ${redactUrl(serverUrl)}: ${(error as Error).message}.${reason}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface PostgresOptions {
  poolMax: number;
  /** Bounds the wait for a free pooled connection, and connecting. */
  acquireTimeoutMs: number;
  log: (message: string) => void;
}

/**
 * Opens Encore database `name` as schema `schema` of the DATABASE_URL database (created when
 * missing); errors name `name`.
 */
export async function openPostgres(serverUrl: string, name: string, schema: string, options: PostgresOptions): Promise<SqlEngine> {
  await ensureSchema(serverUrl, schema, options.acquireTimeoutMs);
  const pool = new pg.Pool({
    connectionString: serverUrl,
    options: schemaOption(schema),
    max: options.poolMax,
    connectionTimeoutMillis: options.acquireTimeoutMs,
    types: pgTypeConfig,
  });
  // An idle client whose connection drops makes the pool emit "error"; unhandled, that would end
  // the process. The pool replaces the client; queries in flight report their own errors.
  pool.on("error", (error) => options.log(`idle connection to database "${name}" failed: ${error.message}`));
  return new PostgresEngine(pool, name);
}

/**
 * A URL any libpq-style client (psql, pg) opens straight into `schema`:
 * `postgres://u:p@h:5432/cachet?x=y` + `audit` → `…/cachet?x=y&options=-c%20search_path%3D%22audit%22`.
 */
export function schemaUrlFor(serverUrl: string, schema: string): string {
  // %20, not URLSearchParams' "+": libpq decodes only %XX escapes.
  const url = new URL(serverUrl);
  url.search = `${url.search ? `${url.search}&` : "?"}options=${encodeURIComponent(schemaOption(schema))}`;
  return url.toString();
}
