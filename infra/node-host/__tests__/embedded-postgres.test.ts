/**
 * `npm start` without DATABASE_URL, with PostgreSQL's binaries installed: one PostgreSQL server
 * over the data directory holds every service's database, and the host process stays small.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, expect, test } from "vitest";
import { startHostProcess } from "../testing/hosts.ts";

const dataDir = mkdtempSync(join(tmpdir(), "cachet-data-"));
// Like a checkout's .cachet/: the server may run as the `postgres` OS user, who must reach it.
chmodSync(dataDir, 0o755);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The port in a running cluster's postmaster.pid (line 4). */
function postmasterPort(): number {
  return Number(readFileSync(join(dataDir, "postgres", "data", "postmaster.pid"), "utf8").split("\n")[3]);
}

test("one embedded PostgreSQL server holds every service's schema in one database, kept across restarts; the host stays under 300 MB", async () => {
  // Empty values unset what the test environment sets (PGlite in memory).
  const env = { CACHET_DATA_DIR: dataDir, DATABASE_URL: "", CACHET_PGLITE_DIR: "" };
  const first = await startHostProcess({ env, startTimeoutMs: 180_000 });
  const port = postmasterPort();
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/cachet` });
  await client.connect();
  try {
    const schemas = (
      await client.query("SELECT nspname FROM pg_namespace WHERE nspname IN ('invalidation', 'warming', 'monitoring', 'origins', 'l3') ORDER BY 1")
    ).rows.map((r) => r.nspname);
    expect(schemas).toEqual(["invalidation", "l3", "monitoring", "origins", "warming"]);
    const databases = (await client.query("SELECT datname FROM pg_database ORDER BY 1")).rows.map((r) => r.datname);
    expect(databases).toEqual(["cachet", "postgres", "template0", "template1"]);
    await client.query("CREATE TABLE public.kept (id int); INSERT INTO public.kept VALUES (7)");
  } finally {
    await client.end();
  }
  const health = (await (await fetch(`${first.url}/api/health`)).json()) as { healthy: boolean };
  expect(health.healthy).toBe(true);
  expect(first.rss()).toBeLessThan(300 * 1024 * 1024);

  expect(await first.stop()).toBe(0);
  // The server went with the host.
  expect(existsSync(join(dataDir, "postgres", "data", "postmaster.pid"))).toBe(false);

  const second = await startHostProcess({ env, startTimeoutMs: 180_000 });
  const again = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${postmasterPort()}/cachet` });
  await again.connect();
  try {
    expect((await again.query("SELECT id FROM public.kept")).rows).toEqual([{ id: 7 }]);
  } finally {
    await again.end();
  }
  expect(await second.stop()).toBe(0);
}, 400_000);
