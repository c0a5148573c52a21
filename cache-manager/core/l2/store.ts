/**
 * The L2 store every mode shares: validation, pipelined batches (`batch.ts`), the tag index
 * (`tags.ts`), keyspace walks (`scan.ts`) and health. Where keys live — and whether a read may
 * fail over to a replica — comes from a `Topology` (single.ts, cluster.ts, ring.ts).
 */
import { L2UnavailableError } from "./errors.ts";
import { Batches, type Enqueue } from "./batch.ts";
import { KeySpace, validateTtl } from "./pattern.ts";
import { withTimeout, type Topology } from "./routing.ts";
import { countMatching, deleteMatching, scanPage } from "./scan.ts";
import { TagIndex } from "./tags.ts";
import { TickBatch } from "../../../lib/tick-batch.ts";
import { promiseOf } from "../../../lib/concurrency.ts";
import {
  enqueueHoldsValue,
  FENCE_READ_EACH_SCRIPT,
  FENCE_READ_SCRIPT,
  FILL_EACH_SCRIPT,
  FILL_SCRIPT,
  holdsValueOf,
  HOLDS_VALUE_SCRIPT,
  parseFenceRead,
  RELEASE_SCRIPT,
  RENEW_SCRIPT,
  type FenceRead,
} from "./fence.ts";
import { runScript, runScriptBuffers } from "../../../lib/redis.ts";
import type { ChainableCommander } from "ioredis";
import type {
  L2CommonOptions,
  L2ControlClient,
  L2CountOptions,
  L2CountResult,
  L2DeleteByTagOptions,
  L2DeleteMatchingOptions,
  L2DeleteMatchingResult,
  L2Entry,
  L2FencedEntry,
  L2Mode,
  L2NodeInfo,
  L2NodeRef,
  L2ScanOptions,
  L2ScanPage,
  L2SetOptions,
  L2Store,
  L2Value,
} from "./types.ts";

const PROBE_TIMEOUT_MS = 2_000;

export class RoutedStore implements L2Store {
  readonly mode: L2Mode;
  readonly keyspace: KeySpace;
  private readonly batches: Batches;
  private readonly tags: TagIndex;
  private readonly background = new Set<Promise<unknown>>();
  private readonly pendingGets = new TickBatch((keys: string[]) => this.mget(keys));
  private readonly pendingFenceReads = new TickBatch((reads: FenceReadRequest[]) =>
    this.fenceReadMany(
      reads.map((r) => r.key),
      reads.map((r) => r.marker),
      reads.map((r) => r.leaseTtlMs),
    ),
  );
  private readonly pendingFills = new TickBatch((entries: L2FencedEntry[]) => this.fillChecked(entries));
  private readonly pendingSets = new TickBatch(async (entries: L2Entry[]) => {
    await this.mset(entries);
    return entries.map(() => undefined);
  });

  constructor(
    protected readonly topology: Topology,
    options: L2CommonOptions = {},
  ) {
    this.mode = topology.mode;
    this.keyspace = new KeySpace(options.prefix, options.tagPrefix);
    this.batches = new Batches(topology, options.maxPipeline ?? 1_000);
    this.tags = new TagIndex(this.batches, this.keyspace, {
      graceMs: options.tagGraceMs ?? 5_000,
      maxMembers: options.maxTagMembers ?? 50_000,
      deleteKeys: (keys) => this.delete(keys),
      track: (task) => this.track(task),
    });
  }

  // --- values

  /**
   * Gets issued while the event loop is busy with other work share one `mget`, sent at the next
   * turn of the loop (`TickBatch`): under concurrent reads that is one socket write and one reply
   * parse for many keys instead of one each (the cost that dominates an L2 hit). A failure
   * rejects every get of the batch, as it would have rejected each one alone.
   */
  get(key: string): Promise<Buffer | null> {
    try {
      this.keyspace.valueKey(key); // a bad key fails its own call, not the batch
    } catch (error) {
      return Promise.reject(error);
    }
    return this.pendingGets.add(key);
  }

  /** One MGET per node on plain Redis servers; pipelined GETs on a Cluster (MGET must stay in one slot). */
  async mget(keys: readonly string[]): Promise<(Buffer | null)[]> {
    const replies = await this.batches.read(
      this.valueKeys(keys),
      (p, k) => p.getBuffer(k),
      (client, redisKeys) => client.mgetBuffer(redisKeys),
    );
    return replies.map(([value]) => (value as Buffer | null) ?? null);
  }

  /**
   * Sets share one batch per turn of the loop, as gets do. Each is validated first, so one bad
   * call cannot fail the others of its batch; a failure of the batch rejects all of them.
   */
  async set(key: string, value: L2Value, ttlMs: number, options: L2SetOptions = {}): Promise<void> {
    const entry = { key, value, ttlMs, tags: options.tags };
    this.checkEntry(entry);
    await this.pendingSets.add(entry);
  }

  async mset(entries: readonly L2Entry[]): Promise<void> {
    if (entries.length === 0) return;
    const count = entries.length;
    const redisKeys = new Array<string>(count);
    const values = new Array<L2Value>(count);
    const ttls = new Array<number>(count);
    let tagged = false;
    // Everything is validated before anything is written.
    for (let i = 0; i < count; i++) {
      const entry = entries[i];
      [redisKeys[i], ttls[i]] = this.checkEntry(entry);
      values[i] = entry.value;
      tagged ||= (entry.tags?.length ?? 0) > 0;
    }
    await Promise.all([this.batches.setEach(redisKeys, values, ttls), tagged ? this.tags.index(entries, ttls) : undefined]);
  }

  // --- fill fencing (fence.ts). Each script runs on the node a read of the key goes to. When keys
  // have replicas (ring), every copy is fenced on its own node, and no copy may store a value
  // loaded before a change that reached it:
  // - a granted read then places the same marker on every replica (on a copy held by another
  //   reader, or holding a value, it changes nothing), before the caller begins its load;
  // - a fill runs on the reader first, and only where it stored is it run on every replica with
  //   the same fence. A delete or write reaches every replica and removes the marker there, so one
  //   acknowledged between the reader's fill and a replica's is never undone on that replica.
  // A replica that misses a marker or a fill (down, erroring) is marked suspect by the ring and
  // purged before it serves reads, so failures there only cost misses.

  fenceRead(key: string, marker: string, leaseTtlMs: number): Promise<FenceRead> {
    try {
      this.keyspace.valueKey(key);
      validateTtl(leaseTtlMs);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.pendingFenceReads.add({ key, marker, leaseTtlMs });
  }

  /**
   * One script call per node for the whole batch where the node takes keys of any slot (most of
   * a miss's client cost was one command, promise and reply per key); one call per key on a
   * Cluster, pipelined.
   */
  async fenceReadMany(keys: readonly string[], markers: readonly string[], leaseTtlMs: number | readonly number[]): Promise<FenceRead[]> {
    if (keys.length === 0) return [];
    const ttlOf = (i: number) => validateTtl(typeof leaseTtlMs === "number" ? leaseTtlMs : leaseTtlMs[i]);
    const redisKeys = this.valueKeys(keys);
    const replies = await this.batches.read(
      redisKeys,
      (p, k, i) => evalBuffer(p, FENCE_READ_SCRIPT, k, markers[i], ttlOf(i)),
      (client, routeKeys, indices) =>
        runScriptBuffers(client, FENCE_READ_EACH_SCRIPT, routeKeys, [...indices.map((i) => markers[i]), ...indices.map(ttlOf)]) as Promise<unknown[]>,
    );
    const reads = replies.map(([reply], i) => parseFenceRead(reply, markers[i]));
    if (this.topology.replicated) {
      const granted = reads.flatMap((read, i) => (read.kind === "granted" ? [i] : []));
      await this.onEveryReplica(
        granted.map((i) => redisKeys[i]),
        (p, k, j) => p.eval(FENCE_READ_SCRIPT, 1, k, markers[granted[j]], ttlOf(granted[j])),
      );
    }
    return reads;
  }

  /**
   * A lone fill (a read's, after its origin load) shares one batch per turn of the loop with the
   * other lone fills, as fenced reads do: under concurrent misses that is one script call per
   * node (one pipelined call per key on a Cluster) for many keys instead of one each. Each entry
   * is validated first, so one bad call cannot fail the others of its batch; a failure of the
   * batch rejects all of them.
   */
  fill(entries: readonly L2FencedEntry[]): Promise<boolean[]> {
    if (entries.length === 0) return Promise.resolve([]);
    if (entries.length > 1) return this.fillChecked(entries);
    return promiseOf(() => {
      this.checkEntry(entries[0]);
      return this.pendingFills.add(entries[0]).then((stored) => [stored]);
    });
  }

  /** `fill` for a whole batch at once (validated here too: a batch fails before anything is written). */
  private async fillChecked(entries: readonly L2FencedEntry[]): Promise<boolean[]> {
    const checked = entries.map((entry) => this.checkEntry(entry));
    const tagged = entries.filter((entry) => (entry.tags?.length ?? 0) > 0);
    if (tagged.length > 0)
      await this.tags.index(
        tagged,
        tagged.map((entry) => validateTtl(entry.ttlMs)),
      );
    const fillArgs = (i: number) => [entries[i].fence, entries[i].value, checked[i][1]] as const;
    const replies = await this.batches.read(
      checked.map(([redisKey]) => redisKey),
      (p, k, i) => p.eval(FILL_SCRIPT, 1, k, ...fillArgs(i)),
      (client, routeKeys, indices) =>
        runScript(client, FILL_EACH_SCRIPT, routeKeys, [
          ...indices.map((i) => entries[i].fence),
          ...indices.map((i) => entries[i].value),
          ...indices.map((i) => checked[i][1]),
        ]) as Promise<unknown[]>,
    );
    const stored = replies.map(([reply]) => reply === 1);
    if (this.topology.replicated) {
      const filled = stored.flatMap((ok, i) => (ok ? [i] : []));
      await this.onEveryReplica(
        filled.map((i) => checked[i][0]),
        (p, k, j) => p.eval(FILL_SCRIPT, 1, k, ...fillArgs(filled[j])),
      );
    }
    return stored;
  }

  async renewFence(key: string, marker: string, leaseTtlMs: number): Promise<boolean> {
    const ttl = validateTtl(leaseTtlMs);
    const renew: Enqueue = (p, k) => p.eval(RENEW_SCRIPT, 1, k, marker, ttl);
    if (!this.topology.replicated) {
      const [[renewed]] = await this.batches.read(this.valueKeys([key]), renew);
      return renewed === 1;
    }
    const [copies] = await this.batches.write(this.valueKeys([key]), renew);
    return copies.some(([renewed]) => renewed === 1);
  }

  async releaseFence(key: string, marker: string): Promise<void> {
    const release: Enqueue = (p, k) => p.eval(RELEASE_SCRIPT, 1, k, marker);
    if (this.topology.replicated) await this.batches.write(this.valueKeys([key]), release);
    else await this.batches.read(this.valueKeys([key]), release);
  }

  /**
   * Runs a fencing script on every replica of the keys. Its outcome is not needed: a copy that
   * failed is reported to the topology (the ring purges it before it serves reads again).
   */
  private async onEveryReplica(redisKeys: readonly string[], enqueue: Enqueue): Promise<void> {
    if (redisKeys.length === 0) return;
    await this.batches.write(redisKeys, enqueue).catch(() => undefined);
  }

  /** Validates an entry (key, TTL, tags); returns its Redis key and its TTL in whole milliseconds. */
  private checkEntry(entry: L2Entry): [redisKey: string, ttlMs: number] {
    for (const tag of entry.tags ?? []) this.keyspace.tagKey(tag);
    return [this.keyspace.valueKey(entry.key), validateTtl(entry.ttlMs)];
  }

  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    // Each key's value check (a marker is no value: fence.ts) goes in the same pipeline as its UNLINK.
    const replies = await this.batches.write(this.valueKeys(keys), (p, k) => {
      enqueueHoldsValue(p, k);
      p.unlink(k);
    });
    // A replicated key counts once: it held a value if any copy did.
    return replies.filter((copies) => copies.some((r) => holdsValueOf(r.slice(0, 2)))).length;
  }

  async pttl(key: string): Promise<number | null> {
    const [[ms]] = await this.batches.read(this.valueKeys([key]), (p, k) => p.pttl(k));
    return ms === -2 ? null : (ms as number);
  }

  async exists(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    // A key holding only a fill's marker is no value (fence.ts); one script per route where it may span keys.
    const replies = await this.batches.read(
      this.valueKeys(keys),
      enqueueHoldsValue,
      (client, redisKeys) => runScript(client, HOLDS_VALUE_SCRIPT, redisKeys, []) as Promise<number[]>,
    );
    return replies.filter(holdsValueOf).length;
  }

  // --- tags

  deleteByTag(tag: string, options?: L2DeleteByTagOptions): Promise<number> {
    return this.tags.deleteByTag(tag, options?.onKeys);
  }

  countByTag(tag: string): Promise<number> {
    return this.tags.countByTag(tag);
  }

  /** Drops members whose TTL plus the grace passed from a tag's set (also done on its own past `maxTagMembers`). */
  pruneTag(tag: string): Promise<number> {
    return this.tags.prune(tag);
  }

  // --- keyspace walks

  scan(options: L2ScanOptions = {}): Promise<L2ScanPage> {
    return scanPage(this.topology.scanPlan("read"), this.keyspace, options, this.onReadError);
  }

  deleteMatching(pattern: string, options: L2DeleteMatchingOptions = {}): Promise<L2DeleteMatchingResult> {
    return deleteMatching(this.topology.scanPlan("write"), this.keyspace, pattern, options, this.onWriteError);
  }

  countMatching(pattern: string, options: L2CountOptions = {}): Promise<L2CountResult> {
    return countMatching(this.topology.scanPlan("read"), this.keyspace, pattern, options, this.onReadError);
  }

  // --- health and topology

  async info(): Promise<L2NodeInfo[]> {
    return Promise.all(
      this.topology.nodeClients().map(async ({ id, client }): Promise<L2NodeInfo> => {
        try {
          const [memory, keys] = await withTimeout(Promise.all([client.info("memory"), client.dbsize()]), PROBE_TIMEOUT_MS, `INFO on ${id}`);
          const usedMemory = Number(/^used_memory:(\d+)/m.exec(memory)?.[1] ?? 0);
          return { node: id, used_memory: usedMemory, keys, healthy: true };
        } catch (error) {
          return { node: id, used_memory: 0, keys: 0, healthy: false, error: (error as Error).message };
        }
      }),
    );
  }

  async ping(): Promise<number> {
    const failed: string[] = [];
    let slowest = 0;
    let firstError: unknown;
    await Promise.all(
      this.topology.nodeClients().map(async ({ id, client }) => {
        const started = performance.now();
        try {
          await withTimeout(client.ping(), PROBE_TIMEOUT_MS, `PING ${id}`);
          slowest = Math.max(slowest, performance.now() - started);
        } catch (error) {
          this.topology.reportFailure(id, "read", error);
          failed.push(id);
          firstError ??= error;
        }
      }),
    );
    if (failed.length > 0 && !this.topology.canServeWithout(failed)) throw L2UnavailableError.from(firstError, `L2 ping failed on ${failed.join(", ")}`);
    return Math.round(slowest * 100) / 100;
  }

  nodes(): L2NodeRef[] {
    return this.topology.nodes();
  }

  nodeFor(redisKey: string): L2NodeRef {
    return this.topology.nodeFor(redisKey);
  }

  controlClient(redisKey: string): L2ControlClient {
    return this.topology.controlClient(redisKey);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.background]);
    await this.topology.close();
  }

  // --- plumbing

  private track(task: Promise<unknown>): void {
    this.background.add(task);
    void task.finally(() => this.background.delete(task));
  }

  private valueKeys(keys: readonly string[]): string[] {
    return keys.map((k) => this.keyspace.valueKey(k));
  }

  private readonly onReadError = (node: string, error: unknown) => void this.topology.reportFailure(node, "read", error);
  private readonly onWriteError = (node: string, error: unknown) => void this.topology.reportFailure(node, "write", error);
}

interface FenceReadRequest {
  key: string;
  marker: string;
  leaseTtlMs: number;
}

/** EVAL with the reply's bulk strings as Buffers (ioredis has the command; its types omit it). */
function evalBuffer(pipeline: ChainableCommander, script: string, key: string, ...args: Array<string | number>): void {
  (pipeline as unknown as { evalBuffer(...args: unknown[]): unknown }).evalBuffer(script, 1, key, ...args);
}
