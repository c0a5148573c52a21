/**
 * The audit log on a real PostgreSQL server: the batching writer's throughput and ordering with
 * two writers (two processes) appending at once, the append-only trigger, tamper detection and
 * refusal while the server is down.
 */
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SQLDatabase } from "encore.dev/storage/sqldb";
import { DatabaseRuntime, setDatabaseRuntime } from "../infra/node-host/runtime/sqldb";
import { startPostgresServer, type TestPostgresServer } from "../infra/node-host/testing/postgres";
import { ChainVerifier, type AuditEntry } from "./core/chain";
import { AuditWriter } from "./core/writer";
import { postgresAuditStore, rowsAfter } from "./audit-store";

const appRoot = fileURLToPath(new URL("..", import.meta.url));
let server: TestPostgresServer;
let runtime: DatabaseRuntime;
let db: SQLDatabase;
let admin: pg.Client;

beforeAll(async () => {
  server = await startPostgresServer();
  runtime = new DatabaseRuntime({
    appRoot,
    databaseUrl: server.url,
    databaseNamePrefix: "audit_",
    databases: [
      { name: "invalidation", service: "invalidation", migrations: "invalidation/migrations", pos: { file: "invalidation/db.ts", line: 3, column: 1 } },
    ],
    log: () => undefined,
  });
  setDatabaseRuntime(runtime);
  db = new SQLDatabase("invalidation", { migrations: "./migrations" });
  await db.rawExec("SELECT 1");
  // The database's own URL: the DATABASE_URL database, confined to its schema (audit_invalidation).
  admin = new pg.Client({ connectionString: db.connectionString });
  admin.on("error", () => undefined); // the last test stops the server under it
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await runtime?.close();
  setDatabaseRuntime(undefined);
  await server?.stop();
});

let next = 0;
const entry = (overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  requestId: `req-${++next}`,
  event: "requested",
  recordedAt: new Date(),
  actor: "ops",
  kind: "keys",
  target: { keys: [`k:${next}`] },
  reason: "test",
  dryRun: false,
  matched: null,
  deleted: null,
  instances: null,
  durationMs: null,
  error: null,
  ...overrides,
});

async function verifyAll() {
  const verifier = new ChainVerifier();
  return { broken: verifier.check(await rowsAfter(db, 0, 1_000_000)), verifier };
}

describe("batching audit writer", () => {
  test("two writers appending 5,000 rows at once: one dense chain, no fork; rows/s printed", async () => {
    const writers = [new AuditWriter(postgresAuditStore(db)), new AuditWriter(postgresAuditStore(db))];
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 5000 }, (_, i) => writers[i % 2].append(entry())));
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `audit writer: 5000 rows in ${seconds.toFixed(2)} s = ${Math.round(5000 / seconds)} rows/s (2 writers, ${writers.map((w) => w.stats().batches).join("+")} batches)`,
    );
    expect(new Set(results.map((r) => r.row.seq)).size).toBe(5000);
    expect(results.every((r) => r.created)).toBe(true);
    const { broken, verifier } = await verifyAll();
    expect(broken).toBeNull();
    expect(verifier.checked).toBeGreaterThanOrEqual(5000);
    expect(writers[0].stats().batches + writers[1].stats().batches).toBeLessThan(500); // batched, not row by row
  });

  test("an outcome recorded twice is one row; the second append reports it was not created", async () => {
    const writer = new AuditWriter(postgresAuditStore(db));
    const request = entry();
    await writer.append(request);
    const outcome = { ...request, event: "completed" as const, recordedAt: new Date(), matched: 3, deleted: 3 };
    const [first, again, duplicate] = await Promise.all([writer.append(outcome), writer.append({ ...outcome, deleted: 99 }), writer.append(outcome)]);
    expect([first.created, again.created, duplicate.created]).toEqual([true, false, false]);
    const later = await writer.append({ ...outcome, deleted: 7 });
    expect([later.created, later.row.deleted, later.row.seq]).toEqual([false, 3, first.row.seq]);
  });
});

describe("append-only and tamper-evident", () => {
  test("the trigger refuses UPDATE, DELETE and TRUNCATE", async () => {
    await new AuditWriter(postgresAuditStore(db)).append(entry());
    await expect(admin.query("UPDATE audit_log SET reason = 'edited' WHERE seq = 1")).rejects.toThrow(/append-only: UPDATE/);
    await expect(admin.query("DELETE FROM audit_log WHERE seq = 1")).rejects.toThrow(/append-only: DELETE/);
    await expect(admin.query("TRUNCATE audit_log")).rejects.toThrow(/append-only: TRUNCATE/);
  });

  test("a row altered behind the trigger's back is the first bad row", async () => {
    expect((await verifyAll()).broken).toBeNull();
    await admin.query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update");
    await admin.query("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 42");
    await admin.query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update");
    const { broken } = await verifyAll();
    expect(broken).toMatchObject({ seq: 42, problem: expect.stringMatching(/altered/) });
  });

  test("with PostgreSQL down, appends are refused (the caller must not acknowledge)", async () => {
    const writer = new AuditWriter(postgresAuditStore(db));
    await server.stop();
    await expect(writer.append(entry())).rejects.toThrow();
    expect(writer.stats().failedBatches).toBe(1);
  });
});
