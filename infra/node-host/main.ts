/**
 * `npm start`: the whole platform on one machine, on embedded defaults.
 *
 *   PORT                 port to listen on (4000)
 *   CACHET_SERVICES      comma-separated services to run here (all); also `--services=a,b`
 *   CACHET_WORKERS       host processes sharing the port (workers.ts); unset → the cores with
 *                        NODE_ENV=production, else 1
 *   REDIS_URL            Redis to use; unset → starts `redis-server` with data under .cachet/redis
 *   DATABASE_URL         the PostgreSQL database holding every service's schema; unset → a
 *                        PostgreSQL server started here over .cachet/postgres when its binaries are
 *                        installed, else embedded PGlite under .cachet/pglite (CACHET_PGLITE_DIR
 *                        set → PGlite)
 *   CACHE_ADMIN_TOKEN    bootstrap admin token; unset → generated once, kept in .cachet/admin-token
 *   CACHET_DATA_DIR      where the embedded servers keep their data and the admin token (.cachet)
 *   CACHET_SERVICE_URLS  `svc=http://host:port,...` for services that run in other processes
 *   CACHET_GATEWAY_URL   fallback URL for every service not running here
 *
 * With one worker the host runs in this process; with more, this process starts the embedded
 * servers and supervises the workers, each of which runs this file again as a cluster worker.
 */
import { randomBytes } from "node:crypto";
import cluster from "node:cluster";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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

function parseServiceUrls(): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const pair of (process.env.CACHET_SERVICE_URLS ?? "").split(",").filter(Boolean)) {
    const [service, url] = pair.split("=");
    if (!service || !url) throw new Error(`CACHET_SERVICE_URLS: "${pair}" is not service=url`);
    urls[service.trim()] = url.trim();
  }
  if (process.env.CACHET_GATEWAY_URL) urls["*"] = process.env.CACHET_GATEWAY_URL;
  return urls;
}

/** The bootstrap admin token: from the environment, else generated once and kept on disk. */
function adminToken(): { token: string; generated: boolean } {
  if (process.env.CACHE_ADMIN_TOKEN) return { token: process.env.CACHE_ADMIN_TOKEN, generated: false };
  const file = join(dataDir, "admin-token");
  try {
    return { token: readFileSync(file, "utf8").trim(), generated: true };
  } catch {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `cachet_admin_${randomBytes(24).toString("base64url")}\n`, { mode: 0o600 });
    return { token: readFileSync(file, "utf8").trim(), generated: true };
  }
}

function listenPort(): number {
  const port = Number(argValue("port") ?? process.env.PORT ?? 4000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got "${process.env.PORT}"`);
  return port;
}

async function runHost(): Promise<RunningHost> {
  const services = (argValue("services") ?? process.env.CACHET_SERVICES ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  // Imported here: a primary that only supervises workers never loads the services.
  const { startHost } = await import("./host.ts");
  return startHost({ appRoot, redisUrl: process.env.REDIS_URL!, port: listenPort(), services, serviceUrls: parseServiceUrls(), keyPrefix: process.env.CACHET_KEY_PREFIX });
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
 * The database the hosts use, started here when needed: DATABASE_URL; else PGlite when
 * CACHET_PGLITE_DIR asks for it or PostgreSQL's binaries are missing; else a PostgreSQL server
 * over `.cachet/postgres` with one database, `cachet`.
 */
async function startDatabase(): Promise<{ kind: "url" | "pglite" | "embedded"; server?: EmbeddedPostgres }> {
  if (process.env.DATABASE_URL) return { kind: "url" };
  if (process.env.CACHET_PGLITE_DIR || !findPostgresBinDir()) return { kind: "pglite" };
  const server = await startPostgresServer({ dataDir: join(dataDir, "postgres", "data"), database: "cachet", settings: SMALL_SERVER_SETTINGS });
  process.env.DATABASE_URL = server.url;
  log.info("started embedded postgres", { url: server.url, data: join(dataDir, "postgres") });
  const child = server.process;
  process.on("exit", () => child.kill("SIGINT"));
  return { kind: "embedded", server };
}

async function primary() {
  const workers = workerCount();
  let redis: EmbeddedRedis | undefined;
  if (!process.env.REDIS_URL) {
    redis = await startRedisServer({ dataDir: join(dataDir, "redis") });
    process.env.REDIS_URL = redis.url;
    log.info("started embedded redis-server", { url: redis.url, data: join(dataDir, "redis") });
    const child = redis.process;
    process.on("exit", () => child.kill("SIGTERM"));
  }
  const database = await startDatabase();
  if (database.kind === "pglite" && workers.count > 1) {
    const reason = "PGlite serves one process: install PostgreSQL's server binaries or set DATABASE_URL to run several workers";
    if (workers.explicit) throw new Error(`CACHET_WORKERS=${workers.count}: ${reason}.`);
    log.warn(`running 1 worker, not ${workers.count}: ${reason}`);
    workers.count = 1;
  }
  const admin = adminToken();
  process.env.CACHE_ADMIN_TOKEN = admin.token;
  // Set once here, so workers never race to create it.
  process.env.CACHET_INTERNAL_SECRET = loadInternalSecret(appRoot);

  let port: number;
  let stopServing: () => Promise<void>;
  if (workers.count === 1) {
    const host = await runHost();
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
  if (admin.generated) console.log(`Admin token (kept in .cachet/admin-token): ${admin.token}\n`);

  onShutdown(async () => {
    await stopServing();
    await Promise.all([redis?.stop(), database.server?.stop()]);
  });
}

/** A cluster worker: one full host on the shared port; it stops when the primary goes away. */
async function worker() {
  let host: RunningHost;
  try {
    host = await runHost();
  } catch (error) {
    reportToPrimary({ cachet: "failed", message: error instanceof Error ? error.message : String(error) });
    throw error;
  }
  onShutdown(() => host.stop(), ["disconnect"]);
  reportToPrimary({ cachet: "ready", port: host.port });
}

(cluster.isWorker ? worker() : primary()).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
