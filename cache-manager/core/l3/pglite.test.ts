/**
 * The PostgreSQL L3 store on embedded PGlite (what `npm start` uses without DATABASE_URL and
 * without PostgreSQL binaries): the same contract suite. PGlite has one connection, so the lock
 * tests pass by its serialisation rather than by the advisory lock; `postgres.test.ts` is the
 * one where they race for real.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll } from "vitest";
import { DatabaseRuntime, PGLITE_MEMORY, setDatabaseRuntime } from "../../../infra/node-host/runtime/sqldb";
import { l3db } from "../../db.ts";
import { registerL3ContractSuite } from "./contract.ts";
import { sqlDatabaseBackend } from "./testing.ts";

const appRoot = fileURLToPath(new URL("../../..", import.meta.url));
let runtime: DatabaseRuntime;

beforeAll(() => {
  runtime = new DatabaseRuntime({ appRoot, pgliteDir: PGLITE_MEMORY, log: () => undefined });
  setDatabaseRuntime(runtime);
});
afterAll(async () => {
  await runtime?.close();
  setDatabaseRuntime(undefined);
});

registerL3ContractSuite("pglite", () => sqlDatabaseBackend(l3db), { oneConnection: true });
