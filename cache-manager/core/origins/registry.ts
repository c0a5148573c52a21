/**
 * The origin registry: namespace → origin. Initial configs come from a JSON file; runtime
 * changes (`put`, `remove`) go to a Redis hash shared by every instance, guarded by a version
 * counter (`../versioned-hash.ts`). Other instances pick changes up with `refresh()` (cheap: one
 * GET when nothing changed) or `watch(intervalMs)`.
 *
 * Redis keys (one hash slot, so it works on Redis Cluster), for the default prefix:
 * - `{cachet:origins}`          hash: namespace → `{"config": {...}}` or `{"removed": true}`
 * - `{cachet:origins}:version`  integer, incremented by every change
 *
 * Effective origins = file configs, overridden or removed by the hash. A runtime removal leaves a
 * tombstone, so a namespace removed at runtime stays removed on every instance, whatever its
 * file says, until it is `put` again.
 */
import { readFile } from "node:fs/promises";
import type { Redis } from "ioredis";
import { createOrigin } from "./create.ts";
import { OriginConfigError, OriginConflictError, OriginNotConfiguredError, OriginUnsupportedError } from "./errors.ts";
import type { LoadResult, Origin, OriginCallOptions, OriginConfig, OriginDependencies, OriginKind } from "./types.ts";
import { loadEach } from "./support.ts";
import { VersionedHash } from "../versioned-hash.ts";
import { assertNoOverlap, namespacesOverlap, validateOriginConfig, validateOriginConfigs } from "./validate.ts";

export interface OriginEntry {
  namespace: string;
  kind: OriginKind;
  /** "file": from the config file; "runtime": put through the API (stored in Redis). */
  source: "file" | "runtime";
  config: OriginConfig;
}

export interface OriginRegistryChange {
  version: number;
  namespaces: string[];
}

export interface OriginRegistryOptions {
  /** A command connection (shared is fine). */
  redis: Redis;
  /** IO for the origins: the SQL executor resolver, fetch, sleep. */
  deps: OriginDependencies;
  /** Default "cachet:origins". A prefix without a `{hash tag}` is wrapped in one. */
  keyPrefix?: string;
  /** JSON file: an array of origin configs, or `{"origins": [...]}`. */
  configFile?: string;
  /** Initial configs given inline (used when there is no file). */
  configs?: unknown[];
  /** Called after a refresh changed the effective origins. */
  onChange?: (change: OriginRegistryChange) => void;
  /** Called with a config the registry had to skip (bad stored config, unknown database, overlap). */
  onProblem?: (problem: string) => void;
}

/**
 * The namespace among `namespaces` that is the longest prefix of `key`, if any. With the overlap
 * rule at most one namespace matches; longest-first keeps resolution well defined regardless.
 */
export function longestPrefixMatch(namespaces: Iterable<string>, key: string): string | undefined {
  let best: string | undefined;
  for (const namespace of namespaces) {
    if (key.startsWith(namespace) && (best === undefined || namespace.length > best.length)) best = namespace;
  }
  return best;
}

/** Reads and validates an origins file. Throws `E_ORIGIN_CONFIG` naming the file and the entry. */
export async function readOriginsFile(path: string): Promise<OriginConfig[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new OriginConfigError([`cannot read the origins file: ${(error as Error).message}`], { where: path, cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new OriginConfigError([`the file is not valid JSON (${(error as Error).message})`], { where: path, cause: error });
  }
  const list =
    typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) && "origins" in parsed ? (parsed as { origins: unknown }).origins : parsed;
  return validateOriginConfigs(list, path);
}

interface Resolved {
  entry: OriginEntry;
  origin: Origin;
  fingerprint: string;
}

type StoredField = { config: unknown } | { removed: true };

/** True when a stored hash field holds a config (not a tombstone, not garbage). */
function isLiveField(raw: string | undefined): boolean {
  if (raw === undefined) return false;
  try {
    return !("removed" in (JSON.parse(raw) as StoredField));
  } catch {
    return false;
  }
}

export class OriginRegistry {
  private readonly deps: OriginDependencies;
  private readonly hash: VersionedHash;
  private readonly base: Map<string, OriginConfig>;
  private readonly options: OriginRegistryOptions;
  private resolved = new Map<string, Resolved>();
  private currentVersion = -1;
  private currentProblems: string[] = [];

  /** Reads the file (or inline configs), then the shared state in Redis. */
  static async open(options: OriginRegistryOptions): Promise<OriginRegistry> {
    const base = options.configFile ? await readOriginsFile(options.configFile) : validateOriginConfigs(options.configs ?? [], "configs");
    const registry = new OriginRegistry(options, base);
    await registry.refresh(true);
    return registry;
  }

  private constructor(options: OriginRegistryOptions, base: OriginConfig[]) {
    this.options = options;
    this.deps = options.deps;
    this.hash = new VersionedHash(options.redis, options.keyPrefix ?? "cachet:origins", (message) => new OriginConflictError(`origin registry: ${message}`));
    this.base = new Map(base.map((config) => [config.namespace, config]));
  }

  /** The version of the shared state this instance last applied. */
  get version(): number {
    return this.currentVersion;
  }

  /** Configs skipped at the last refresh, each saying why. */
  get problems(): readonly string[] {
    return this.currentProblems;
  }

  /** The origin serving `key` (longest matching namespace), or undefined. */
  resolve(key: string): Origin | undefined {
    const namespace = longestPrefixMatch(this.resolved.keys(), key);
    return namespace === undefined ? undefined : this.resolved.get(namespace)!.origin;
  }

  /** Like `resolve`, but throws `E_ORIGIN_NOT_CONFIGURED` naming the configured namespaces. */
  require(key: string): Origin {
    const origin = this.resolve(key);
    if (!origin) {
      const known = [...this.resolved.keys()].sort().join(", ") || "none";
      throw new OriginNotConfiguredError(`no origin serves the key ${JSON.stringify(key)} (configured namespaces: ${known})`);
    }
    return origin;
  }

  get(namespace: string): Origin | undefined {
    return this.resolved.get(namespace)?.origin;
  }

  /** Every effective origin, sorted by namespace. */
  list(): OriginEntry[] {
    return [...this.resolved.values()].map((r) => r.entry).sort((a, b) => a.namespace.localeCompare(b.namespace));
  }

  /**
   * Adds or replaces the origin of `config.namespace` for every instance. Validates first
   * (`E_ORIGIN_CONFIG`: bad config, overlapping namespace, unknown database), then writes the
   * Redis hash and bumps the version atomically.
   */
  async put(input: unknown): Promise<OriginEntry> {
    const config = validateOriginConfig(input);
    createOrigin(config, this.deps);
    await this.change(config.namespace, JSON.stringify({ config } satisfies StoredField), () => assertNoOverlap(config.namespace, this.resolved.keys()));
    return this.resolved.get(config.namespace)!.entry;
  }

  /** Removes a namespace's origin for every instance. False (and no change) when it was not configured. */
  async remove(namespace: string): Promise<boolean> {
    let existed = false;
    await this.change(namespace, JSON.stringify({ removed: true } satisfies StoredField), (fields) => {
      existed = this.resolved.has(namespace) || isLiveField(fields[namespace]);
      return existed;
    });
    return existed;
  }

  /** Loads `key` from its origin (`E_ORIGIN_NOT_CONFIGURED` when no namespace serves it). */
  load(key: string, options?: OriginCallOptions): Promise<LoadResult> {
    return this.require(key).load(key, options);
  }

  /**
   * Loads several keys straight from their origins, each origin's keys as one `loadMany` (or
   * `LOAD_MANY_CONCURRENCY` loads at a time). A key no origin serves is absent from the map; an
   * origin failure rejects.
   */
  async loadFromOrigins(keys: readonly string[]): Promise<Map<string, LoadResult>> {
    const groups = new Map<Origin, string[]>();
    for (const key of new Set(keys)) {
      const origin = this.resolve(key);
      if (!origin) continue;
      const group = groups.get(origin);
      if (group) group.push(key);
      else groups.set(origin, [key]);
    }
    const results = new Map<string, LoadResult>();
    for (const [origin, group] of groups) {
      const loaded = origin.loadMany ? await origin.loadMany(group) : await loadEach(group, (key) => origin.load(key));
      if (groups.size === 1) return loaded;
      for (const [key, result] of loaded) results.set(key, result);
    }
    return results;
  }

  /**
   * Writes `key` to its origin: the function write-through and the write-behind queue call.
   * `E_ORIGIN_UNSUPPORTED` when the origin has no writer.
   */
  async write(key: string, value: unknown, options?: OriginCallOptions): Promise<void> {
    const origin = this.require(key);
    if (!origin.write)
      throw new OriginUnsupportedError(
        `the origin "${origin.namespace}" has no writer: add ${origin.kind === "sql" ? "writeQuery" : "writeUrl"} to its config`,
      );
    await origin.write(key, value, options);
  }

  /**
   * Re-reads the shared state when its version moved (or always with `force`). Returns whether it
   * re-read. One GET when nothing changed, so it can be polled.
   */
  async refresh(force = false): Promise<boolean> {
    const state = await this.hash.readIfChanged(this.currentVersion, force);
    if (state) this.apply(state.version, state.fields);
    return state !== undefined;
  }

  /** Polls `refresh()` every `intervalMs`; returns a function that stops polling. */
  watch(intervalMs = 1_000): () => void {
    return VersionedHash.poll(
      intervalMs,
      () => this.refresh(),
      (error) => this.options.onProblem?.(`origin registry refresh failed: ${error.message}`),
    );
  }

  /** Reads, checks, compare-and-sets one hash field, retrying when another instance got there first. */
  private async change(namespace: string, stored: string, check: (fields: Record<string, string>) => boolean | void): Promise<void> {
    const { snapshot, changed } = await this.hash.change((current) => {
      this.apply(current.version, current.fields);
      return check(current.fields) === false ? undefined : { set: { [namespace]: stored } };
    }, `"${namespace}"`);
    if (changed) this.apply(snapshot.version, snapshot.fields);
  }

  /** Rebuilds the effective origins from the file layer and the stored fields. */
  private apply(version: number, fields: Record<string, string>): void {
    const problems: string[] = [];
    const wanted: OriginEntry[] = [];
    const overridden = new Set<string>();
    for (const [namespace, raw] of Object.entries(fields).sort(([a], [b]) => a.localeCompare(b))) {
      overridden.add(namespace);
      try {
        const stored = JSON.parse(raw) as StoredField;
        if ("removed" in stored) continue;
        const config = validateOriginConfig(stored.config, `stored origin "${namespace}"`);
        wanted.push({ namespace: config.namespace, kind: config.kind, source: "runtime", config });
      } catch (error) {
        problems.push(`skipped the stored origin "${namespace}": ${(error as Error).message}`);
      }
    }
    for (const config of this.base.values()) {
      if (!overridden.has(config.namespace)) wanted.push({ namespace: config.namespace, kind: config.kind, source: "file", config });
    }

    const next = new Map<string, Resolved>();
    for (const entry of wanted) {
      const clash = [...next.keys()].find((namespace) => namespacesOverlap(namespace, entry.namespace));
      if (clash) {
        problems.push(`skipped the ${entry.source} origin "${entry.namespace}": it overlaps "${clash}"`);
        continue;
      }
      const fingerprint = JSON.stringify(entry.config);
      const previous = this.resolved.get(entry.namespace);
      if (previous && previous.fingerprint === fingerprint) {
        next.set(entry.namespace, { ...previous, entry });
        continue;
      }
      try {
        next.set(entry.namespace, { entry, origin: createOrigin(entry.config, this.deps), fingerprint });
      } catch (error) {
        problems.push(`skipped the ${entry.source} origin "${entry.namespace}": ${(error as Error).message}`);
      }
    }

    const changed = next.size !== this.resolved.size || [...next].some(([namespace, r]) => this.resolved.get(namespace)?.origin !== r.origin);
    this.resolved = next;
    this.currentVersion = version;
    this.currentProblems = problems;
    for (const problem of problems) this.options.onProblem?.(problem);
    if (changed) this.options.onChange?.({ version, namespaces: [...next.keys()].sort() });
  }
}
