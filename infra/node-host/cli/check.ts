/**
 * The Encore conformance check: extracts the app's manifest and prints everything Encore's parser
 * would reject, one `file:line:col  rule  message` per line, then a summary. Exits 1 on any finding.
 *
 *   node --import ./infra/node-host/register.js infra/node-host/cli/check.ts [appRoot]
 *   npm run check:encore
 */

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { extractManifest, formatDiagnostic } from "../manifest/extract.ts";
import { severityOf } from "../manifest/rules.ts";

/** The directory holding encore.app, from `start` upwards; `start` itself when there is none. */
export function findAppRoot(start: string): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "encore.app"))) return dir;
    if (dirname(dir) === dir) return resolve(start);
  }
}

/** Runs the check and returns the exit code. */
export function runCheck(appRoot: string, out: (line: string) => void = console.log): number {
  const started = performance.now();
  const { manifest, diagnostics } = extractManifest(appRoot);
  for (const d of diagnostics) out(formatDiagnostic(d));
  const ms = Math.round(performance.now() - started);
  const errors = diagnostics.filter((d) => severityOf(d.rule) === "error");
  const warnings = diagnostics.length - errors.length;
  const warned = warnings > 0 ? `, ${warnings} warning${warnings === 1 ? "" : "s"} (host safeguards and conventions, not Encore's rules)` : "";
  if (errors.length > 0) {
    const files = new Set(errors.map((d) => d.pos.file)).size;
    out(`\nEncore conformance: ${errors.length} problem${errors.length === 1 ? "" : "s"} in ${files} file${files === 1 ? "" : "s"}${warned} (${ms} ms)`);
    return 1;
  }
  out(
    `Encore conformance: OK — ${manifest.services.length} services, ${manifest.endpoints.length} endpoints, ` +
      `${manifest.topics.length} topics, ${manifest.subscriptions.length} subscriptions, ${manifest.cronJobs.length} cron jobs, ` +
      `${manifest.databases.length} databases${warned} (${ms} ms)`,
  );
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = runCheck(process.argv[2] ? resolve(process.argv[2]) : findAppRoot(process.cwd()));
}
