/**
 * The SQL origin: parameterised statements through an injected executor, so the same code runs on
 * Encore's SQLDatabase, `pg` and PGlite.
 */
import { OriginArgumentError, OriginError, OriginRequestError, type OriginOperation } from "./errors.ts";
import { checkListLimit, idOf, loadEach, sleep as timerSleep, withDeadline } from "./support.ts";
import type { ListOptions, ListPage, LoadResult, Origin, OriginCallOptions, Row, SqlExecutor, SqlOriginConfig } from "./types.ts";

/** The signal of a load nothing can abort. */
const NEVER_ABORTED = new AbortController().signal;

/** SQLSTATEs that mean "this id cannot exist in this column" (bad text for an int, out of range). */
const ID_TYPE_MISMATCH = new Set(["22P02", "22003", "22007", "22008"]);

/** Anything with `query(sql, params) → {rows}`. */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** A PGlite instance: one connection, transactions through `transaction(fn)`. */
interface TransactionalQueryable extends Queryable {
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
}

/** A `pg` Pool: `connect()` lends one client until `release()`. */
interface PooledQueryable extends Queryable {
  connect(): Promise<Queryable & { release(error?: Error | boolean): void }>;
}

/**
 * Adapts a `pg` Pool or a PGlite instance to a `SqlExecutor`; read-only statements run in a
 * `READ ONLY` transaction on one connection.
 */
export function executorFromQueryable(db: TransactionalQueryable | PooledQueryable): SqlExecutor {
  return async (sql, params, options) => {
    if (!options?.readOnly) return (await db.query(sql, params)).rows as Row[];
    if ("transaction" in db) {
      return db.transaction(async (tx) => {
        await tx.query("SET TRANSACTION READ ONLY");
        return (await tx.query(sql, params)).rows as Row[];
      });
    }
    const client = await db.connect();
    let failed: Error | undefined;
    try {
      await client.query("BEGIN READ ONLY");
      const { rows } = await client.query(sql, params);
      await client.query("COMMIT");
      return rows as Row[];
    } catch (error) {
      failed = error as Error;
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release(failed !== undefined && !(failed as { code?: string }).code);
    }
  };
}

/** The value a row stands for: a single column's value, else the row object. */
export function rowValue(row: Row): unknown {
  const columns = Object.keys(row);
  return columns.length === 1 ? row[columns[0]] : row;
}

/** Objects and arrays go to the database as JSON text (`$2::jsonb` parses it on any driver). */
function toParameter(value: unknown): unknown {
  return typeof value === "object" && value !== null && !(value instanceof Date) && !Buffer.isBuffer(value) ? JSON.stringify(value) : value;
}

/** The SQLSTATE of a driver error: `code` (pg), `sqlState` (the Node host's wrapper), or its cause's. */
function sqlState(error: unknown, depth = 0): string | undefined {
  if (typeof error !== "object" || error === null || depth > 3) return undefined;
  const { code, sqlState: state, cause } = error as { code?: unknown; sqlState?: unknown; cause?: unknown };
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  if (typeof state === "string") return state;
  return sqlState(cause, depth + 1);
}

/**
 * Builds a SQL origin. Loads run `query` with `[id]`; an id the column type cannot hold (e.g.
 * "abc" for an int column) is "not found", not an error. `addedLatencyMs` sleeps before each call.
 */
export function createSqlOrigin(
  config: SqlOriginConfig,
  executor: SqlExecutor,
  options: { sleep?: (ms: number, signal?: AbortSignal) => Promise<void> } = {},
): Origin {
  const { namespace } = config;
  const sleep = options.sleep ?? timerSleep;
  const latency = config.addedLatencyMs ?? 0;

  /** Runs one statement; the caller's signal abandons it (the statement itself runs to its end). */
  function run(operation: OriginOperation, sql: string, params: unknown[], call?: OriginCallOptions): Promise<Row[]> {
    return withDeadline({ namespace, operation, timeoutMs: undefined }, call, async (signal) => {
      if (latency > 0) await sleep(latency, signal);
      return execute(operation, sql, params);
    });
  }

  /** Loads and lists only read: they run READ ONLY (a viewer's read triggers them). */
  async function execute(operation: OriginOperation, sql: string, params: unknown[]): Promise<Row[]> {
    try {
      return await executor(sql, params, { readOnly: operation === "load" || operation === "list" });
    } catch (error) {
      if (error instanceof OriginError) throw error;
      const detail = error instanceof Error ? error.message : String(error);
      const state = sqlState(error);
      if (state && ID_TYPE_MISMATCH.has(state) && operation !== "load") {
        throw new OriginArgumentError(`origin "${namespace}" rejected id ${JSON.stringify(params[0])} for ${operation}: ${detail}`, { cause: error });
      }
      throw new OriginRequestError(`origin "${namespace}" ${operation} failed: ${detail}`, { namespace, operation, cause: error });
    }
  }

  /** One key's statement, inside a deadline the caller set up (`signal` only cuts the added latency short). */
  async function loadWithin(key: string, signal: AbortSignal): Promise<LoadResult> {
    const id = idOf(namespace, key);
    if (signal.aborted) throw signal.reason; // the rest of an aborted batch is not loaded
    let rows: Row[];
    try {
      if (latency > 0) await sleep(latency, signal);
      rows = await execute("load", config.query, [id]);
    } catch (error) {
      if (error instanceof OriginRequestError && ID_TYPE_MISMATCH.has(sqlState(error.cause) ?? "")) return { found: false };
      throw error;
    }
    return rows.length === 0 ? { found: false } : { found: true, value: rowValue(rows[0]) };
  }

  const origin: Origin = {
    namespace,
    kind: "sql",
    config,
    // A caller that gives up on its own before aborting (a cache read) and a statement without
    // added latency leave the signal nothing to do: it is not read, so none is made, and no race.
    load: (key, call) =>
      call?.abandonsBeforeAbort && latency === 0
        ? loadWithin(key, NEVER_ABORTED)
        : withDeadline({ namespace, operation: "load", timeoutMs: undefined }, call, (signal) => loadWithin(key, signal)),
    // The batch shares one deadline (the caller's signal): an abort rejects the whole batch, as the
    // first aborted key's rejection did when each key had its own.
    loadMany: (keys, call) =>
      withDeadline({ namespace, operation: "load", timeoutMs: undefined }, call, (signal) => loadEach(keys, (key) => loadWithin(key, signal))),
  };

  if (config.listQuery) {
    const listQuery = config.listQuery;
    origin.list = async ({ cursor, limit, signal }: ListOptions): Promise<ListPage> => {
      checkListLimit(limit);
      const after = cursor ?? config.listStart ?? null;
      const rows = await run("list", listQuery, [after, limit], { signal });
      const ids = rows.map((row) => ("id" in row ? row.id : Object.values(row)[0]));
      return {
        keys: ids.map((id) => `${namespace}${String(id)}`),
        cursor: ids.length === limit ? String(ids[ids.length - 1]) : null,
      };
    };
  }

  if (config.writeQuery) {
    const writeQuery = config.writeQuery;
    const expectsRow = /\breturning\b/i.test(writeQuery);
    origin.write = async (key, value, call) => {
      const id = idOf(namespace, key);
      const rows = await run("write", writeQuery, [id, toParameter(value)], call);
      if (expectsRow && rows.length === 0) {
        throw new OriginRequestError(
          `origin "${namespace}" wrote no row for id ${JSON.stringify(id)} (writeQuery RETURNING gave nothing: does the row exist?)`,
          {
            namespace,
            operation: "write",
          },
        );
      }
    };
  }

  if (config.deleteQuery) {
    const deleteQuery = config.deleteQuery;
    origin.remove = async (key, call) => {
      await run("remove", deleteQuery, [idOf(namespace, key)], call);
    };
  }

  return origin;
}
