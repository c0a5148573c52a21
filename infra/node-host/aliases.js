// The one table that maps Encore's modules to the Node host's. Used by the Node resolve hook
// (hooks.js) and by Vitest (vitest.config.ts), so both load the same files.

const hostDir = new URL("./encore/", import.meta.url);
const appRoot = new URL("../../", import.meta.url);

/** `encore.dev/<sub>` → `infra/node-host/encore/<sub>.ts`; `encore.dev` → `mod.ts`. */
const encoreModules = {
  "encore.dev": "mod.ts",
  "encore.dev/api": "api.ts",
  "encore.dev/auth": "auth.ts",
  "encore.dev/config": "config.ts",
  "encore.dev/cron": "cron.ts",
  "encore.dev/log": "log.ts",
  "encore.dev/pubsub": "pubsub.ts",
  "encore.dev/service": "service.ts",
  "encore.dev/storage/sqldb": "sqldb.ts",
};

/** `~encore/<x>` → the host's generated runtime modules under `.cachet/gen/`. */
const generatedModules = {
  "~encore/clients": ".cachet/gen/clients.ts",
  "~encore/auth": "infra/node-host/encore/gen-auth.ts",
};

/** Returns the file URL a specifier maps to, or undefined to resolve it normally. */
export function resolveAlias(specifier) {
  const file = encoreModules[specifier];
  if (file) return new URL(file, hostDir);
  const generated = generatedModules[specifier];
  if (generated) return new URL(generated, appRoot);
  if (specifier.startsWith("encore.dev/") || specifier.startsWith("~encore/")) {
    throw new Error(`The Node host does not provide "${specifier}" yet (see infra/node-host/aliases.js)`);
  }
  return undefined;
}

/** The same table as [find, replacement] pairs of absolute paths, for bundler aliases. */
export function aliasEntries() {
  const entries = Object.entries(encoreModules).map(([spec, file]) => [spec, new URL(file, hostDir).pathname]);
  for (const [spec, file] of Object.entries(generatedModules)) entries.push([spec, new URL(file, appRoot).pathname]);
  return entries;
}

