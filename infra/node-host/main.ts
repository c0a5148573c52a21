/**
 * `npm start`: the whole platform on one machine, on embedded defaults. Every setting (the
 * README's configuration table, lib/config/settings.ts) is checked before anything starts: a bad
 * value stops the process with one line per problem (exit code 78), an unreachable Redis or
 * PostgreSQL with a line naming it and the variable it came from (exit code 69).
 *
 *   --port=N             overrides PORT
 *   --services=a,b       overrides CACHET_SERVICES
 *
 * Unset REDIS_URL starts `redis-server` over `.cachet/redis`; unset DATABASE_URL starts a
 * PostgreSQL server over `.cachet/postgres` when its binaries are installed, else embedded PGlite.
 * With one worker (CACHET_WORKERS) the host runs in this process; with more, this process starts
 * the embedded servers and supervises the workers, each of which runs this file again as a
 * cluster worker.
 */
import { randomBytes } from "node:crypto";
import cluster from "node:cluster";
import { join, resolve } from "node:path";
import { generateSecret, readOrCreateSecretFile } from "../../lib/auth/secrets.ts";
import { validateTokenConfig } from "../../lib/auth/tokens.ts";
import { generateKeyPair } from "../../lib/l3-keyring.ts";
import { waitForPostgres, waitForRedis } from "../../lib/config/dependencies.ts";
import { EXIT_CODES, exitCodeOf, readConfig, type Config } from "../../lib/config/index.ts";
import { databaseIdentity } from "../../lib/deployment.ts";
import { DEFAULT_APP_ROOT } from "./cli/generate.ts";
import { SMALL_SERVER_SETTINGS, findPostgresBinDir, startPostgresServer, type EmbeddedPostgres } from "./embedded/postgres.ts";
import { startRedisServer, type EmbeddedRedis } from "./embedded/redis.ts";
import log from "./encore/log.ts";
import type { RunningHost } from "./host.ts";
import { loadInternalSecret } from "./internal-secret.ts";
import { reportToPrimary, startWorkers, workerCount, type WorkerPool } from "./workers.ts";

const appRoot = process.env.CACHET_APP_ROOT ?? DEFAULT_APP_ROOT;
/** Embedded Redis and PostgreSQL data and the generated admin token; CACHET_DATA_DIR moves it. */
const dataDir = process.env.CACHET_DATA_DIR || join(appRoot, ".cachet");

function argValue(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

/** Applies the command line's overrides to the environment, so every reader of PORT and CACHET_SERVICES sees them. */
function applyArguments(): void {
  const port = argValue("port");
  const services = argValue("services");
  if (port !== undefined) process.env.PORT = port;
  if (services !== undefined) process.env.CACHET_SERVICES = services;
}

/** Every setting, checked: stops the process (exit 78) with one line per problem. */
function checkedConfig(): Config {
  applyArguments();
  const { config, problems, warnings } = readConfig(process.env);
  for (const warning of warnings) log.warn(warning);
  if (problems.length) {
    console.error(
      `Cachet cannot start: ${problems.length === 1 ? "a setting needs" : `${problems.length} settings need`} fixing (see the README's Configuration table):`,
    );
    for (const problem of problems) console.error(`  ${problem}`);
    process.exit(EXIT_CODES.config);
  }
  return config;
}

/**
 * The bootstrap admin token: from the environment, else generated once and kept on disk.
 * `generated` is true only on the start that created the file, so the token is printed once.
 */
function adminToken(config: Config): { token: string; generated: boolean } {
  if (config.CACHE_ADMIN_TOKEN) return { token: config.CACHE_ADMIN_TOKEN, generated: false };
  const { secret, created } = readOrCreateSecretFile(join(dataDir, "admin-token"), () => generateSecret("cachet_admin_"));
  return { token: secret, generated: created };
}

/** One host, with what `primary()` set up (Redis and database URLs, secret, token) in the environment. */
async function runHost(config: Config): Promise<RunningHost> {
  const services = (config.CACHET_SERVICES ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const serviceUrls: Record<string, string> = { ...config.CACHET_SERVICE_URLS };
  if (config.CACHET_GATEWAY_URL) serviceUrls["*"] = config.CACHET_GATEWAY_URL;
  const instanceId = `host-${process.pid}-${randomBytes(3).toString("hex")}`;
  const pgliteDir = config.CACHET_PGLITE_DIR === "memory://" ? "memory://" : resolve(appRoot, config.CACHET_PGLITE_DIR ?? join(".cachet", "pglite"));
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const databases = databaseIdentity({ databaseUrl, databasePrefix: config.CACHET_DATABASE_PREFIX, pgliteDir, instance: instanceId });
  // Imported here: a primary that only supervises workers never loads the services.
  const { startHost } = await import("./host.ts");
  return startHost({
    instanceId,
    deploymentCheck: { mode: config.CACHET_DEPLOYMENT_CHECK, databases },
    appRoot,
    redisUrl: process.env.REDIS_URL!,
    port: config.PORT,
    services,
    serviceUrls,
    keyPrefix: config.CACHET_KEY_PREFIX,
    internalSecret: process.env.CACHET_INTERNAL_SECRET,
  });
}

/** Stops `stop` once on SIGTERM, SIGINT (or `also`), then exits; 20 s at most. */
function onShutdown(stop: () => Promise<void>, also: string[] = []): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    setTimeout(() => process.exit(1), 20_000).unref();
    await stop();
    process.exit(0);
  };
  for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => void shutdown(signal));
  for (const event of also) process.on(event, () => void shutdown(event));
}

/**
 * The database the hosts use, started here when needed: DATABASE_URL (waited for); else PGlite
 * when CACHET_PGLITE_DIR asks for it or PostgreSQL's binaries are missing; else a PostgreSQL
 * server over `.cachet/postgres` with one database, `cachet`.
 */
async function startDatabase(config: Config): Promise<{ kind: "url" | "pglite" | "embedded"; server?: EmbeddedPostgres }> {
  if (config.DATABASE_URL) {
    await waitForPostgres(config.DATABASE_URL, { timeoutMs: config.CACHET_DEPENDENCY_WAIT_MS, variable: "DATABASE_URL" });
    return { kind: "url" };
  }
  if (config.CACHET_PGLITE_DIR || !findPostgresBinDir()) return { kind: "pglite" };
  const server = await startPostgresServer({ dataDir: join(dataDir, "postgres", "data"), database: "cachet", settings: SMALL_SERVER_SETTINGS });
  process.env.DATABASE_URL = server.url;
  log.info("started embedded postgres", { url: server.url, data: join(dataDir, "postgres") });
  const child = server.process;
  process.on("exit", () => child.kill("SIGINT"));
  return { kind: "embedded", server };
}

async function primary() {
  const config = checkedConfig();
  const workers = workerCount();
  let redis: EmbeddedRedis | undefined;
  if (config.REDIS_URL) await waitForRedis(config.REDIS_URL, { timeoutMs: config.CACHET_DEPENDENCY_WAIT_MS, variable: "REDIS_URL" });
  else {
    // Password-protected too: other users of this machine can reach loopback ports.
    const password = readOrCreateSecretFile(join(dataDir, "redis-password"), generateSecret).secret;
    redis = await startRedisServer({ dataDir: join(dataDir, "redis"), password });
    process.env.REDIS_URL = redis.url;
    log.info("started embedded redis-server", { url: `redis://127.0.0.1:${redis.port}`, data: join(dataDir, "redis") });
    const child = redis.process;
    process.on("exit", () => child.kill("SIGTERM"));
  }
  const database = await startDatabase(config);
  if (database.kind === "embedded" && process.env.CACHE_L3 !== "off" && !process.env.CACHE_L3_KEY) {
    // On the embedded defaults the whole platform runs, the L3 tier included (on once a key is
    // set), with a development key kept beside the data it encrypts.
    process.env.CACHE_L3_KEY = readOrCreateSecretFile(join(dataDir, "l3-key"), () => generateKeyPair("dev1")).secret;
  }
  if (database.kind === "pglite" && workers.count > 1) {
    const reason = "PGlite serves one process: install PostgreSQL's server binaries or set DATABASE_URL to run several workers";
    if (workers.explicit) throw new Error(`CACHET_WORKERS=${workers.count}: ${reason}.`);
    log.warn(`running 1 worker, not ${workers.count}: ${reason}`);
    workers.count = 1;
  }
  const admin = adminToken(config);
  process.env.CACHE_ADMIN_TOKEN = admin.token;
  validateTokenConfig(admin.token, process.env.CACHE_TOKENS ?? "");
  // Set once here, so workers never race to create it.
  process.env.CACHET_INTERNAL_SECRET = loadInternalSecret(appRoot);

  let port: number;
  let stopServing: () => Promise<void>;
  if (workers.count === 1) {
    const host = await runHost(config);
    port = host.port;
    stopServing = host.stop;
  } else {
    const pool: WorkerPool = await startWorkers({ count: workers.count, log });
    port = pool.port;
    stopServing = () => pool.stop();
  }
  const url = `http://localhost:${port}`;
  // performance.now() counts from the process's start: module loading included.
  const took = (performance.now() / 1000).toFixed(2);
  console.log(`\nCachet is running: ${url}  (health: ${url}/api/health; ${workers.count} worker${workers.count > 1 ? "s" : ""}, started in ${took} s)`);
  if (admin.generated) console.log(`Admin token (generated now, kept in .cachet/admin-token; not printed again): ${admin.token}\n`);

  onShutdown(async () => {
    await stopServing();
    await Promise.all([redis?.stop(), database.server?.stop()]);
  });
}

/** A cluster worker: one full host on the shared port; it stops when the primary goes away. */
async function worker() {
  let host: RunningHost;
  try {
    host = await runHost(checkedConfig());
  } catch (error) {
    reportToPrimary({ cachet: "failed", message: error instanceof Error ? error.message : String(error) });
    throw error;
  }
  onShutdown(() => host.stop(), ["disconnect"]);
  reportToPrimary({ cachet: "ready", port: host.port });
}

(cluster.isWorker ? worker() : primary()).catch((err) => {
  console.error(`Cachet cannot start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(exitCodeOf(err));
});
