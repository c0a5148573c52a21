/**
 * The PostgreSQL L3 store against a real PostgreSQL server, through the `l3` Encore database as
 * cache-manager declares it (db.ts) and its migration: the contract suite, where a pool of
 * connections makes the lock tests truly concurrent.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll } from "vitest";
import { DatabaseRuntime, setDatabaseRuntime } from "../../../infra/node-host/runtime/sqldb";
import { startPostgresServer, type TestPostgresServer } from "../../../infra/node-host/testing/postgres";
import { l3db } from "../../db.ts";
import { registerL3ContractSuite } from "./contract.ts";
import { sqlDatabaseBackend } from "./testing.ts";

const appRoot = fileURLToPath(new URL("../../..", import.meta.url));
let server: TestPostgresServer;
let runtime: DatabaseRuntime;

beforeAll(async () => {
  server = await startPostgresServer();
  runtime = new DatabaseRuntime({ appRoot, databaseUrl: server.url, databaseNamePrefix: "l3test_", log: () => undefined });
  setDatabaseRuntime(runtime);
});
afterAll(async () => {
  await runtime?.close();
  setDatabaseRuntime(undefined);
  await server?.stop();
});

registerL3ContractSuite("postgres", () => sqlDatabaseBackend(l3db));
