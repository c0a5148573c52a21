/**
 * `npm start`: the whole platform in one process on embedded defaults.
 *
 *   PORT                 port to listen on (4000)
 *   CACHET_SERVICES      comma-separated services to run here (all); also `--services=a,b`
 *   REDIS_URL            Redis to use; unset → starts `redis-server` with data under .cachet/redis
 *   DATABASE_URL         PostgreSQL server to use; unset → embedded PGlite under .cachet/pglite
 *   CACHE_ADMIN_TOKEN    bootstrap admin token; unset → generated once, kept in .cachet/admin-token
 *   CACHET_SERVICE_URLS  `svc=http://host:port,...` for services that run in other processes
 *   CACHET_GATEWAY_URL   fallback URL for every service not running here
 */
import { join } from "node:path";
import { generateSecret, readOrCreateSecretFile } from "../../lib/auth/secrets.ts";
import { validateTokenConfig } from "../../lib/auth/tokens.ts";
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

/**
 * The bootstrap admin token: from the environment, else generated once and kept on disk.
 * `generated` is true only on the start that created the file, so the token is printed once.
 */
function adminToken(): { token: string; generated: boolean } {
  if (process.env.CACHE_ADMIN_TOKEN) return { token: process.env.CACHE_ADMIN_TOKEN, generated: false };
  const { secret, created } = readOrCreateSecretFile(join(dataDir, "admin-token"), () => generateSecret("cachet_admin_"));
  return { token: secret, generated: created };
}

async function main() {
  const services = (argValue("services") ?? process.env.CACHET_SERVICES ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const port = Number(argValue("port") ?? process.env.PORT ?? 4000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got "${process.env.PORT}"`);

  let redis: EmbeddedRedis | undefined;
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    // Password-protected too: other users of this machine can reach loopback ports.
    const password = readOrCreateSecretFile(join(dataDir, "redis-password"), generateSecret).secret;
    redis = await startRedisServer({ dataDir: join(dataDir, "redis"), password });
    redisUrl = redis.url;
    process.env.REDIS_URL = redisUrl;
    log.info("started embedded redis-server", { url: `redis://127.0.0.1:${redis.port}`, data: join(dataDir, "redis") });
    const child = redis.process;
    process.on("exit", () => child.kill("SIGTERM"));
  }
  const admin = adminToken();
  process.env.CACHE_ADMIN_TOKEN = admin.token;
  // Ambiguous token configuration (an empty namespace, a repeated name, a short token) stops here.
  validateTokenConfig(admin.token, process.env.CACHE_TOKENS ?? "");

  const host = await startHost({ appRoot, redisUrl, port, services, serviceUrls: parseServiceUrls(), keyPrefix: process.env.CACHET_KEY_PREFIX });
  const url = `http://localhost:${host.port}`;
  console.log(`\nCachet is running: ${url}  (health: ${url}/api/health)`);
  if (admin.generated) console.log(`Admin token (generated now, kept in .cachet/admin-token; not printed again): ${admin.token}\n`);
  else console.log("Admin token: unchanged (CACHE_ADMIN_TOKEN, else .cachet/admin-token)\n");

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
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
