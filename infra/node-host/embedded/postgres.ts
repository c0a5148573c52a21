/**
 * A PostgreSQL server run by the Node host itself, from the installed server binaries (`initdb`,
 * `postgres`): `npm start` keeps one in `.cachet/postgres` holding every service's database, so
 * the host process carries no embedded WASM databases (PGlite costs ~250 MB of RSS per database).
 * The test harness (../testing/postgres.ts) starts throwaway ones the same way.
 *
 * @example
 * const server = await startPostgresServer({ dataDir: ".cachet/postgres/data", database: "cachet" });
 * process.env.DATABASE_URL = server.url; // postgres://postgres@127.0.0.1:PORT/cachet
 * ...
 * await server.stop();
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import pg from "pg";
import { freePort } from "./ports.ts";

export interface EmbeddedPostgres {
  /** Superuser URL of `database`. */
  url: string;
  port: number;
  process: ChildProcess;
  /** Stops the server (fast shutdown, SIGKILL after 5 s) and waits for it to exit. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory: created with `initdb` when it holds no cluster yet. */
  dataDir: string;
  /** Where the server's Unix socket goes; default the data directory's parent. */
  socketDir?: string;
  /** Directory holding `initdb` and `postgres`; found with `findPostgresBinDir` when unset. */
  binDir?: string;
  port?: number;
  /** A database to create (when missing) and to point `url` at; default `postgres`. */
  database?: string;
  /** Extra `postgres -c name=value` settings. */
  settings?: Record<string, string>;
  /** How long to wait for the server to accept connections; default 20 s. */
  readyTimeoutMs?: number;
}

export const POSTGRES_INSTALL_HINT =
  "PostgreSQL server binaries (initdb, postgres) were not found. Install them " +
  "(Debian/Ubuntu: `apt-get install -y postgresql`, macOS: `brew install postgresql`), " +
  "or set POSTGRES_BIN_DIR to the directory that holds them.";

/**
 * Settings for a small local server: a laptop's idle memory matters more than throughput, and
 * the host's pools are small (CACHET_PG_POOL_MAX per database per process).
 */
export const SMALL_SERVER_SETTINGS: Record<string, string> = {
  shared_buffers: "32MB",
  max_connections: "200",
  max_wal_size: "256MB",
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
    const majors = readdirSync(debianRoot)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
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
    throw new Error("Running as root, but there is no `postgres` OS user to run the server as (PostgreSQL refuses to run as root). " + POSTGRES_INSTALL_HINT);
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Resolves once `url` accepts a connection, polling; rejects if `child` exits first. */
export async function waitUntilReady(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
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
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The pid in a cluster's `postmaster.pid` when that process is alive, else undefined. */
function runningPostmaster(dataDir: string): { pid: number; port: number } | undefined {
  let lines: string[];
  try {
    lines = readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n");
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return undefined;
  }
  return { pid, port: Number(lines[3]) };
}

/** Creates database `name` unless it exists; losing a creation race to another process is fine. */
async function ensureDatabase(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const existing = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (existing.rowCount) return;
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((error: { code?: string }) => {
      if (error.code !== "42P04" && error.code !== "23505") throw error;
    });
  } finally {
    await client.end();
  }
}

/**
 * Starts `postgres` on a free loopback port over the cluster in `dataDir` (running `initdb`
 * first when there is none) and resolves once it accepts connections. Throws with an install
 * hint when the binaries are missing, and names the process when another one already serves the
 * directory.
 */
export async function startPostgresServer(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const binDir = options.binDir ?? findPostgresBinDir();
  if (!binDir || !existsSync(join(binDir, "initdb")) || !existsSync(join(binDir, "postgres"))) {
    throw new Error(`${POSTGRES_INSTALL_HINT}${binDir ? ` (looked in ${binDir})` : ""}`);
  }
  const identity = serverIdentity();
  const spawnAs: SpawnOptions = identity ? { uid: identity.uid, gid: identity.gid } : {};
  const { dataDir } = options;
  const socketDir = options.socketDir ?? dirname(dataDir);
  mkdirSync(socketDir, { recursive: true });
  if (identity) chownSync(socketDir, identity.uid, identity.gid);

  const running = runningPostmaster(dataDir);
  if (running) {
    throw new Error(
      `The PostgreSQL data directory ${dataDir} is in use by process ${running.pid} (port ${running.port}). ` +
        `Stop that instance, or share its server: DATABASE_URL=postgres://postgres@127.0.0.1:${running.port}/${options.database ?? "postgres"}`,
    );
  }
  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    const initdb = spawnSync(join(binDir, "initdb"), ["-D", dataDir, "-U", "postgres", "--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C"], {
      ...spawnAs,
      encoding: "utf8",
    });
    if (initdb.status !== 0) throw new Error(`initdb failed (${initdb.status ?? initdb.error?.message}):\n${initdb.stdout}${initdb.stderr}`);
  }

  const port = options.port ?? (await freePort());
  const args = ["-D", dataDir, "-p", String(port), "-k", socketDir, "-c", "listen_addresses=127.0.0.1"];
  for (const [name, value] of Object.entries(options.settings ?? {})) args.push("-c", `${name}=${value}`);
  const child = spawn(join(binDir, "postgres"), args, { ...spawnAs, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer) => {
    // Keep the tail only: it is shown when startup fails, and a long run would grow it forever.
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const serverUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const database = options.database ?? "postgres";
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGINT"); // "fast shutdown": disconnects clients and exits cleanly.
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    await waitUntilReady(serverUrl, child, () => output, options.readyTimeoutMs ?? 20_000);
    if (database !== "postgres") await ensureDatabase(serverUrl, database);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/${database}`, port, process: child, stop };
}
