/**
 * The L2 tier's contract. Values arrive already serialized (the tier never looks inside them) and
 * always come back as `Buffer`, so binary payloads survive untouched. Keys are the caller's
 * logical keys; the store adds its namespace prefix and never lets a key or a pattern reach
 * outside it.
 *
 * Three implementations share this interface — one Redis (`single.ts`), Redis Cluster
 * (`cluster.ts`), a consistent-hash ring with replicas (`ring.ts`) — and pass the same contract
 * suite (`contract.ts`). `chaos.ts` wraps any of them with injected faults.
 */
import type { Cluster, Redis } from "ioredis";
import type { FenceRead, FillFence } from "./fence.ts";

export type L2Mode = "single" | "cluster" | "ring";

/** A serialized value. Strings are stored as UTF-8. */
export type L2Value = Buffer | string;

export interface L2Entry {
  key: string;
  value: L2Value;
  /** Time to live in milliseconds; a positive finite number (fractions round up). */
  ttlMs: number;
  /** Tags this key is indexed under, for `deleteByTag`. */
  tags?: readonly string[];
}

/** An entry stored by a fenced fill: only while `fence` still holds (see `fence.ts`). */
export interface L2FencedEntry extends L2Entry {
  fence: FillFence;
}

export interface L2SetOptions {
  tags?: readonly string[];
}

export interface L2ScanOptions {
  /** Glob over logical keys (`*`, `?`, `[a-z]`, `\x`); default `*`. Never matches outside the prefix. */
  match?: string;
  /** Opaque cursor from the previous page; omit or `"0"` to start. */
  cursor?: string;
  /** Keys wanted per page (a hint, as in Redis); default 100. */
  count?: number;
}

export interface L2ScanPage {
  keys: string[];
  /** Pass back to continue; `"0"` once `done`. */
  cursor: string;
  done: boolean;
}

export interface L2DeleteMatchingOptions {
  /** Keys per SCAN round trip and per UNLINK pipeline, per node; default 500. */
  batchSize?: number;
  /** Called after every batch, for progress reporting. */
  onProgress?: (progress: L2DeleteMatchingResult) => void;
  /** Stops between batches; the result so far is returned. */
  signal?: AbortSignal;
}

export interface L2DeleteMatchingResult {
  /** Logical keys removed (a replicated key counts once). */
  deleted: number;
  /** Keys the scan examined, across nodes (see `L2CountResult.scanned`). */
  scanned: number;
}

export interface L2CountOptions {
  /** Stop counting at this many matches; default 10 000. */
  limit?: number;
  /** How many matching keys to return as examples; default 20. */
  sampleSize?: number;
  /** Stop after examining about this many keys (SCAN COUNT batches), matching or not; default 1 000 000. */
  maxScanned?: number;
}

export interface L2DeleteByTagOptions {
  /** Hears each batch of deleted keys (logical keys), as it is deleted. */
  onKeys?(keys: string[]): void;
}

export interface L2CountResult {
  /** Matching logical keys found (at least `limit` when the count stopped early). */
  count: number;
  /** True when the scan covered every node, so `count` is the exact figure. */
  exact: boolean;
  /** Up to `sampleSize` matching keys. */
  sample: string[];
  /**
   * Keys the scan examined, across nodes: SCAN's COUNT per round trip, capped at the node's
   * DBSIZE, and the DBSIZE itself once a node is finished (the estimate RedisInsight shows).
   */
  scanned: number;
  /** Keys held by the scanned nodes (DBSIZE, whole databases, replicas included). */
  total: number;
}

export interface L2NodeRef {
  /** `host:port`. */
  id: string;
  host: string;
  port: number;
  /** Connected and free of recent errors (ring); connected (single, cluster). */
  healthy: boolean;
}

export interface L2NodeInfo {
  node: string;
  used_memory: number;
  /** DBSIZE: every key in the node's database, not only this store's. */
  keys: number;
  healthy: boolean;
  error?: string;
}

/** How the store lays out Redis keys. */
export interface L2KeySpace {
  /** Prefix of value keys, e.g. `cachet:v:`. */
  readonly prefix: string;
  /** Prefix of tag index sets, e.g. `cachet:v#tags:`; disjoint from `prefix`. */
  readonly tagPrefix: string;
  /** The Redis key holding a logical key's value. */
  valueKey(key: string): string;
  /** The Redis key of a tag's index set (members are logical keys). */
  tagKey(tag: string): string;
}

/** A Redis command client: a plain connection, or a Cluster client that routes by key. */
export type L2ControlClient = Redis | Cluster;

export interface L2Store {
  readonly mode: L2Mode;
  readonly keyspace: L2KeySpace;

  /** The value, or null when missing or expired. */
  get(key: string): Promise<Buffer | null>;
  /** Values aligned with `keys`; pipelined, one round trip per node. */
  mget(keys: readonly string[]): Promise<(Buffer | null)[]>;
  set(key: string, value: L2Value, ttlMs: number, options?: L2SetOptions): Promise<void>;
  /** Writes every entry (pipelined per node) and indexes its tags. */
  mset(entries: readonly L2Entry[]): Promise<void>;
  /**
   * Fill fencing (`fence.ts`). Reads the key; when it is free, places `marker` on it for
   * `leaseTtlMs` in the same round trip, so the caller may load it and `fill` it. Reads issued in
   * one turn of the loop share a pipeline, as gets do.
   */
  fenceRead(key: string, marker: string, leaseTtlMs: number): Promise<FenceRead>;
  /** `fenceRead` for many keys (one marker each), aligned with `keys`. */
  fenceReadMany(keys: readonly string[], markers: readonly string[], leaseTtlMs: number): Promise<FenceRead[]>;
  /**
   * Stores each entry only while its fence still holds (nothing changed the key since its load
   * began); aligned with `entries`: true where it stored. Tags are indexed first, so a tag delete
   * that follows a stored fill always finds the key.
   */
  fill(entries: readonly L2FencedEntry[]): Promise<boolean[]>;
  /** Extends our marker's TTL while we still hold it; false once it was revoked or expired. */
  renewFence(key: string, marker: string, leaseTtlMs: number): Promise<boolean>;
  /** Drops our marker if we still hold it (the load failed: waiting readers may take over). */
  releaseFence(key: string, marker: string): Promise<void>;
  /** UNLINKs the keys; resolves to how many existed. */
  delete(keys: readonly string[]): Promise<number>;
  /** Deletes every key indexed under `tag`; resolves to how many existed. */
  deleteByTag(tag: string, options?: L2DeleteByTagOptions): Promise<number>;
  /** Keys indexed under `tag` (an upper bound: members may have expired since). */
  countByTag(tag: string): Promise<number>;
  /** Drops members whose TTL plus the grace passed from the tag's set; resolves to how many. */
  pruneTag(tag: string): Promise<number>;
  /** Remaining milliseconds; null when the key is missing; -1 when it has no expiry. */
  pttl(key: string): Promise<number | null>;
  /** How many of `keys` exist. */
  exists(keys: readonly string[]): Promise<number>;

  /** One page of a scan over every node; every key appears once (replicas deduplicated). */
  scan(options?: L2ScanOptions): Promise<L2ScanPage>;
  /** SCAN + UNLINK in pipelined batches on every node at once; never KEYS. */
  deleteMatching(pattern: string, options?: L2DeleteMatchingOptions): Promise<L2DeleteMatchingResult>;
  /** Counts matches up to `limit`, with a sample; exact when the scan completed. */
  countMatching(pattern: string, options?: L2CountOptions): Promise<L2CountResult>;

  /** Memory and key count per node; a failing node is reported, not thrown. */
  info(): Promise<L2NodeInfo[]>;
  /** Round trip in ms to the slowest node; rejects when the store cannot serve. */
  ping(): Promise<number>;

  /** Every node, in a stable order. */
  nodes(): L2NodeRef[];
  /** The node that serves `redisKey` (a full Redis key, no prefix added). */
  nodeFor(redisKey: string): L2NodeRef;
  /**
   * A client on which the layer above can run its own commands for `redisKey` (leases,
   * coherence streams) on a deterministic node. Blocking commands need `.duplicate()`.
   */
  controlClient(redisKey: string): L2ControlClient;

  /** Waits for background work and closes the connections the store opened. */
  close(): Promise<void>;
}

/** Options every mode accepts. */
export interface L2CommonOptions {
  /** Namespace of value keys; must end with `:`. Default `cachet:v:`. */
  prefix?: string;
  /** Namespace of tag sets; default derived from `prefix` (`cachet:v:` → `cachet:v#tags:`). */
  tagPrefix?: string;
  /** Tag sets (and each member in them) outlive a member's TTL by this much; default 5 000 ms. */
  tagGraceMs?: number;
  /** A tag set larger than this is pruned of members whose TTL plus the grace passed; default 50 000. */
  maxTagMembers?: number;
  /** Keys per pipeline; larger batches are split, a few pipelines in flight per node; default 1 000. */
  maxPipeline?: number;
}

/** Builds a store for the contract suite; `options.prefix` is unique per test. */
export type L2StoreFactory = (options: L2CommonOptions & { prefix: string }) => Promise<L2Store>;
