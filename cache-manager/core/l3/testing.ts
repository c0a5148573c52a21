/**
 * Test support for SQL-backed L3 stores: the contract suite's backend over one Encore database,
 * and a throwaway PostgreSQL server holding cache-manager's `l3` database.
 */
import { fileURLToPath } from "node:url";
import type { SQLDatabase } from "encore.dev/storage/sqldb";
import { afterAll, beforeAll } from "vitest";
import { DatabaseRuntime, setDatabaseRuntime } from "../../../infra/node-host/runtime/sqldb";
import { startPostgresServer, type TestPostgresServer } from "../../../infra/node-host/testing/postgres";
import { l3db } from "../../db.ts";
import { encoreSql, type Sql, type SqlQuery } from "../../../lib/sql.ts";
import type { L3Backend } from "./contract.ts";
import { openPostgresL3 } from "./postgres.ts";

/**
 * `sql`, until `cut()`: from then on (until `restore()`) every statement fails as a refused
 * connection would (an injected fault, for "L3 cannot be reached").
 */
export function cuttableSql(sql: Sql): { sql: Sql; cut(): void; restore(): void } {
  let down = false;
  const guard = () => {
    if (down) throw Object.assign(new Error("connect ECONNREFUSED (injected: L3 cut off)"), { code: "ECONNREFUSED" });
  };
  const guarded = (q: SqlQuery): SqlQuery => ({
    query: async (text, params) => (guard(), q.query(text, params)),
  });
  return {
    sql: {
      ...guarded(sql),
      transaction: async (fn) => (guard(), sql.transaction((tx) => fn(guarded(tx)))),
    },
    cut: () => {
      down = true;
    },
    restore: () => {
      down = false;
    },
  };
}

/** The contract suite's backend: the PostgreSQL store on `db`, emptied between tests. */
export function sqlDatabaseBackend(db: SQLDatabase): L3Backend {
  const sql = encoreSql(db);
  return {
    open: (options) => openPostgresL3(sql, options),
    reset: () => db.rawExec("TRUNCATE l3_entries, l3_key_checks"),
    async openCuttable(options) {
      const { sql: guarded, cut } = cuttableSql(sql);
      return { store: await openPostgresL3(guarded, options), cut };
    },
  };
}

/**
 * Registers hooks that start a PostgreSQL server for this test file and point cache-manager's
 * `l3db` at it (its migration runs on first use); returns the contract backend on it.
 */
export function usePostgresL3Database(): L3Backend {
  let server: TestPostgresServer | undefined;
  let runtime: DatabaseRuntime | undefined;
  beforeAll(async () => {
    server = await startPostgresServer();
    const appRoot = fileURLToPath(new URL("../../..", import.meta.url));
    runtime = new DatabaseRuntime({ appRoot, databaseUrl: server.url, databaseNamePrefix: "l3test_", log: () => undefined });
    setDatabaseRuntime(runtime);
  });
  afterAll(async () => {
    await runtime?.close();
    setDatabaseRuntime(undefined);
    await server?.stop();
  });
  return sqlDatabaseBackend(l3db);
}
