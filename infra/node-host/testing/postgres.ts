import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "../embedded/ports.ts";

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

export const POSTGRES_INSTALL_HINT =
  "PostgreSQL server binaries (initdb, postgres) were not found. Install them " +
  "(Debian/Ubuntu: `apt-get install -y postgresql`, macOS: `brew install postgresql`), " +
  "or set POSTGRES_BIN_DIR to the directory that holds them.";

/** Settings that trade durability for speed: a test cluster is thrown away anyway. */
const FAST_SETTINGS: Record<string, string> = {
  fsync: "off",
  synchronous_commit: "off",
  full_page_writes: "off",
  max_connections: "200",
};

/**
 * Finds the directory holding `initdb` and `postgres`: POSTGRES_BIN_DIR, then Debian's
 * versioned `/usr/lib/postgresql/<major>/bin` (newest first), then `pg_config --bindir`.
 */
export function findPostgresBinDir(): string | undefined {
  const candidates: string[] = [];
  if (process.env.POSTGRES_BIN_DIR) candidates.push(process.env.POSTGRES_BIN_DIR);
  const debianRoot = "/usr/lib/postgresql";
  if (existsSync(debianRoot)) {
    const majors = readdirSync(debianRoot).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...majors.map((major) => join(debianRoot, major, "bin")));
  }
  const pgConfig = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  if (pgConfig.status === 0) candidates.push(pgConfig.stdout.trim());
  return candidates.find((dir) => existsSync(join(dir, "initdb")) && existsSync(join(dir, "postgres")));
}

/**
 * PostgreSQL refuses to run as root. When we are root, the server runs as the `postgres` OS
 * user (created by the Debian package); otherwise as ourselves.
 */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return undefined;
  const uid = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error(
      "Running as root, but there is no `postgres` OS user to run the server as (PostgreSQL refuses to run as root). " +
        POSTGRES_INSTALL_HINT,
    );
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Resolves once `url` accepts a connection, polling; rejects if `child` exits first. */
async function waitUntilReady(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once("exit", () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`postgres exited with ${child.exitCode ?? child.signalCode} before it was ready:\n${output()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`postgres did not accept connections within ${timeoutMs} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Creates a cluster with `initdb` in a fresh temp directory and starts `postgres` on a free
 * loopback port. Throws with an install hint when the binaries are missing.
 */
export async function startPostgresServer(options: TestPostgresOptions = {}): Promise<TestPostgresServer> {
  const binDir = options.binDir ?? findPostgresBinDir();
  if (!binDir || !existsSync(join(binDir, "initdb")) || !existsSync(join(binDir, "postgres"))) {
    throw new Error(`${POSTGRES_INSTALL_HINT}${binDir ? ` (looked in ${binDir})` : ""}`);
  }
  const identity = serverIdentity();
  const spawnAs: SpawnOptions = identity ? { uid: identity.uid, gid: identity.gid } : {};

  const dir = mkdtempSync(join(tmpdir(), "cachet-pg-"));
  const dataDir = join(dir, "data");
  if (identity) chownSync(dir, identity.uid, identity.gid);

  const initdb = spawnSync(
    join(binDir, "initdb"),
    ["-D", dataDir, "-U", "postgres", "--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C"],
    { ...spawnAs, encoding: "utf8" },
  );
  if (initdb.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${initdb.status ?? initdb.error?.message}):\n${initdb.stdout}${initdb.stderr}`);
  }

  const port = options.port ?? (await freePort());
  const settings = { ...FAST_SETTINGS, ...options.settings };
  const args = ["-D", dataDir, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1"];
  for (const [name, value] of Object.entries(settings)) args.push("-c", `${name}=${value}`);
  const child = spawn(join(binDir, "postgres"), args, { ...spawnAs, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer) => {
    // Keep the tail only: it is shown when startup fails, and a long run would grow it forever.
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGINT"); // "fast shutdown": disconnects clients and exits cleanly.
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(url, child, () => output, 20_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, port, dir, process: child, stop };
}
