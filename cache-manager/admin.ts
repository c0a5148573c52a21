/**
 * Administration: flushing the whole cache, and the origin registry (namespace → origin) shared
 * by every instance through Redis.
 */
import { api, APIError } from "encore.dev/api";
import { requireRole } from "../lib/auth/access";
import { redactConfig, restoreRedacted } from "./core/origins/redact";
import { namespacesOverlap } from "./core/origins/validate";
import type { OriginEntry } from "./core/origins/registry";
import { edge } from "./errors";
import { cacheRuntime } from "./runtime";

interface FlushRequest {
  /** Must be true: a flush deletes every cache key of every instance. */
  confirm: boolean;
}

export interface FlushResponse {
  deleted: number;
  scanned: number;
}

export interface OriginList {
  origins: OriginEntry[];
  /** Configs the registry skipped at its last refresh, each saying why. */
  problems: string[];
  version: number;
}

/**
 * The body of `PUT /api/origins/:namespace`: an origin config (core/origins/types.ts) minus its
 * namespace, which the path names. Loosely typed on purpose: the registry's validator checks it
 * and lists every problem.
 */
interface PutOriginRequest {
  namespace: string;
  kind: string;
  addedLatencyMs?: number;
  // sql
  database?: string;
  query?: string;
  listQuery?: string;
  listStart?: string | number;
  writeQuery?: string;
  deleteQuery?: string;
  // http
  url?: string;
  method?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  writeUrl?: string;
  writeMethod?: string;
  deleteUrl?: string;
  deleteMethod?: string;
  maxResponseBytes?: number;
}

interface NamespaceParams {
  namespace: string;
}

export interface OriginRemoved {
  namespace: string;
  removed: boolean;
}

/** Deletes every cache key from L2 and clears every instance's L1. Needs `{confirm: true}`. Admin. */
export const flush = api({ method: "POST", path: "/api/flush", expose: true, auth: true }, async ({ confirm }: FlushRequest): Promise<FlushResponse> =>
  edge(async () => {
    requireRole("admin");
    if (confirm !== true) throw APIError.invalidArgument('a flush deletes every cache key: send {"confirm": true} to go ahead');
    return (await cacheRuntime()).cache.flush();
  }),
);

/** The effective origins (file configs overridden by runtime changes). Viewer. */
export const listOrigins = api({ method: "GET", path: "/api/origins", expose: true, auth: true }, async (): Promise<OriginList> =>
  edge(async () => {
    const who = requireRole("viewer");
    const { origins } = await cacheRuntime();
    await origins.refresh();
    // A namespace-limited token sees only the origins of its namespaces, and no problems (they
    // name other namespaces). Header values (credentials) are write-only for everyone.
    const limited = who.namespaces.length > 0;
    const visible = origins.list().filter((entry) => !limited || who.namespaces.some((ns) => namespacesOverlap(ns, entry.namespace)));
    return { origins: visible.map(redactEntry), problems: limited ? [] : [...origins.problems], version: origins.version };
  }),
);

/** Adds or replaces a namespace's origin for every instance; a bad config → 400 listing what to fix. Admin. */
export const putOrigin = api({ method: "PUT", path: "/api/origins/:namespace", expose: true, auth: true }, async (p: PutOriginRequest): Promise<OriginEntry> =>
  edge(async () => {
    requireRole("admin");
    const { origins } = await cacheRuntime();
    return redactEntry(await origins.put(restoreRedacted(p, origins.get(p.namespace)?.config)));
  }),
);

/** Removes a namespace's origin for every instance; 404 when it has none. Admin. */
export const removeOrigin = api(
  { method: "DELETE", path: "/api/origins/:namespace", expose: true, auth: true },
  async ({ namespace }: NamespaceParams): Promise<OriginRemoved> =>
    edge(async () => {
      requireRole("admin");
      const removed = await (await cacheRuntime()).origins.remove(namespace);
      if (!removed) throw APIError.notFound(`no origin serves the namespace "${namespace}"`);
      return { namespace, removed };
    }),
);

const redactEntry = (entry: OriginEntry): OriginEntry => ({ ...entry, config: redactConfig(entry.config) });
