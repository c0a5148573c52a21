/** Builds the right origin for a validated config. */
import { OriginConfigError } from "./errors.ts";
import { createHttpOrigin } from "./http.ts";
import { createSqlOrigin } from "./sql.ts";
import type { Origin, OriginConfig, OriginDependencies } from "./types.ts";

/**
 * Builds an origin from a config that `validateOriginConfig` accepted. Throws `E_ORIGIN_CONFIG`
 * when a sql origin names a database the dependencies cannot resolve.
 */
export function createOrigin(config: OriginConfig, deps: OriginDependencies): Origin {
  if (config.kind === "http") return createHttpOrigin(config, { fetch: deps.fetch, sleep: deps.sleep });
  const executor = deps.sql?.(config.database);
  if (!executor) {
    const which = config.database ? `database "${config.database}"` : "the default database";
    throw new OriginConfigError([`${which} is not available on this instance: use a configured database name or leave "database" out for the default`], {
      namespace: config.namespace,
    });
  }
  return createSqlOrigin(config, executor, { sleep: deps.sleep });
}
