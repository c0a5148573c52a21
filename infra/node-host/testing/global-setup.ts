import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRedisServer, type EmbeddedRedis } from "../embedded/redis.ts";
import { writePgliteTemplate } from "../runtime/sqldb/pglite.ts";

/**
 * Vitest global setup: one `redis-server` for the whole run when REDIS_URL is unset (tests
 * isolate themselves by key prefix), and one empty PGlite cluster (CACHET_PGLITE_TEMPLATE) that
 * the in-memory databases of every host process of the run start from instead of each running
 * initdb, which was most of a host's start-up CPU. Test files and the host processes they spawn
 * read both from the environment.
 */
export default async function setup(): Promise<() => Promise<void>> {
  let redis: EmbeddedRedis | undefined;
  let templateDir: string | undefined;
  if (!process.env.REDIS_URL) {
    redis = await startRedisServer();
    process.env.REDIS_URL = redis.url;
  }
  if (!process.env.CACHET_PGLITE_TEMPLATE) {
    templateDir = mkdtempSync(join(tmpdir(), "cachet-pglite-template-"));
    const template = join(templateDir, "empty-cluster.tar");
    await writePgliteTemplate(template);
    process.env.CACHET_PGLITE_TEMPLATE = template;
  }
  return async () => {
    await redis?.stop();
    if (templateDir) rmSync(templateDir, { recursive: true, force: true });
  };
}
