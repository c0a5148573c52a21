// The one table that maps Encore's modules to the Node host's. Used by the Node resolve hook
// (hooks.js) and by Vitest (vitest.config.ts), so both load the same files.
import { pathToFileURL } from "node:url";

const hostDir = new URL("./encore/", import.meta.url);
const repoRoot = new URL("../../", import.meta.url);
// The app being served: this repository, or another Encore app (the host's own test fixtures).
const appRoot = process.env.CACHET_APP_ROOT ? pathToFileURL(process.env.CACHET_APP_ROOT.replace(/\/?$/, "/")) : repoRoot;

/** Encore module → the host's implementation, relative to `infra/node-host/encore/`. */
const hostModules = {
  "encore.dev": "mod.ts",
  "encore.dev/api": "api.ts",
  "encore.dev/auth": "auth.ts",
  "encore.dev/config": "config.ts",
  "encore.dev/cron": "cron.ts",
  "encore.dev/log": "log.ts",
  "encore.dev/pubsub": "pubsub.ts",
  "encore.dev/service": "service.ts",
  "encore.dev/storage/sqldb": "sqldb.ts",
  "~encore/auth": "gen-auth.ts",
};

/** `~encore/clients` is generated per app (cli/generate.ts) into the app's `.cachet/gen/`. */
const CLIENTS = ".cachet/gen/clients.ts";

/** Returns the file URL a specifier maps to, or undefined to resolve it normally. */
export function resolveAlias(specifier) {
  const file = hostModules[specifier];
  if (file) return new URL(file, hostDir);
  if (specifier === "~encore/clients") return new URL(CLIENTS, appRoot);
  if (specifier.startsWith("encore.dev/") || specifier.startsWith("~encore/")) {
    throw new Error(`The Node host does not provide "${specifier}" yet (see infra/node-host/aliases.js)`);
  }
  return undefined;
}

/** The same table as [specifier, absolute path] pairs, for bundler aliases. */
export function aliasEntries() {
  const entries = Object.entries(hostModules).map(([spec, file]) => [spec, new URL(file, hostDir).pathname]);
  entries.push(["~encore/clients", new URL(CLIENTS, appRoot).pathname]);
  return entries;
}
