/**
 * The Node host's SQL runtime behind `encore.dev/storage/sqldb` (the shim in ../encore/sqldb.ts).
 *
 * Every Encore database (`new SQLDatabase(name, …)`) gets its own namespace:
 * - `DATABASE_URL` set (a `postgres://` URL of one database): a schema named `<prefix><name>` in
 *   that database, created when missing, used through a `pg` Pool whose connections have it as
 *   their only `search_path` (sqldb/postgres.ts). One database holds every service, so the URL's
 *   user needs CREATE on that database, not CREATEDB; `npm start` runs such a server itself
 *   (../embedded/postgres.ts) when PostgreSQL's binaries are installed;
 * - unset: an embedded PGlite instance (real Postgres compiled to WASM) per database, stored under
 *   `<appRoot>/.cachet/pglite/<name>`; `CACHET_PGLITE_DIR` moves it, `memory://` keeps it in
 *   memory (sqldb/pglite.ts).
 *
 * Both sit behind one executor interface (sqldb/executor.ts), and values come back the way
 * Encore's runtime returns them (sqldb/values.ts). Migrations (`N_name.up.sql`) run in version
 * order, each in a transaction, under an advisory lock, recorded in `cachet_migrations` next to
 * Encore's own `schema_migrations` (sqldb/migrations.ts).
 *
 * This module resolves the configuration once, opens databases lazily, and is what the host
 * starts and stops.
 */
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import type { DatabaseManifest } from "../manifest/types.ts";
import { hostState } from "./state.ts";
import { declaredDatabases, declaredDatabase } from "./sqldb/declared.ts";
import { SQLConfigError, SQLDatabaseError, redactUrl } from "./sqldb/errors.ts";
import type { SqlEngine } from "./sqldb/executor.ts";
import { applyMigrations, readMigrations, type MigrationFile, type MigrationReport } from "./sqldb/migrations.ts";
import { openPglite } from "./sqldb/pglite.ts";
import { openPostgres, schemaUrlFor } from "./sqldb/postgres.ts";

export { callerFile, declareDatabase, declaredDatabases, type DeclaredDatabase, type MigrationsOption } from "./sqldb/declared.ts";
export {
  SQLConfigError,
  SQLConnectionError,
  SQLDatabaseError,
  SQLMigrationError,
  SQLQueryError,
  SQLTimeoutError,
  SQLTransactionError,
  toSQLError,
} from "./sqldb/errors.ts";
export type { QueryResult, Row, SqlEngine, SqlExecutor, SqlSession } from "./sqldb/executor.ts";
export { applyMigrations, readMigrations, type MigrationFile, type MigrationReport } from "./sqldb/migrations.ts";

export interface DatabaseRuntimeOptions {
  /** Absolute path of the app root: migrations and the PGlite directory are relative to it. */
  appRoot: string;
  /** The manifest's databases (name, migrations directory, declaring file). */
  databases?: DatabaseManifest[];
  /** A `postgres://` URL of the database holding every Encore database as a schema. Unset: embedded PGlite. */
  databaseUrl?: string;
  /** PGlite directory, relative to `appRoot` or absolute; `memory://` keeps databases in memory. Default `.cachet/pglite`. */
  pgliteDir?: string;
  /** A dump of an empty PGlite cluster that in-memory databases start from instead of running initdb (sqldb/pglite.ts). */
  pgliteTemplate?: string;
  /** Prefix of the schema names, to keep runs that share a database apart. Default none. */
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
  pgliteTemplate?: string;
  databaseNamePrefix: string;
  poolMax: number;
  acquireTimeoutMs: number;
  migrateOnOpen: boolean;
  log: (message: string) => void;
}

export const PGLITE_MEMORY = "memory://";

/**
 * Runtime options from the environment: DATABASE_URL, CACHET_PGLITE_DIR (a directory, or
 * `memory://`), CACHET_PGLITE_TEMPLATE, CACHET_DATABASE_PREFIX and CACHET_PG_POOL_MAX.
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
    pgliteTemplate: env.CACHET_PGLITE_TEMPLATE || undefined,
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
    pgliteTemplate: options.pgliteTemplate,
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
    if (!options) setDatabaseRuntime(this);
  }

  get kind(): "postgres" | "pglite" {
    return this.options.databaseUrl ? "postgres" : "pglite";
  }

  /** Every database the manifest or the app's declarations name. */
  databaseNames(): string[] {
    return [...new Set([...this.options.databases.map((d) => d.name), ...declaredDatabases().map((d) => d.name)])].sort();
  }

  /** The schema holding `name`'s tables in the DATABASE_URL database (`<prefix><name>`). */
  schemaName(name: string): string {
    return `${this.options.databaseNamePrefix}${name}`;
  }

  /**
   * A URL for `name`'s database. With a server: a `postgres://` URL any Postgres client can use,
   * whose `options` confine it to `name`'s schema.
   * With PGlite: a descriptive `pglite://` URL (`pglite:///abs/data/dir` or `pglite://memory/<name>`)
   * that no Postgres client can open: PGlite has one in-process connection (see the docs at
   * `SQLDatabase.connectionString`); set DATABASE_URL when a tool needs a wire connection.
   */
  connectionString(name: string): string {
    validateName(name);
    if (this.options.databaseUrl) return schemaUrlFor(this.options.databaseUrl, this.schemaName(name));
    const dataDir = this.pgliteDataDir(name);
    return dataDir ? `pglite://${dataDir}` : `pglite://memory/${encodeURIComponent(name)}`;
  }

  /** `name`'s engine, opened (and migrated, with `migrateOnOpen`) on first use. */
  database(name: string): Promise<SqlEngine> {
    let ready = this.ready.get(name);
    if (!ready) {
      ready = (async () => {
        const migrations = this.options.migrateOnOpen ? this.loadMigrations(name) : [];
        const engine = await this.open(name);
        if (migrations.length > 0) await applyMigrations(engine, name, migrations, this.options.log);
        return engine;
      })();
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
        // Files first: a misnamed or missing migration fails before anything is opened.
        const migrations = this.loadMigrations(name);
        const engine = await this.open(name);
        const report = await applyMigrations(engine, name, migrations, this.options.log);
        if (!this.ready.has(name)) this.ready.set(name, Promise.resolve(engine));
        return report;
      }),
    );
  }

  /** The migrations directory of `name`, or undefined when it has none. */
  migrationsDir(name: string): string | undefined {
    const fromManifest = this.options.databases.find((d) => d.name === name);
    if (fromManifest?.migrations) return resolve(this.options.appRoot, fromManifest.migrations);
    const declaration = declaredDatabase(name);
    const option = declaration?.migrations;
    if (option === undefined) return undefined;
    const config = typeof option === "string" ? { path: option } : option;
    if (config.source) {
      throw new SQLConfigError(`Database "${name}" uses ${config.source} migrations; the Node host applies only Encore's N_name.up.sql migrations.`);
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

  /** `name`'s migrations, with paths relative to the app root for messages; none without a directory. */
  private loadMigrations(name: string): MigrationFile[] {
    const dir = this.migrationsDir(name);
    if (!dir) return [];
    const shown = relative(this.options.appRoot, dir);
    return readMigrations(dir, name).map((m) => ({ ...m, path: shown.startsWith("..") ? m.path : join(shown, m.file) }));
  }

  private open(name: string): Promise<SqlEngine> {
    if (this.closed) return Promise.reject(new SQLConfigError(`The database runtime was closed; database "${name}" can't be opened.`));
    let engine = this.engines.get(name);
    if (!engine) {
      validateName(name);
      const { databaseUrl } = this.options;
      engine = databaseUrl ? openPostgres(databaseUrl, name, this.schemaName(name), this.options) : openPglite(name, this.pgliteDataDir(name), this.options);
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
