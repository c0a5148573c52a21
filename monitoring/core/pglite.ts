/** A real in-memory PostgreSQL (PGlite) with monitoring's migrations applied, for core tests. */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { pgliteSql, type SqlQuery } from "../../lib/sql.ts";

const migrations = join(dirname(fileURLToPath(import.meta.url)), "..", "migrations");

export async function migratedDatabase(): Promise<{ sql: SqlQuery; close(): Promise<void> }> {
  const pg = new PGlite();
  const files = readdirSync(migrations)
    .filter((f) => f.endsWith(".up.sql"))
    .sort((a, b) => parseInt(a) - parseInt(b));
  for (const file of files) await pg.exec(readFileSync(join(migrations, file), "utf8"));
  return {
    sql: pgliteSql(pg),
    close: () => pg.close(),
  };
}
