/**
 * The embedded engine: one PGlite instance (Postgres compiled to WASM, in process) per Encore
 * database, in a data directory or in memory.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { SQLConfigError, SQLConnectionError, SQLTimeoutError, SQLTransactionError, toSQLError } from "./errors.ts";
import type { QueryResult, Row, SqlEngine, SqlSession } from "./executor.ts";
import { pgliteParsers, toDriverValue } from "./values.ts";

/** A FIFO mutex with a bounded wait: PGlite has exactly one connection to hand out. */
class ExclusiveLock {
  private held = false;
  private readonly waiters: Array<() => void> = [];

  acquire(timeoutMs: number, timeoutError: () => Error): Promise<() => void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolvePromise, reject) => {
      const waiter = () => {
        clearTimeout(timer);
        resolvePromise(this.releaser());
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(timeoutError());
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.held = false;
    };
  }
}

class PgliteSession implements SqlSession {
  private released = false;

  constructor(
    private readonly db: PGlite,
    private readonly database: string,
    private readonly unlock: () => void,
  ) {}

  async query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
    this.assertUsable();
    return pgliteQuery<T>(this.db, this.database, text, params);
  }

  async script(text: string): Promise<void> {
    this.assertUsable();
    try {
      await this.db.exec(text);
    } catch (error) {
      throw toSQLError(error, this.database);
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      // The next holder must not find itself inside someone else's transaction.
      if (this.db.isInTransaction()) await this.db.exec("ROLLBACK");
    } catch {
      // The database was closed underneath us; nothing is left to roll back.
    } finally {
      this.unlock();
    }
  }

  private assertUsable(): void {
    if (this.released) throw new SQLTransactionError(`This connection to database "${this.database}" was already released.`);
  }
}

async function pgliteQuery<T extends Row>(db: PGlite, database: string, text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
  try {
    const result = await db.query<T>(text, (params ?? []).map(toDriverValue));
    return { rows: result.rows, command: result.command ?? "", rowCount: result.rowCount ?? result.rows.length };
  } catch (error) {
    throw toSQLError(error, database);
  }
}

/**
 * Embedded PGlite engine. PGlite is a single connection, so every use — a lone query, a
 * transaction, an acquired connection — takes the engine's lock; transactions are serialised.
 * A query on the database issued while the same flow holds a transaction on it waits for that
 * transaction (on a server it would use a second connection): the wait ends with a
 * `SQLTimeoutError` that says so.
 */
class PgliteEngine implements SqlEngine {
  readonly kind = "pglite";
  private readonly lock = new ExclusiveLock();

  constructor(
    private readonly db: PGlite,
    private readonly database: string,
    private readonly acquireTimeoutMs: number,
    private readonly onClose: () => void,
  ) {}

  async query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
    const unlock = await this.waitForConnection();
    try {
      return await pgliteQuery<T>(this.db, this.database, text, params);
    } finally {
      unlock();
    }
  }

  async acquire(): Promise<SqlSession> {
    return new PgliteSession(this.db, this.database, await this.waitForConnection());
  }

  async close(): Promise<void> {
    // Let a running statement finish, but do not wait forever on a leaked transaction.
    const unlock = await this.lock.acquire(2000, () => new Error("busy")).catch(() => undefined);
    try {
      await this.db.close();
    } finally {
      unlock?.();
      this.onClose();
    }
  }

  private waitForConnection(): Promise<() => void> {
    return this.lock.acquire(
      this.acquireTimeoutMs,
      () =>
        new SQLTimeoutError(
          `Waited ${this.acquireTimeoutMs} ms for the embedded PGlite database "${this.database}". PGlite has a single ` +
            "connection, and a transaction or acquired connection still holds it: commit, roll back or close it. A query " +
            "on the database issued while the same code holds a transaction on it waits for that transaction; run it on " +
            "the transaction instead, or set DATABASE_URL to use a PostgreSQL server.",
        ),
    );
  }
}

/**
 * Claims a PGlite data directory for this process with a `<dir>.lock` file holding our pid.
 * PGlite runs Postgres in single-user mode: two processes writing one directory corrupt it.
 */
function lockDataDir(dataDir: string): () => void {
  const lockFile = `${dataDir}.lock`;
  // Two tries: the second follows the removal of a lock whose process is gone.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: "wx" }); // Atomic: fails if it exists.
      return () => rmSync(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const pid = lockHolder(lockFile);
    if (pid !== undefined && processIsAlive(pid)) {
      throw new SQLConfigError(
        `The PGlite data directory ${dataDir} is in use by process ${pid}${pid === process.pid ? " (this process)" : ""}. ` +
          "PGlite serves one process: run a single host process, or set DATABASE_URL so processes share a PostgreSQL server.",
      );
    }
    rmSync(lockFile, { force: true });
  }
  throw new SQLConfigError(`Could not claim ${lockFile}: another process claimed the PGlite data directory at the same time.`);
}

function lockHolder(lockFile: string): number | undefined {
  try {
    return Number(readFileSync(lockFile, "utf8").trim()) || undefined;
  } catch {
    return undefined; // Removed meanwhile.
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Opens the PGlite database `name` in `dataDir`, or in memory when it is undefined. An in-memory
 * database starts from `pgliteTemplate` when given: a dump (`PGlite.dumpDataDir`) of an empty
 * cluster, which takes a tenth of the CPU of the initdb a fresh cluster runs (about 2–3 CPU
 * seconds each, what most of a test host's start-up cost). See `writePgliteTemplate`.
 */
export async function openPglite(
  name: string,
  dataDir: string | undefined,
  options: { acquireTimeoutMs: number; pgliteTemplate?: string },
): Promise<SqlEngine> {
  // Loaded on demand: the WASM module is large, and a host using DATABASE_URL never needs it.
  const { PGlite } = await import("@electric-sql/pglite");
  let unlockDir = () => {};
  if (dataDir) {
    mkdirSync(dirname(dataDir), { recursive: true });
    unlockDir = lockDataDir(dataDir);
  }
  try {
    const template = !dataDir && options.pgliteTemplate ? new Blob([readFileSync(options.pgliteTemplate)]) : undefined;
    const db = await PGlite.create(dataDir, { parsers: pgliteParsers, ...(template ? { loadDataDir: template } : {}) });
    return new PgliteEngine(db, name, options.acquireTimeoutMs, unlockDir);
  } catch (error) {
    unlockDir();
    throw new SQLConnectionError(`Could not open the embedded PGlite database "${name}"${dataDir ? ` in ${dataDir}` : ""}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Writes to `file` the dump of a new, empty PGlite cluster, for `openPglite`'s `pgliteTemplate`
 * (CACHET_PGLITE_TEMPLATE). The test harness makes one per run, so the host processes of a run
 * skip initdb; a template from another PGlite version would not load.
 */
export async function writePgliteTemplate(file: string): Promise<void> {
  const { PGlite } = await import("@electric-sql/pglite");
  const db = await PGlite.create();
  try {
    const dump = await db.dumpDataDir("none");
    writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  } finally {
    await db.close();
  }
}
