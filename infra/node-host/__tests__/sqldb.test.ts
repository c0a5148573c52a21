import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SQLDatabase } from "encore.dev/storage/sqldb";
import type { DatabaseManifest } from "../manifest/types.ts";
import {
  DatabaseRuntime,
  SQLConfigError,
  SQLMigrationError,
  SQLQueryError,
  SQLTimeoutError,
  SQLTransactionError,
  setDatabaseRuntime,
  type DatabaseRuntimeOptions,
} from "../runtime/sqldb.ts";
import { startPostgresServer, type TestPostgresServer } from "../testing/postgres.ts";

// ─── Fixtures ───────────────────────────────────────────────────────────────────────────────────

const scratch = mkdtempSync(join(tmpdir(), "cachet-sqldb-test-"));

/** Writes `files` into a fresh migrations directory under the scratch dir; returns its path. */
function migrationsDir(name: string, files: Record<string, string>): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, sql] of Object.entries(files)) writeFileSync(join(dir, file), sql);
  return dir;
}

function manifestEntry(name: string, migrations: string, service?: string): DatabaseManifest {
  return { name, service, migrations: relative(scratch, migrations), pos: { file: `${name}/db.ts`, line: 1, column: 1 } };
}

function runtime(options: Partial<DatabaseRuntimeOptions> = {}): DatabaseRuntime {
  return new DatabaseRuntime({ appRoot: scratch, pgliteDir: "memory://", log: () => undefined, ...options });
}

/** A unique suffix, so tests sharing a table never see each other's rows. */
const unique = () => Math.random().toString(36).slice(2, 10);

const shopMigrations = migrationsDir("shop", {
  "1_create_items.up.sql": `
    CREATE TABLE items (
      id bigserial PRIMARY KEY,
      name text NOT NULL UNIQUE,
      qty int8 NOT NULL DEFAULT 0,
      tags jsonb,
      made_on date,
      created_at timestamptz NOT NULL DEFAULT now(),
      blob bytea
    );`,
  "1_create_items.down.sql": "DROP TABLE items;",
  "2_add_price.up.sql": "ALTER TABLE items ADD COLUMN price numeric(10, 2);",
  // Needs migration 2: version order is numeric (10 after 2), not lexical.
  "10_price_default.up.sql": "ALTER TABLE items ALTER COLUMN price SET DEFAULT 0;\nCREATE TABLE notes (body text NOT NULL);",
  "README.md": "not a migration",
});

// Declared the way a service declares it: the path is relative to this file's directory.
const shop = new SQLDatabase("shop", { migrations: relative(dirname(fileURLToPath(import.meta.url)), shopMigrations) });

// ─── One contract, both backends ────────────────────────────────────────────────────────────────

/** The behaviour of `SQLDatabase` that must not depend on which engine runs it. */
function sqlDatabaseContract() {
  test("migrations declared relative to the declaring file are applied before the first query", async () => {
    const columns = await shop.queryAll<{ column_name: string }>`
      SELECT column_name FROM information_schema.columns WHERE table_name = 'items' ORDER BY column_name`;
    expect(columns.map((c) => c.column_name)).toContain("price");
  });

  test("template values are sent as parameters, so quotes and injection attempts are stored literally", async () => {
    const name = `Robert'); DROP TABLE items; -- ${unique()}`;
    const tags = { quote: 'it\'s "quoted"', sql: "'; DELETE FROM items; --" };
    await shop.exec`INSERT INTO items (name, tags) VALUES (${name}, ${tags})`;

    const row = await shop.queryRow<{ name: string; tags: typeof tags }>`SELECT name, tags FROM items WHERE name = ${name}`;
    expect(row).toEqual({ name, tags });
    // A placeholder-looking value is data too.
    expect(await shop.queryRow`SELECT ${"$1"}::text AS v`).toEqual({ v: "$1" });
    expect(await shop.queryRow`SELECT count(*) AS n FROM items WHERE name = ${name}`).toEqual({ n: 1 });
  });

  test("queryRow, queryAll, query and exec and their raw variants return rows as Encore does", async () => {
    const prefix = `q-${unique()}`;
    for (const [i, qty] of [10, 20, 30].entries()) await shop.exec`INSERT INTO items (name, qty) VALUES (${`${prefix}-${i}`}, ${qty})`;
    await shop.rawExec("UPDATE items SET qty = qty + $1 WHERE name = $2", 1, `${prefix}-0`);

    const all = await shop.queryAll<{ name: string; qty: number }>`
      SELECT name, qty FROM items WHERE name LIKE ${`${prefix}-%`} ORDER BY name`;
    expect(all).toEqual([
      { name: `${prefix}-0`, qty: 11 },
      { name: `${prefix}-1`, qty: 20 },
      { name: `${prefix}-2`, qty: 30 },
    ]);
    expect(await shop.rawQueryAll("SELECT name FROM items WHERE name LIKE $1 AND qty > $2 ORDER BY name", `${prefix}-%`, 15)).toEqual([
      { name: `${prefix}-1` },
      { name: `${prefix}-2` },
    ]);
    expect(await shop.queryRow`SELECT name FROM items WHERE name = ${"missing"}`).toBeNull();
    expect(await shop.rawQueryRow("SELECT qty FROM items WHERE name = $1", `${prefix}-2`)).toEqual({ qty: 30 });

    const streamed: string[] = [];
    for await (const row of shop.query<{ name: string }>`SELECT name FROM items WHERE name LIKE ${`${prefix}-%`} ORDER BY name`) {
      streamed.push(row.name);
    }
    expect(streamed).toHaveLength(3);
    const raw: number[] = [];
    for await (const row of shop.rawQuery<{ qty: number }>("SELECT qty FROM items WHERE name LIKE $1 ORDER BY qty", `${prefix}-%`)) raw.push(row.qty);
    expect(raw).toEqual([11, 20, 30]);
  });

  test("values round-trip with Encore's types: int8 as number, date as string, timestamptz as Date, bytea as Buffer", async () => {
    const name = `types-${unique()}`;
    const createdAt = new Date("2024-05-06T07:08:09.123Z");
    await shop.exec`
      INSERT INTO items (name, qty, made_on, created_at, blob, price, tags)
      VALUES (${name}, ${BigInt(2 ** 40)}, ${"2024-02-29"}, ${createdAt}, ${Buffer.from([0, 1, 255])}, ${"12.50"}, ${[{ a: 1 }, { b: [2] }]})`;
    const row = await shop.queryRow`SELECT qty, made_on, created_at, blob, price, tags FROM items WHERE name = ${name}`;
    expect(row).toEqual({
      qty: 2 ** 40,
      made_on: "2024-02-29",
      created_at: createdAt,
      blob: Buffer.from([0, 1, 255]),
      price: "12.50",
      tags: [{ a: 1 }, { b: [2] }],
    });
    expect(await shop.queryRow`SELECT ${undefined}::text AS nothing, ${[1, 2]}::int8[] AS ids`).toEqual({ nothing: null, ids: [1, 2] });
  });

  test("a committed transaction is visible to others; a rolled-back one leaves nothing", async () => {
    const kept = `tx-kept-${unique()}`;
    const dropped = `tx-dropped-${unique()}`;
    const tx = await shop.begin();
    await tx.exec`INSERT INTO items (name) VALUES (${kept})`;
    expect(await tx.queryRow`SELECT name FROM items WHERE name = ${kept}`).toEqual({ name: kept });
    await tx.commit();
    expect(await shop.queryRow`SELECT name FROM items WHERE name = ${kept}`).toEqual({ name: kept });

    const rolledBack = await shop.begin();
    await rolledBack.exec`INSERT INTO items (name) VALUES (${dropped})`;
    await rolledBack.rollback();
    {
      await using disposed = await shop.begin();
      await disposed.exec`INSERT INTO items (name) VALUES (${`${dropped}-using`})`;
      // Leaves scope without commit: rolled back.
    }
    expect(await shop.queryAll`SELECT name FROM items WHERE name LIKE ${`${dropped}%`}`).toEqual([]);
    await expect(tx.exec`SELECT 1`).rejects.toBeInstanceOf(SQLTransactionError);
    await expect(tx.commit()).rejects.toBeInstanceOf(SQLTransactionError);
  });

  test("committing a transaction in which a statement failed rejects and keeps nothing", async () => {
    const name = `tx-failed-${unique()}`;
    await shop.exec`INSERT INTO items (name) VALUES (${name})`;
    const tx = await shop.begin();
    await tx.exec`INSERT INTO items (name) VALUES (${`${name}-2`})`;
    await expect(tx.exec`INSERT INTO items (name) VALUES (${name})`).rejects.toMatchObject({ sqlState: "23505" });
    await expect(tx.commit()).rejects.toThrow(/rolled back instead of committed/);
    expect(await shop.queryRow`SELECT name FROM items WHERE name = ${`${name}-2`}`).toBeNull();
  });

  test("a rejected statement is a SQLQueryError with SQLSTATE, constraint and the driver error as cause", async () => {
    const name = `dup-${unique()}`;
    await shop.exec`INSERT INTO items (name) VALUES (${name})`;
    const error = await shop.exec`INSERT INTO items (name) VALUES (${name})`.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SQLQueryError);
    expect(error).toMatchObject({ sqlState: "23505", kind: "unique_violation", constraint: "items_name_key", database: "shop" });
    expect((error as Error).message).toMatch(/duplicate key value.*Key \(name\)/);
    expect((error as Error).cause).toMatchObject({ code: "23505" });
    await expect(shop.exec`SELECT 1; SELECT 2`).rejects.toMatchObject({ kind: "syntax_error" });
  });

  test("an acquired connection keeps session state until it is closed", async () => {
    const conn = await shop.acquire();
    await conn.exec`SET application_name = 'cachet-test'`;
    expect(await conn.queryRow`SELECT current_setting('application_name') AS name`).toEqual({ name: "cachet-test" });
    await conn.close();
    await expect(conn.exec`SELECT 1`).rejects.toBeInstanceOf(SQLTransactionError);
  });
}

// ─── Embedded PGlite ────────────────────────────────────────────────────────────────────────────

describe("SQLDatabase on embedded PGlite (in memory)", () => {
  const databases = runtime();
  beforeAll(() => setDatabaseRuntime(databases));
  afterAll(async () => {
    setDatabaseRuntime(undefined);
    await databases.close();
  });

  sqlDatabaseContract();

  test("connectionString describes the in-memory database", () => {
    expect(shop.connectionString).toBe("pglite://memory/shop");
  });
});

describe("migrations on embedded PGlite", () => {
  const okDir = migrationsDir("ledger-ok", {
    "1_accounts.up.sql": "CREATE TABLE accounts (id int PRIMARY KEY);",
    "2_entries.up.sql": "CREATE TABLE entries (id int PRIMARY KEY);\nINSERT INTO entries VALUES (1);",
  });
  const badDir = migrationsDir("ledger-bad", {
    "1_accounts.up.sql": "CREATE TABLE accounts (id int PRIMARY KEY);",
    "2_broken.up.sql": "CREATE TABLE half_done (id int);\n\nCREATE TABLEE oops (id int);",
  });
  const databases = runtime({ databases: [manifestEntry("ledger", okDir, "ledger-svc"), manifestEntry("broken", badDir)] });
  afterAll(() => databases.close());

  test("are applied in version order, recorded with checksums, and a second run applies nothing", async () => {
    expect(await databases.migrate({ services: ["ledger-svc"] })).toEqual([
      { database: "ledger", applied: ["1_accounts.up.sql", "2_entries.up.sql"], alreadyApplied: 0 },
    ]);
    expect(await databases.migrate(["ledger"])).toEqual([{ database: "ledger", applied: [], alreadyApplied: 2 }]);

    const engine = await databases.database("ledger");
    const history = await engine.query("SELECT version, name, length(checksum) AS len, applied_at FROM cachet_migrations ORDER BY version");
    expect(history.rows).toMatchObject([
      { version: 1, name: "accounts", len: 64 },
      { version: 2, name: "entries", len: 64 },
    ]);
    expect((await engine.query("SELECT version, dirty FROM schema_migrations")).rows).toEqual([{ version: 2, dirty: false }]);
    expect((await engine.query("SELECT count(*) AS n FROM entries")).rows).toEqual([{ n: 1 }]);
  });

  test("a failing migration is rolled back and named, with its line, in the error", async () => {
    const error = await databases.migrate(["broken"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SQLMigrationError);
    expect((error as Error).message).toMatch(/ledger-bad\/2_broken\.up\.sql of database "broken" failed at line 3: syntax error at or near "TABLEE"/);
    expect(error).toMatchObject({ file: "2_broken.up.sql", database: "broken" });

    const engine = await databases.database("broken").catch(() => undefined);
    expect(engine).toBeUndefined(); // Opening migrates, and migrating still fails.
  });

  test("an applied migration that was edited afterwards is refused", async () => {
    writeFileSync(join(badDir, "2_broken.up.sql"), "CREATE TABLE half_done (id int);");
    // Succeeds only because the failed attempt left no half_done table behind.
    expect(await databases.migrate(["broken"])).toEqual([{ database: "broken", applied: ["2_broken.up.sql"], alreadyApplied: 1 }]);
    writeFileSync(join(badDir, "1_accounts.up.sql"), "CREATE TABLE accounts (id bigint PRIMARY KEY);");
    await expect(databases.migrate(["broken"])).rejects.toThrow(/1_accounts\.up\.sql of database "broken" was changed after it was applied/);
  });

  test("a migration file not named N_name.up.sql is rejected", async () => {
    const dir = migrationsDir("misnamed", { "create_tables.sql": "SELECT 1;" });
    const misnamed = runtime({ databases: [manifestEntry("misnamed", dir)] });
    await expect(misnamed.migrate(["misnamed"])).rejects.toThrow(/create_tables\.sql of database "misnamed" is not named N_name\.up\.sql/);
    await misnamed.close();
  });
});

describe("PGlite data directories", () => {
  const dataDir = join(scratch, "pglite-data");
  const dir = migrationsDir("kv", { "1_kv.up.sql": "CREATE TABLE kv (k text PRIMARY KEY, v text);" });
  const options = { pgliteDir: dataDir, databases: [manifestEntry("kv", dir)], acquireTimeoutMs: 300 };

  test("persist across runtimes, serve one runtime at a time, and say so when a transaction blocks them", async () => {
    // A lock left by a process that died is taken over.
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, "kv.lock"), String(spawnSync(process.execPath, ["-e", ""]).pid));

    const first = runtime(options);
    expect(first.connectionString("kv")).toBe(`pglite://${join(dataDir, "kv")}`);
    await first.migrate(["kv"]);
    await (await first.database("kv")).query("INSERT INTO kv VALUES ($1, $2)", ["answer", "42"]);

    const second = runtime(options);
    await expect(second.database("kv")).rejects.toThrow(/in use by process \d+ \(this process\)/);
    await first.close();

    expect(await second.migrate(["kv"])).toEqual([{ database: "kv", applied: [], alreadyApplied: 1 }]);
    const engine = await second.database("kv");
    expect((await engine.query("SELECT v FROM kv WHERE k = $1", ["answer"])).rows).toEqual([{ v: "42" }]);

    // PGlite has one connection: a query outside an open transaction waits for it, then gives up.
    const session = await engine.acquire();
    await session.query("BEGIN");
    await expect(engine.query("SELECT 1")).rejects.toBeInstanceOf(SQLTimeoutError);
    await session.release();
    expect((await engine.query("SELECT 1 AS ok")).rows).toEqual([{ ok: 1 }]);
    await second.close();
  });

  test("bad configuration is reported before anything connects", () => {
    expect(() => runtime({ databaseUrl: "mysql://localhost/db" })).toThrow(SQLConfigError);
    expect(() => runtime().connectionString("../escape")).toThrow(/Invalid database name/);
  });
});

// ─── A real PostgreSQL server ───────────────────────────────────────────────────────────────────

describe("SQLDatabase on a PostgreSQL server (DATABASE_URL)", () => {
  let server: TestPostgresServer;
  let databases: DatabaseRuntime;
  beforeAll(async () => {
    server = await startPostgresServer();
    databases = runtime({ databaseUrl: server.url, databaseNamePrefix: "contract_" });
    setDatabaseRuntime(databases);
  });
  afterAll(async () => {
    setDatabaseRuntime(undefined);
    await databases?.close();
    await server?.stop();
  });

  sqlDatabaseContract();

  test("the test server harness says how to install PostgreSQL when its binaries are missing", async () => {
    await expect(startPostgresServer({ binDir: join(scratch, "no-such-bin") })).rejects.toThrow(/apt-get install -y postgresql/);
  });

  test("connectionString is a postgres:// URL that a plain pg client can use", async () => {
    expect(shop.connectionString).toBe(`${server.url}?options=-c%20search_path%3D%22contract_shop%22`);
    const client = new pg.Client({ connectionString: shop.connectionString });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT current_database() AS db, current_schema() AS schema, count(*) > 0 AS has_items FROM items");
      expect(rows).toEqual([{ db: "postgres", schema: "contract_shop", has_items: true }]);
    } finally {
      await client.end();
    }
  });

  test("every Encore database is a schema of the DATABASE_URL database, created on first use; no other database is made", async () => {
    const dirA = migrationsDir("pg-alpha", { "1_t.up.sql": "CREATE TABLE only_in_alpha (id int);\nCREATE TABLE same_name (a int);" });
    const dirB = migrationsDir("pg-beta", { "1_t.up.sql": "CREATE TABLE only_in_beta (id int);\nCREATE TABLE same_name (b int);" });
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query("CREATE DATABASE app_owned");
    const appUrl = server.url.replace(/\/postgres$/, "/app_owned");
    const databasesBefore = (await admin.query("SELECT datname FROM pg_database ORDER BY datname")).rows;
    const isolated = runtime({
      databaseUrl: appUrl,
      databaseNamePrefix: `iso_${unique()}_`,
      databases: [manifestEntry("alpha", dirA, "a"), manifestEntry("beta", dirB, "b")],
    });
    try {
      await isolated.migrate({ services: ["a", "b"] });
      expect((await admin.query("SELECT datname FROM pg_database ORDER BY datname")).rows).toEqual(databasesBefore);
      const app = new pg.Client({ connectionString: appUrl });
      await app.connect();
      const { rows } = await app.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 ORDER BY nspname", [`${isolated.schemaName("")}%`]);
      await app.end();
      expect(rows.map((r) => r.nspname)).toEqual([isolated.schemaName("alpha"), isolated.schemaName("beta")]);

      const alpha = await isolated.database("alpha");
      expect((await alpha.query("SELECT to_regclass('only_in_alpha') IS NOT NULL AS a, to_regclass('only_in_beta') IS NOT NULL AS b")).rows).toEqual([
        { a: true, b: false },
      ]);
      // A table name used by two Encore databases names two tables.
      const beta = await isolated.database("beta");
      await alpha.query("INSERT INTO same_name (a) VALUES (1)");
      expect((await beta.query("SELECT count(*)::int AS n FROM same_name")).rows).toEqual([{ n: 0 }]);
    } finally {
      await isolated.close();
      await admin.end();
    }
  });

  test("two hosts migrating at once apply each migration exactly once", async () => {
    const dir = migrationsDir("pg-race", {
      "1_log.up.sql": "CREATE TABLE applied (migration int NOT NULL);\nSELECT pg_sleep(0.3);\nINSERT INTO applied VALUES (1);",
      "2_more.up.sql": "INSERT INTO applied VALUES (2);",
    });
    const options = { databaseUrl: server.url, databaseNamePrefix: `race_${unique()}_`, databases: [manifestEntry("race", dir)] };
    const [hostA, hostB] = [runtime(options), runtime(options)];
    try {
      const [a, b] = await Promise.all([hostA.migrate(["race"]), hostB.migrate(["race"])]);
      expect([...a[0].applied, ...b[0].applied].sort()).toEqual(["1_log.up.sql", "2_more.up.sql"]);
      expect(a[0].alreadyApplied + b[0].alreadyApplied).toBe(2);
      const engine = await hostA.database("race");
      expect((await engine.query("SELECT migration FROM applied ORDER BY migration")).rows).toEqual([{ migration: 1 }, { migration: 2 }]);
    } finally {
      await Promise.all([hostA.close(), hostB.close()]);
    }
  });
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));
