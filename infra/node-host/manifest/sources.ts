/**
 * The app's source files as the extractor sees them, and the hash that keys the cached manifest.
 * Reading is cheap (a directory walk and the files' text); the TypeScript program is not.
 */

import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Whether Encore's file walk skips a file or directory of this name, at any depth, the app root
 * included (tsparser/src/parser/parser.rs, `is_ignored_name`, applied with WalkDir's
 * `filter_entry`): dependencies, generated code, `__tests__`, dot-names and test files.
 */
export function isIgnoredName(name: string): boolean {
  return name === "node_modules" || name === "encore.gen" || name === "__tests__" || name.startsWith(".") || /\.(test|spec)\.(ts|js)$/.test(name);
}

export interface AppSources {
  appRoot: string;
  /** Absolute paths of the app's .ts files, sorted. */
  files: string[];
  /** File text by absolute path (read once: hashed here, parsed by the program). */
  text: Map<string, string>;
  /** sha256 over the files, the tsconfig, the .sql file names and the extractor itself. */
  hash: string;
}

/** Relative posix path from the app root. */
export function relPath(appRoot: string, file: string): string {
  const r = relative(appRoot, file);
  return (sep === "/" ? r : r.split(sep).join("/")) || ".";
}

/**
 * Walks the app as Encore's parser does (tsparser/src/parser/parser.rs, `Parser::parse`): every
 * file whose extension is exactly `.ts` (`.d.ts` included, `.tsx` not) below the app root, minus
 * what `isIgnoredName` skips. Also collects `.sql` names, since migration file names are checked.
 */
function walk(appRoot: string): { ts: string[]; sql: string[] } {
  const ts: string[] = [];
  const sql: string[] = [];
  const visit = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (isIgnoredName(e.name)) continue;
      const full = join(dir, e.name);
      if (e.isDirectory()) visit(full);
      else if (e.isFile()) {
        if (extname(e.name) === ".ts") ts.push(full);
        else if (e.name.endsWith(".sql")) sql.push(full);
      }
    }
  };
  if (!isIgnoredName(basename(appRoot))) visit(appRoot);
  ts.sort();
  sql.sort();
  return { ts, sql };
}

let extractorFingerprint: string | undefined;

/** The extractor's own source, so a changed extractor invalidates cached manifests. */
function fingerprintExtractor(): string {
  if (extractorFingerprint === undefined) {
    const dir = dirname(fileURLToPath(import.meta.url));
    const h = createHash("sha256");
    for (const name of readdirSync(dir)
      .filter((n) => n.endsWith(".ts"))
      .sort()) {
      h.update(name)
        .update("\0")
        .update(readFileSync(join(dir, name)))
        .update("\0");
    }
    extractorFingerprint = h.digest("hex");
  }
  return extractorFingerprint;
}

/** Lists and reads the app's sources and computes their hash. */
export function readAppSources(appRoot: string): AppSources {
  const { ts, sql } = walk(appRoot);
  const text = new Map<string, string>();
  const h = createHash("sha256");
  h.update("extractor\0").update(fingerprintExtractor()).update("\0");
  try {
    h.update("tsconfig.json\0")
      .update(readFileSync(join(appRoot, "tsconfig.json")))
      .update("\0");
  } catch {
    // No tsconfig: defaults apply.
  }
  for (const file of ts) {
    const content = readFileSync(file, "utf8");
    text.set(file, content);
    h.update(relPath(appRoot, file)).update("\0").update(content).update("\0");
  }
  for (const file of sql) h.update("sql\0").update(relPath(appRoot, file)).update("\0");
  return { appRoot, files: ts, text, hash: h.digest("hex") };
}
