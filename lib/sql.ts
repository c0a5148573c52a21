/**
 * The one SQL port the services' cores take: parameterised statements (`$1`, `$2`, …) returning
 * rows, and a transaction on one connection. Cores depend on this interface, never on a driver,
 * so they run on Encore's `SQLDatabase`, on `pg` and on PGlite alike; `encoreSql` and `pgliteSql`
 * are the two adapters (one each, instead of one per service).
 */
export type Row = Record<string, any>;

export interface SqlQuery {
  query<T extends Row = Row>(text: string, params?: unknown[]): Promise<T[]>;
}

export interface Sql extends SqlQuery {
  /** Runs `fn` in one transaction on one connection; rolls back when it throws. */
  transaction<T>(fn: (tx: SqlQuery) => Promise<T>): Promise<T>;
}

/** What `encoreSql` uses of an Encore `SQLDatabase` (structural: lib imports no encore.dev resource). */
interface EncoreQueryable {
  rawQueryAll(query: string, ...params: never[]): Promise<Row[]>;
}
interface EncoreDatabase extends EncoreQueryable {
  begin(): Promise<EncoreQueryable & { commit(): Promise<void>; rollback(): Promise<void> }>;
}

const queryOn =
  (db: EncoreQueryable): SqlQuery["query"] =>
  (text, params = []) =>
    db.rawQueryAll(text, ...(params as never[])) as Promise<never[]>;

/** The port over an Encore `SQLDatabase`. */
export function encoreSql(db: EncoreDatabase): Sql {
  return {
    query: queryOn(db),
    async transaction(fn) {
      const tx = await db.begin();
      try {
        const result = await fn({ query: queryOn(tx) });
        await tx.commit();
        return result;
      } catch (error) {
        await tx.rollback().catch(() => undefined);
        throw error;
      }
    },
  };
}

/** What `pgliteSql` uses of a PGlite database (tests and embedded runs). */
interface PgliteQueryable {
  query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
}
interface PgliteDatabase extends PgliteQueryable {
  transaction<T>(fn: (tx: PgliteQueryable) => Promise<T>): Promise<T>;
}

/** The port over a PGlite database. */
export function pgliteSql(db: PgliteDatabase): Sql {
  const on =
    (q: PgliteQueryable): SqlQuery["query"] =>
    async (text, params = []) =>
      (await q.query<never>(text, params)).rows;
  return { query: on(db), transaction: (fn) => db.transaction((tx) => fn({ query: on(tx) })) };
}
