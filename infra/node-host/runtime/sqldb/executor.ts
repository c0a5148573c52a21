/**
 * The one executor interface over pg and PGlite: what the shim, the migrator and the tests talk
 * to, whichever engine runs.
 */

/** A result row, column name → value. */
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
