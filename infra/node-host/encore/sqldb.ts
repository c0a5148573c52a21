/**
 * The Node host's `encore.dev/storage/sqldb`: the same classes and methods as Encore's, backed by
 * the host's database runtime (PostgreSQL through `pg` when DATABASE_URL is set, embedded PGlite
 * otherwise; see runtime/sqldb.ts).
 *
 * Constructing a `SQLDatabase` only records the declaration, so service modules load without a
 * host; the database is opened — created and migrated if needed — on its first query.
 * Template-literal queries become parameterised statements (`$1`, `$2`, …); values never become
 * SQL text.
 */
import { fileURLToPath } from "node:url";
import { SQLTransactionError, callerFile, databaseRuntime, declareDatabase, type Row, type SqlExecutor, type SqlSession } from "../runtime/sqldb.ts";

/** Configures how database migrations are managed for a `SQLDatabase`. */
export interface SQLMigrationsConfig {
  path: string;
  source?: "prisma" | "drizzle" | "drizzle/v1";
}

/** Configuration for a `SQLDatabase`. */
export interface SQLDatabaseConfig {
  migrations?: string | SQLMigrationsConfig;
}

export type { Row as ResultRow };

/** A value that can be used in a query template literal. */
export type Primitive =
  | string
  | string[]
  | number
  | number[]
  | boolean
  | boolean[]
  | Buffer
  | Date
  | Date[]
  | Record<string, any>
  | Record<string, any>[]
  | bigint
  | bigint[]
  | null
  | undefined;

const THIS_FILE = fileURLToPath(import.meta.url);

/** `` sql`a = ${x} AND b = ${y}` `` → `a = $1 AND b = $2`. */
function buildQuery(strings: TemplateStringsArray): string {
  let text = strings[0];
  for (let i = 1; i < strings.length; i++) text += `$${i}${strings[i]}`;
  return text;
}

/** The query methods shared by the database, a transaction and a connection, as in Encore. */
abstract class BaseQueryExecutor {
  /** Where the statements go: the database's pool, or one dedicated connection. */
  protected abstract executor(): Promise<SqlExecutor>;

  private async rows<T>(text: string, params: Primitive[]): Promise<T[]> {
    const executor = await this.executor();
    return (await executor.query(text, params)).rows as T[];
  }

  /**
   * Runs a template-literal query with its values as parameters and yields the rows.
   *
   * @example
   * for await (const row of db.query`SELECT id FROM users WHERE email = ${email}`) { ... }
   */
  async *query<T extends Row = Record<string, any>>(strings: TemplateStringsArray, ...params: Primitive[]): AsyncGenerator<T> {
    yield* await this.rows<T>(buildQuery(strings), params);
  }

  /** Runs a raw parameterised query (`$1`, `$2`, …) and yields the rows. */
  async *rawQuery<T extends Row = Record<string, any>>(query: string, ...params: Primitive[]): AsyncGenerator<T> {
    yield* await this.rows<T>(query, params);
  }

  /** Runs a template-literal query and returns all rows. */
  async queryAll<T extends Row = Record<string, any>>(strings: TemplateStringsArray, ...params: Primitive[]): Promise<T[]> {
    return this.rows<T>(buildQuery(strings), params);
  }

  /** Runs a raw parameterised query and returns all rows. */
  async rawQueryAll<T extends Row = Record<string, any>>(query: string, ...params: Primitive[]): Promise<T[]> {
    return this.rows<T>(query, params);
  }

  /** Runs a template-literal query and returns its first row, or null when it selects none. */
  async queryRow<T extends Row = Record<string, any>>(strings: TemplateStringsArray, ...params: Primitive[]): Promise<T | null> {
    return (await this.rows<T>(buildQuery(strings), params))[0] ?? null;
  }

  /** Runs a raw parameterised query and returns its first row, or null when it selects none. */
  async rawQueryRow<T extends Row = Record<string, any>>(query: string, ...params: Primitive[]): Promise<T | null> {
    return (await this.rows<T>(query, params))[0] ?? null;
  }

  /** Runs a template-literal statement for its effect; constraint violations and the like reject. */
  async exec(strings: TemplateStringsArray, ...params: Primitive[]): Promise<void> {
    await this.rows(buildQuery(strings), params);
  }

  /** Runs a raw parameterised statement for its effect. */
  async rawExec(query: string, ...params: Primitive[]): Promise<void> {
    await this.rows(query, params);
  }
}

/**
 * Returns a session whose owner was garbage-collected without committing, rolling back or
 * closing, as Encore's runtime does when its handle is dropped. The session is discarded (a pg
 * client is destroyed, so the server rolls back; PGlite rolls back and is handed on).
 */
const abandoned = new FinalizationRegistry<SqlSession>((session) => {
  void session.release(true).catch(() => undefined);
});

/**
 * An Encore SQL database. `new SQLDatabase(name, { migrations: "./migrations" })` declares it;
 * `SQLDatabase.named(name)` refers to one declared elsewhere.
 */
export class SQLDatabase extends BaseQueryExecutor {
  readonly name: string;

  constructor(name: string, cfg?: SQLDatabaseConfig) {
    super();
    this.name = name;
    declareDatabase({ name, migrations: cfg?.migrations, declaredIn: cfg?.migrations ? callerFile([THIS_FILE]) : undefined });
  }

  /** Refers to a database declared elsewhere with `new SQLDatabase(name, …)`. */
  static named<Name extends string>(name: Name): SQLDatabase {
    return new SQLDatabase(name);
  }

  /**
   * The database's connection string. With DATABASE_URL: a `postgres://` URL to this database on
   * that server, usable by any Postgres client. With embedded PGlite: a descriptive `pglite://`
   * URL (its data directory, or `pglite://memory/<name>`) that Postgres clients can't open,
   * because PGlite has a single in-process connection; set DATABASE_URL when a tool needs one.
   */
  get connectionString(): string {
    return databaseRuntime().connectionString(this.name);
  }

  protected executor(): Promise<SqlExecutor> {
    return databaseRuntime().database(this.name);
  }

  /** A dedicated connection; `close()` returns it. */
  async acquire(): Promise<Connection> {
    const engine = await databaseRuntime().database(this.name);
    return new Connection(await engine.acquire(), this.name);
  }

  /**
   * Begins a transaction on a dedicated connection. Prefer `await using tx = await db.begin()`,
   * which rolls back unless `commit()` ran.
   */
  async begin(): Promise<Transaction> {
    const engine = await databaseRuntime().database(this.name);
    const session = await engine.acquire();
    try {
      await session.query("BEGIN");
    } catch (error) {
      await session.release(true);
      throw error;
    }
    return new Transaction(session, this.name);
  }
}

/** A database transaction. Roll back or commit it; `await using` rolls back if neither ran. */
export class Transaction extends BaseQueryExecutor implements AsyncDisposable {
  private done = false;

  constructor(
    private readonly session: SqlSession,
    private readonly database: string,
  ) {
    super();
    abandoned.register(this, session, this);
  }

  protected async executor(): Promise<SqlExecutor> {
    if (this.done) throw new SQLTransactionError(`This transaction on database "${this.database}" has already ended.`);
    return this.session;
  }

  /**
   * Commits the transaction. If a statement in it failed, Postgres turns the commit into a
   * rollback; that rejects here rather than passing silently.
   */
  async commit(): Promise<void> {
    await this.finish("COMMIT");
  }

  /** Rolls the transaction back. */
  async rollback(): Promise<void> {
    await this.finish("ROLLBACK");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.done) await this.rollback();
  }

  private async finish(statement: "COMMIT" | "ROLLBACK"): Promise<void> {
    if (this.done) throw new SQLTransactionError(`This transaction on database "${this.database}" has already ended.`);
    this.done = true;
    abandoned.unregister(this);
    let broken = false;
    try {
      const result = await this.session.query(statement);
      if (statement === "COMMIT" && result.command === "ROLLBACK") {
        throw new SQLTransactionError(`The transaction on database "${this.database}" was rolled back instead of committed, because a statement in it failed.`);
      }
    } catch (error) {
      broken = !(error instanceof SQLTransactionError);
      throw error;
    } finally {
      await this.session.release(broken);
    }
  }
}

/** A dedicated connection to a database; `close()` returns it to the pool. */
export class Connection extends BaseQueryExecutor {
  private closed = false;

  constructor(
    private readonly session: SqlSession,
    private readonly database: string,
  ) {
    super();
    abandoned.register(this, session, this);
  }

  protected async executor(): Promise<SqlExecutor> {
    if (this.closed) throw new SQLTransactionError(`This connection to database "${this.database}" was closed.`);
    return this.session;
  }

  /** Returns the connection to the pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    abandoned.unregister(this);
    await this.session.release();
  }
}
