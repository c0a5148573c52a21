#!/usr/bin/env node
/**
 * The built dashboard that the `dashboard` service serves (dashboard/dist, git-ignored).
 *
 *   node frontend/scripts/dashboard.mjs ensure           a placeholder page when nothing is built, so the
 *                                                       Encore check and the host always find the directory
 *   node frontend/scripts/dashboard.mjs build-if-needed  `vite build` when the build is missing, a
 *                                                       placeholder, or older than the dashboard's sources
 *
 * `npm start` runs `build-if-needed`; `npm run gen` and `npm run check:encore` run `ensure`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const frontendDir = dirname(dirname(fileURLToPath(import.meta.url)));
const appRoot = dirname(frontendDir);
export const distDir = join(appRoot, "dashboard", "dist");
const indexFile = join(distDir, "index.html");
const PLACEHOLDER_MARK = "data-cachet-placeholder";

const PLACEHOLDER = `<!doctype html>
<html lang="en" ${PLACEHOLDER_MARK}>
<head><meta charset="utf-8"><title>Cachet — dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The dashboard is not built yet</h1>
<p>The API is running. Build the dashboard with <code>npm run build:frontend</code> (or restart with <code>npm start</code>, which builds it when needed) and reload.</p>
</body>
</html>
`;

/** True when dashboard/dist holds a real build (not missing, not the placeholder). */
export function isBuilt() {
  return existsSync(indexFile) && !readFileSync(indexFile, "utf8").includes(PLACEHOLDER_MARK);
}

/** Writes the placeholder page when dashboard/dist has no index.html. */
export function ensurePlaceholder() {
  if (existsSync(indexFile)) return false;
  mkdirSync(distDir, { recursive: true });
  writeFileSync(indexFile, PLACEHOLDER);
  return true;
}

function newestMtime(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** True when a source of the dashboard changed after the last build. */
export function isStale() {
  if (!isBuilt()) return true;
  const sources = ["src", "public", "index.html", "vite.config.ts"].map((p) => join(frontendDir, p)).filter((p) => existsSync(p));
  return Math.max(...sources.map(newestMtime)) > statSync(indexFile).mtimeMs;
}

/** Runs `vite build`; throws when it fails. */
export function build() {
  const vite = join(appRoot, "node_modules", "vite", "bin", "vite.js");
  const result = spawnSync(process.execPath, [vite, "build", "--config", join(frontendDir, "vite.config.ts")], { cwd: appRoot, stdio: "inherit" });
  if (result.status !== 0) throw new Error(`vite build failed (exit ${result.status})`);
}

/** Builds when the build is missing or stale; returns whether it built. */
export function buildIfNeeded() {
  if (!isStale()) return false;
  console.log("building the dashboard (dashboard/dist)...");
  build();
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const command = process.argv[2];
  try {
    if (command === "ensure") ensurePlaceholder();
    else if (command === "build-if-needed") buildIfNeeded();
    else throw new Error(`usage: dashboard.mjs ensure|build-if-needed (got "${command ?? ""}")`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
