#!/usr/bin/env node
/**
 * The built dashboard that the `dashboard` service serves: dashboard/public holds the committed
 * shell (index.html, which says how to build when nothing is built) and, git-ignored, the build in
 * dashboard/public/assets (app.js, app.css), so a fresh clone passes Encore's parser as it is.
 *
 *   node frontend/scripts/dashboard.mjs build-if-needed  `vite build` when the build is missing or
 *                                                       older than the dashboard's sources
 *
 * `npm start` runs `build-if-needed`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const frontendDir = dirname(dirname(fileURLToPath(import.meta.url)));
const appRoot = dirname(frontendDir);
export const publicDir = join(appRoot, "dashboard", "public");
const entryFile = join(publicDir, "assets", "app.js");

/** True when dashboard/public/assets holds a build. */
export function isBuilt() {
  return existsSync(entryFile);
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
  const sources = ["src", "vite.config.ts"].map((p) => join(frontendDir, p)).filter((p) => existsSync(p));
  return Math.max(...sources.map(newestMtime)) > statSync(entryFile).mtimeMs;
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
  console.log("building the dashboard (dashboard/public/assets)...");
  build();
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const command = process.argv[2];
  try {
    if (command === "build-if-needed") buildIfNeeded();
    else throw new Error(`usage: dashboard.mjs build-if-needed (got "${command ?? ""}")`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
