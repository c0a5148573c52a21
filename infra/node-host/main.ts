/**
 * `npm start`: the whole platform in one process on embedded defaults. Every setting (the README's
 * configuration table, lib/config/settings.ts) is checked before anything starts: a bad value
 * stops the process with one line per problem (exit code 78), an unreachable Redis or PostgreSQL
 * with a line naming it and the variable it came from (exit code 69).
 *
 *   --port=N             overrides PORT
 *   --services=a,b       overrides CACHET_SERVICES
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { EXIT_CODES, exitCodeOf, readConfig, type Config } from "../../lib/config/index.ts";
import { waitForPostgres, waitForRedis } from "../../lib/config/dependencies.ts";
import { databaseIdentity } from "../../lib/deployment.ts";
import { DEFAULT_APP_ROOT } from "./cli/generate.ts";
import { startRedisServer, type EmbeddedRedis } from "./embedded/redis.ts";
import log from "./encore/log.ts";
import { startHost } from "./host.ts";

const appRoot = process.env.CACHET_APP_ROOT ?? DEFAULT_APP_ROOT;
const dataDir = join(appRoot, ".cachet");

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

/** The bootstrap admin token: from the environment, else generated once and kept on disk. */
function adminToken(config: Config): { token: string; generated: boolean } {
  if (config.CACHE_ADMIN_TOKEN) return { token: config.CACHE_ADMIN_TOKEN, generated: false };
  const file = join(dataDir, "admin-token");
  try {
    return { token: readFileSync(file, "utf8").trim(), generated: true };
  } catch {
    mkdirSync(dataDir, { recursive: true });
    try {
      writeFileSync(file, `cachet_admin_${randomBytes(24).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
    } catch {
      // another process of this checkout created it first: use theirs
    }
    return { token: readFileSync(file, "utf8").trim(), generated: true };
  }
}

async function main() {
  applyArguments();
  const { config, problems, warnings } = readConfig(process.env);
  for (const warning of warnings) log.warn(warning);
  if (problems.length) {
    console.error(`Cachet cannot start: ${problems.length === 1 ? "a setting needs" : `${problems.length} settings need`} fixing (see the README's Configuration table):`);
    for (const problem of problems) console.error(`  ${problem}`);
    process.exit(EXIT_CODES.config);
  }
  const services = (config.CACHET_SERVICES ?? "").split(",").map((s) => s.trim()).filter(Boolean);

  let redis: EmbeddedRedis | undefined;
  let redisUrl = config.REDIS_URL;
  const wait = { timeoutMs: config.CACHET_DEPENDENCY_WAIT_MS };
  if (redisUrl) await waitForRedis(redisUrl, { ...wait, variable: "REDIS_URL" });
  else {
    redis = await startRedisServer({ dataDir: join(dataDir, "redis") });
    redisUrl = redis.url;
    process.env.REDIS_URL = redisUrl;
    log.info("started embedded redis-server", { url: redisUrl, data: join(dataDir, "redis") });
    const child = redis.process;
    process.on("exit", () => child.kill("SIGTERM"));
  }
  if (config.DATABASE_URL) await waitForPostgres(config.DATABASE_URL, { ...wait, variable: "DATABASE_URL" });
  const admin = adminToken(config);
  process.env.CACHE_ADMIN_TOKEN = admin.token;

  const serviceUrls: Record<string, string> = { ...config.CACHET_SERVICE_URLS };
  if (config.CACHET_GATEWAY_URL) serviceUrls["*"] = config.CACHET_GATEWAY_URL;
  const instanceId = `host-${process.pid}-${randomBytes(3).toString("hex")}`;
  const pgliteDir = config.CACHET_PGLITE_DIR === "memory://" ? "memory://" : resolve(appRoot, config.CACHET_PGLITE_DIR ?? join(".cachet", "pglite"));
  const databases = databaseIdentity({ databaseUrl: config.DATABASE_URL, databasePrefix: config.CACHET_DATABASE_PREFIX, pgliteDir, instance: instanceId });
  const host = await startHost({
    instanceId,
    deploymentCheck: { mode: config.CACHET_DEPLOYMENT_CHECK, databases },
    appRoot,
    redisUrl,
    port: config.PORT,
    services,
    serviceUrls,
    keyPrefix: config.CACHET_KEY_PREFIX,
    internalSecret: config.CACHET_INTERNAL_SECRET,
  });
  const url = `http://localhost:${host.port}`;
  console.log(`\nCachet is running: ${url}  (health: ${url}/api/health)`);
  if (admin.generated) console.log(`Admin token (kept in .cachet/admin-token): ${admin.token}\n`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    await host.stop();
    await redis?.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err) => {
  console.error(`Cachet cannot start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(exitCodeOf(err));
});
