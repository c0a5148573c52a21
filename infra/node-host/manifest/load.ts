/**
 * The manifest the Node host runs on, cached as JSON under `<appRoot>/.cachet/manifest.json` and
 * keyed by the sources' hash: hashing reads the files (milliseconds); only a change re-runs the
 * TypeScript program (about a second). An app Encore would reject is not run: conformance
 * diagnostics are thrown.
 *
 * @example
 * const manifest = loadManifest("/work/main"); // throws listing `file:line:col  rule  message`
 */

import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { extractFromSources } from "./extract.ts";
import { formatDiagnostic, severityOf } from "./rules.ts";
import { readAppSources } from "./sources.ts";
import type { Diagnostic, Manifest } from "./types.ts";

export interface LoadManifestOptions {
  /** Where manifest.json is cached; default `<appRoot>/.cachet`. */
  cacheDir?: string;
  /** Skip the cache (neither read nor write it). */
  noCache?: boolean;
}

/** Thrown when the app breaks Encore's rules; carries the diagnostics. */
export class ManifestError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(
      `The app does not pass the Encore conformance check (${diagnostics.length} problem${diagnostics.length === 1 ? "" : "s"}):\n` +
        diagnostics.map((d) => `  ${formatDiagnostic(d)}`).join("\n"),
    );
    this.name = "ManifestError";
  }
}

/** Returns the app's manifest, from the cache when the sources have not changed. */
export function loadManifest(appRoot: string, opts: LoadManifestOptions = {}): Manifest {
  const root = resolve(appRoot);
  const sources = readAppSources(root);
  const cacheFile = join(opts.cacheDir ?? join(root, ".cachet"), "manifest.json");
  if (!opts.noCache) {
    const cached = readCached(cacheFile);
    if (cached?.hash === sources.hash) return cached;
  }
  const { manifest, diagnostics } = extractFromSources(sources);
  const errors = diagnostics.filter((d) => severityOf(d.rule) === "error");
  if (errors.length > 0) throw new ManifestError(errors);
  if (!opts.noCache) writeCached(cacheFile, manifest);
  return manifest;
}

function readCached(file: string): Manifest | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Manifest;
    return typeof parsed?.hash === "string" && Array.isArray(parsed.endpoints) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Write-then-rename, so concurrent hosts never read a half-written manifest. */
function writeCached(file: string, manifest: Manifest): void {
  try {
    mkdirSync(join(file, ".."), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(manifest, null, 2) + "\n");
    renameSync(temp, file);
  } catch {
    // A read-only app directory only costs the cache.
  }
}
