/** The typed errors of the SQL runtime: a stable `code`, a message that says what to do, the driver error as `cause`. */

import { CodedError } from "../../../../lib/errors.ts";

/** Base class of every error this module throws; `code` is stable, the message says what to do. */
export class SQLDatabaseError extends CodedError {
  static override code = "E_SQL";
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

export { redactUrl } from "../../../../lib/config/dependencies.ts";
