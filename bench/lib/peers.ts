/**
 * The peer libraries (bentocache, cache-manager + Keyv) live in their own package,
 * `bench/peers/`, because bentocache needs ioredis 5 and the app uses ioredis 6. They are
 * installed on demand (`npm ci --prefix bench/peers`) and imported through `bench/peers/load.mjs`
 * so that their imports resolve inside `bench/peers/node_modules`.
 *
 * They are typed here by the few members the benchmark calls, which keeps type-checking
 * independent of whether the peers are installed.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const peersDir = join(dirname(fileURLToPath(import.meta.url)), "..", "peers");

/** Installs the peers from their lockfile when `bench/peers/node_modules` is missing. */
export function ensurePeers(log: (line: string) => void = console.log): void {
  if (existsSync(join(peersDir, "node_modules"))) return;
  log("installing the peer libraries: npm ci --prefix bench/peers");
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  execFileSync(npm, ["ci", "--prefix", peersDir, "--no-audit", "--no-fund", "--loglevel=error"], { stdio: ["ignore", "inherit", "inherit"] });
}

/** Imports `specifier` as resolved from `bench/peers/`. */
export async function importPeer<T>(specifier: string): Promise<T> {
  const loader = (await import(pathToFileURL(join(peersDir, "load.mjs")).href)) as { load: (s: string) => Promise<T> };
  return loader.load(specifier);
}

/** The version installed in bench/peers (for the results file). */
export function peerVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(peersDir, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

// ------------------------------------------------------------------------------------------------
// The members of the peers' APIs that the benchmark uses.

export interface BentoCacheInstance {
  get(options: { key: string }): Promise<unknown>;
  set(options: { key: string; value: unknown; ttl?: number | string }): Promise<boolean>;
  getOrSet(options: { key: string; factory: () => unknown; ttl?: number | string }): Promise<unknown>;
  disconnect(): Promise<void>;
}

export interface BentoModule {
  BentoCache: new (options: Record<string, unknown>) => BentoCacheInstance;
  bentostore: () => {
    useL1Layer(driver: unknown): ReturnType<BentoModule["bentostore"]>;
    useL2Layer(driver: unknown): ReturnType<BentoModule["bentostore"]>;
    useBus(driver: unknown): ReturnType<BentoModule["bentostore"]>;
  };
}

export interface BentoMemoryModule {
  memoryDriver: (options: Record<string, unknown>) => unknown;
}

export interface BentoRedisModule {
  redisDriver: (options: { connection: Record<string, unknown> }) => unknown;
  redisBusDriver: (options: { connection: Record<string, unknown> }) => unknown;
}

export interface CacheManagerInstance {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown, ttl?: number): Promise<unknown>;
  wrap(key: string, fn: () => unknown, ttl?: number): Promise<unknown>;
  disconnect(): Promise<unknown>;
}

export interface CacheManagerModule {
  createCache: (options: { stores: unknown[]; ttl?: number }) => CacheManagerInstance;
}

export interface KeyvModule {
  Keyv: new (options: { store: unknown; namespace?: string }) => unknown;
}

export interface KeyvRedisModule {
  default: new (url: string, options?: Record<string, unknown>) => unknown;
}

export interface CacheableModule {
  CacheableMemory: new (options: { ttl?: number; lruSize?: number }) => unknown;
}
