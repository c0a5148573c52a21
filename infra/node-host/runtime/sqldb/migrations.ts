/**
 * Encore-format migrations (`N_name.up.sql`): read, checked against what was applied, and applied
 * in version order, each in a transaction, under an advisory lock.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { SQLMigrationError, SQLQueryError, toSQLError } from "./errors.ts";
import type { SqlEngine, SqlSession } from "./executor.ts";

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

/**
 * Advisory lock for migrations: (this constant, a hash of the session's schema). Locks are per
 * server database, and one database may hold several Encore databases as schemas; each schema
 * migrates under its own lock.
 */
const MIGRATION_LOCK_CLASS = 740211738;
const MIGRATION_LOCK = `${MIGRATION_LOCK_CLASS}, hashtext(current_schema())`;

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
export async function applyMigrations(
  engine: SqlEngine,
  database: string,
  migrations: MigrationFile[],
  log: (message: string) => void,
): Promise<MigrationReport> {
  const report: MigrationReport = { database, applied: [], alreadyApplied: 0 };
  const session = await engine.acquire();
  let healthy = true;
  try {
    await session.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`);
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
      await session.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`).catch(() => (healthy = false));
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
    await session.query("INSERT INTO cachet_migrations (version, name, checksum) VALUES ($1, $2, $3)", [migration.version, migration.name, migration.checksum]);
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
