import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { POSTGRES_INSTALL_HINT, findPostgresBinDir, startPostgresServer as startServer } from "../embedded/postgres.ts";

export { POSTGRES_INSTALL_HINT, findPostgresBinDir };

/**
 * A throwaway PostgreSQL server for tests: a fresh cluster in a temp directory, listening on a
 * free loopback port with trust auth, removed again by `stop()`. Tests use it to exercise the
 * Node host against a real server (the `DATABASE_URL` path) instead of a mock.
 *
 * @example
 * const server = await startPostgresServer();
 * process.env.DATABASE_URL = server.url; // postgres://postgres@127.0.0.1:PORT/postgres
 * ...
 * await server.stop();
 */
export interface TestPostgresServer {
  /** Superuser URL of the `postgres` maintenance database. */
  url: string;
  port: number;
  /** The temp directory holding the cluster (data/ and the Unix socket). */
  dir: string;
  process: ChildProcess;
  /** Stops the server (fast shutdown, SIGKILL after 5 s) and deletes its directory. */
  stop(): Promise<void>;
}

export interface TestPostgresOptions {
  /** Directory holding `initdb` and `postgres`; found automatically when unset. */
  binDir?: string;
  port?: number;
  /** Extra `postgres -c name=value` settings. */
  settings?: Record<string, string>;
}

/** Settings that trade durability for speed: a test cluster is thrown away anyway. */
const FAST_SETTINGS: Record<string, string> = {
  fsync: "off",
  synchronous_commit: "off",
  full_page_writes: "off",
  max_connections: "200",
};

/**
 * Creates a cluster with `initdb` in a fresh temp directory and starts `postgres` on a free
 * loopback port. Throws with an install hint when the binaries are missing.
 */
export async function startPostgresServer(options: TestPostgresOptions = {}): Promise<TestPostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), "cachet-pg-"));
  try {
    const server = await startServer({ ...options, dataDir: join(dir, "data"), socketDir: dir, settings: { ...FAST_SETTINGS, ...options.settings } });
    return {
      ...server,
      dir,
      async stop() {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
