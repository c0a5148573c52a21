import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, describe, expect, test } from "vitest";
import { openPglite } from "../runtime/sqldb/pglite.ts";

const dir = mkdtempSync(join(tmpdir(), "cachet-pglite-template-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const userTables = "SELECT table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1";

describe("an in-memory PGlite database with a template (CACHET_PGLITE_TEMPLATE)", () => {
  test("starts from the template's cluster, not from a fresh initdb", async () => {
    const marked = await PGlite.create();
    await marked.exec("CREATE TABLE from_the_template (id int); INSERT INTO from_the_template VALUES (7)");
    const file = join(dir, "marked.tar");
    writeFileSync(file, Buffer.from(await (await marked.dumpDataDir("none")).arrayBuffer()));
    await marked.close();

    const engine = await openPglite("db", undefined, { acquireTimeoutMs: 5_000, pgliteTemplate: file });
    try {
      expect((await engine.query("SELECT id FROM from_the_template")).rows).toEqual([{ id: 7 }]);
    } finally {
      await engine.close();
    }
  }, 60_000);

  test("the run's template (written by the global setup) is an empty cluster that takes writes; a directory database ignores it", async () => {
    const file = process.env.CACHET_PGLITE_TEMPLATE!;
    const engine = await openPglite("db", undefined, { acquireTimeoutMs: 5_000, pgliteTemplate: file });
    try {
      expect((await engine.query(userTables)).rows).toEqual([]);
      await engine.query("CREATE TABLE t (v text)");
      await engine.query("INSERT INTO t VALUES ($1)", ["written"]);
      expect((await engine.query("SELECT v FROM t")).rows).toEqual([{ v: "written" }]);
    } finally {
      await engine.close();
    }
    const onDisk = await openPglite("db", join(dir, "on-disk"), { acquireTimeoutMs: 5_000, pgliteTemplate: join(dir, "marked.tar") });
    try {
      expect((await onDisk.query(userTables)).rows).toEqual([]);
    } finally {
      await onDisk.close();
    }
  }, 60_000);
});
