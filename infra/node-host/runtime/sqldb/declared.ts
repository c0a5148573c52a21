/** The databases the app declared with `new SQLDatabase(...)`, recorded before any host runs. */
import { fileURLToPath } from "node:url";

/** The `migrations` option of `new SQLDatabase(name, { migrations })`. */
export type MigrationsOption = string | { path: string; source?: "prisma" | "drizzle" | "drizzle/v1" };

export interface DeclaredDatabase {
  name: string;
  migrations?: MigrationsOption;
  /** Absolute path of the file that declared it; `migrations` is relative to its directory. */
  declaredIn?: string;
}

const declared = new Map<string, DeclaredDatabase>();

/**
 * Records a database the app declared. Called by the `SQLDatabase` constructor, which must work
 * before any host runs, so this only remembers; nothing connects until the first query.
 */
export function declareDatabase(database: DeclaredDatabase): void {
  const previous = declared.get(database.name);
  // `SQLDatabase.named(x)` re-declares without options; keep what the real declaration said.
  if (previous?.migrations !== undefined && database.migrations === undefined) return;
  declared.set(database.name, database);
}

/** The declaration of `name`, if the app made one. */
export function declaredDatabase(name: string): DeclaredDatabase | undefined {
  return declared.get(name);
}

export function declaredDatabases(): DeclaredDatabase[] {
  return [...declared.values()];
}

const THIS_FILE = fileURLToPath(import.meta.url);

/**
 * The source file that called into `ignore` (the shim), from the stack: the file declaring a
 * database, whose directory Encore resolves `migrations: "./migrations"` against.
 */
export function callerFile(ignore: string[] = []): string | undefined {
  const skip = new Set([THIS_FILE, ...ignore]);
  for (const line of (new Error().stack ?? "").split("\n").slice(1)) {
    const match = /(?:\(|at )((?:file:\/\/)?\/[^():]+):\d+:\d+\)?\s*$/.exec(line);
    if (!match) continue;
    const file = match[1].startsWith("file://") ? fileURLToPath(match[1]) : match[1];
    if (!skip.has(file) && !file.includes("/node_modules/")) return file;
  }
  return undefined;
}
