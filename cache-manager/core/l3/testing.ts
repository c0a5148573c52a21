/**
 * Test support for SQL-backed L3 stores: the contract suite's backend over one Encore database.
 */
import type { SQLDatabase } from "encore.dev/storage/sqldb";
import { encoreSql, type Sql, type SqlQuery } from "../../../lib/sql.ts";
import type { L3Backend } from "./contract.ts";
import { openPostgresL3 } from "./postgres.ts";

/**
 * `sql`, until `cut()`: from then on every statement fails as a refused connection would (an
 * injected fault, for "L3 cannot be reached").
 */
export function cuttableSql(sql: Sql): { sql: Sql; cut(): void } {
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
