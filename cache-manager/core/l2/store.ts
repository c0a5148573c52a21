/**
 * The L2 store every mode shares: validation, pipelined batches per node, replica fail-over for
 * reads, the tag index, keyspace walks and health. Where keys live comes from a `Topology`
 * (single.ts, cluster.ts, ring.ts).
 *
 * Tag index: `tagKey(tag)` is a Redis set of logical keys. Each write adds its key to the sets of
 * its tags and pushes the set's expiry to at least the key's TTL plus a grace (`PEXPIRE NX` then
 * `PEXPIRE GT`), so a set lives exactly as long as its longest-lived member could. A set that
 * grows past `maxTagMembers` is pruned in the background of members whose keys are gone. A key
 * re-written without a tag stays in that tag's set until it expires: `deleteByTag` may then
 * delete it too, which costs a miss, never a stale read.
 */
import type { ChainableCommander } from "ioredis";
import { L2UnavailableError } from "./errors.ts";
import { KeySpace, validateTtl } from "./pattern.ts";
import { chunk, withTimeout, type Route, type Topology } from "./routing.ts";
import { countMatching, deleteMatching, scanPage } from "./scan.ts";
import type {
  L2CommonOptions,
  L2CountOptions,
  L2CountResult,
  L2DeleteMatchingOptions,
  L2DeleteMatchingResult,
  L2Entry,
  L2NodeInfo,
  L2NodeRef,
  L2ScanOptions,
  L2ScanPage,
  L2SetOptions,
  L2Store,
  L2Value,
  L2ControlClient,
  L2Mode,
} from "./types.ts";

/** Queues the commands for one key on a pipeline. */
type Enqueue = (pipeline: ChainableCommander, redisKey: string, index: number) => void;

const TAG_POP_BATCH = 500;
/** deleteByTag stops after this many SPOP rounds even if writers keep adding to the tag. */
const MAX_TAG_ROUNDS = 10_000;
const PROBE_TIMEOUT_MS = 2_000;
/**
 * Pipelines one route keeps in flight. A huge batch sent all at once would queue on the socket
 * long enough to trip per-command timeouts; a few at a time keeps the node busy without that.
 */
const PIPELINES_IN_FLIGHT = 4;

/** `Promise.all(items.map(fn))` with at most `limit` calls running; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const at = next++;
      results[at] = await fn(items[at]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export class RoutedStore implements L2Store {
  readonly mode: L2Mode;
  readonly keyspace: KeySpace;
  private readonly tagGraceMs: number;
  private readonly maxTagMembers: number;
  private readonly maxPipeline: number;
  private readonly background = new Set<Promise<unknown>>();
  /** Per tag: the set's size after its last prune; the next prune waits for 1.5× that. */
  private readonly pruneFloor = new Map<string, number>();

  constructor(
    protected readonly topology: Topology,
    options: L2CommonOptions = {},
  ) {
    this.mode = topology.mode;
    this.keyspace = new KeySpace(options.prefix, options.tagPrefix);
    this.tagGraceMs = options.tagGraceMs ?? 5_000;
    this.maxTagMembers = options.maxTagMembers ?? 50_000;
    this.maxPipeline = options.maxPipeline ?? 1_000;
  }

  // --- values

  async get(key: string): Promise<Buffer | null> {
    return (await this.mget([key]))[0];
  }

  async mget(keys: readonly string[]): Promise<(Buffer | null)[]> {
    const replies = await this.read(this.valueKeys(keys), (p, k) => p.getBuffer(k));
    return replies.map(([value]) => (value as Buffer | null) ?? null);
  }

  async set(key: string, value: L2Value, ttlMs: number, options: L2SetOptions = {}): Promise<void> {
    await this.mset([{ key, value, ttlMs, tags: options.tags }]);
  }

  async mset(entries: readonly L2Entry[]): Promise<void> {
    if (entries.length === 0) return;
    const redisKeys = this.valueKeys(entries.map((e) => e.key));
    const ttls = entries.map((e) => validateTtl(e.ttlMs));
    await Promise.all([
      this.write(redisKeys, (p, k, i) => p.set(k, entries[i].value, "PX", ttls[i])),
      this.indexTags(entries, ttls),
    ]);
  }

  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const replies = await this.write(this.valueKeys(keys), (p, k) => p.unlink(k));
    // A replicated key counts once: it existed if any copy did.
    return replies.filter((copies) => copies.some(([removed]) => removed === 1)).length;
  }

  async pttl(key: string): Promise<number | null> {
    const [[ms]] = await this.read(this.valueKeys([key]), (p, k) => p.pttl(k));
    return ms === -2 ? null : (ms as number);
  }

  async exists(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const replies = await this.read(this.valueKeys(keys), (p, k) => p.exists(k));
    return replies.filter(([found]) => found === 1).length;
  }

  // --- tags

  async deleteByTag(tag: string): Promise<number> {
    const tagKey = this.keyspace.tagKey(tag);
    let deleted = 0;
    for (let round = 0; round < MAX_TAG_ROUNDS; round++) {
      // SPOP takes members atomically, so a key tagged meanwhile stays for the next call.
      const [copies] = await this.write([tagKey], (p, k) => p.spop(k, TAG_POP_BATCH));
      const members = new Set<string>();
      let more = false;
      for (const [popped] of copies) {
        const batch = (popped as string[] | null) ?? [];
        batch.forEach((m) => members.add(m));
        if (batch.length === TAG_POP_BATCH) more = true;
      }
      if (members.size > 0) deleted += await this.deletePopped(tagKey, [...members]);
      if (!more) break;
    }
    return deleted;
  }

  /** Deletes popped members; on failure puts them back so the tag still finds them. */
  private async deletePopped(tagKey: string, members: string[]): Promise<number> {
    try {
      return await this.delete(members);
    } catch (error) {
      await this.write([tagKey], (p, k) => p.sadd(k, ...members)).catch(() => undefined);
      throw error;
    }
  }

  private async indexTags(entries: readonly L2Entry[], ttls: readonly number[]): Promise<void> {
    const byTag = new Map<string, { members: Set<string>; ttl: number }>();
    entries.forEach((entry, i) => {
      for (const tag of entry.tags ?? []) {
        const index = byTag.get(tag) ?? byTag.set(tag, { members: new Set(), ttl: 0 }).get(tag)!;
        index.members.add(entry.key);
        index.ttl = Math.max(index.ttl, ttls[i]);
      }
    });
    if (byTag.size === 0) return;
    const tags = [...byTag.keys()];
    const sizes = await this.write(
      tags.map((t) => this.keyspace.tagKey(t)),
      (p, k, i) => {
        const { members, ttl } = byTag.get(tags[i])!;
        for (const part of chunk([...members], 1000)) p.sadd(k, ...part);
        p.pexpire(k, ttl + this.tagGraceMs, "NX");
        p.pexpire(k, ttl + this.tagGraceMs, "GT");
        p.scard(k);
      },
    );
    sizes.forEach((copies, i) => this.maybePrune(tags[i], Math.max(...copies.map((replies) => Number(replies.at(-1))))));
  }

  /**
   * Prunes a tag set that outgrew `maxTagMembers` and half again its size after the last prune,
   * so a tag with many live keys is not rescanned on every write (amortized O(1) per member).
   */
  private maybePrune(tag: string, size: number): void {
    const floor = this.pruneFloor.get(tag) ?? 0;
    if (size <= this.maxTagMembers || size <= floor * 1.5) return;
    if (this.pruneFloor.size >= 1000) this.pruneFloor.clear();
    this.pruneFloor.set(tag, size); // holds off further triggers while this prune runs
    this.track(
      this.pruneTag(tag).then(
        (removed) => this.pruneFloor.set(tag, size - removed),
        () => this.pruneFloor.delete(tag),
      ),
    );
  }

  /**
   * Removes members whose keys no longer exist from every copy of the tag's set; resolves to
   * how many were removed. Runs on its own when a set outgrows `maxTagMembers`.
   */
  async pruneTag(tag: string): Promise<number> {
    const tagKey = this.keyspace.tagKey(tag);
    let removed = 0;
    for (const route of this.topology.writeRoutes([tagKey], [0]).routes) {
      let cursor = "0";
      do {
        const [[page]] = await this.runRoute(route, [tagKey], (p, k) => p.sscan(k, cursor, "COUNT", 1000));
        const [next, members] = page as [string, string[]];
        cursor = next;
        if (members.length === 0) continue;
        const alive = await this.read(this.valueKeys(members), (p, k) => p.exists(k));
        const dead = members.filter((_, i) => alive[i][0] === 0);
        if (dead.length === 0) continue;
        const [[count]] = await this.runRoute(route, [tagKey], (p, k) => p.srem(k, ...dead));
        removed += count as number;
      } while (cursor !== "0");
    }
    return removed;
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

  protected track(task: Promise<unknown>): void {
    this.background.add(task);
    void task.finally(() => this.background.delete(task));
  }

  private valueKeys(keys: readonly string[]): string[] {
    return keys.map((k) => this.keyspace.valueKey(k));
  }

  private readonly onReadError = (node: string, error: unknown) => void this.topology.reportFailure(node, "read", error);
  private readonly onWriteError = (node: string, error: unknown) => void this.topology.reportFailure(node, "write", error);

  /**
   * Runs one route's commands in pipelines of at most `maxPipeline` keys; resolves to each
   * index's replies, in route order. Any error fails the route: a partly applied batch is
   * reported as failed, never as done.
   */
  private async runRoute(route: Route, redisKeys: readonly string[], enqueue: Enqueue): Promise<unknown[][]> {
    const parts = await mapLimit(chunk(route.indices, this.maxPipeline), PIPELINES_IN_FLIGHT, async (indices) => {
      const pipeline = route.pipeline();
      const spans = indices.map((i) => {
        const before = pipeline.length;
        enqueue(pipeline, redisKeys[i], i);
        return pipeline.length - before;
      });
      const replies = await pipeline.exec();
      if (!replies) throw new Error("pipeline was discarded");
      let at = 0;
      return spans.map((span) => {
        const own = replies.slice(at, (at += span));
        for (const [error] of own) if (error) throw error;
        return own.map(([, reply]) => reply);
      });
    });
    return parts.flat();
  }

  /** Reads each key from one node, failing over to the next replica where the topology allows. */
  protected async read(redisKeys: readonly string[], enqueue: Enqueue): Promise<unknown[][]> {
    const results: unknown[][] = new Array(redisKeys.length);
    const skip = new Set<string>();
    let pending = redisKeys.map((_, i) => i);
    while (pending.length > 0) {
      const { routes, unroutable } = this.topology.readRoutes(redisKeys, pending, skip);
      if (unroutable.length > 0) throw new L2UnavailableError(`no reachable L2 node holds ${redisKeys[unroutable[0]]}`);
      const retry: number[] = [];
      let fatal: unknown;
      await Promise.all(
        routes.map(async (route) => {
          try {
            const replies = await this.runRoute(route, redisKeys, enqueue);
            route.indices.forEach((index, j) => (results[index] = replies[j]));
          } catch (error) {
            if (this.topology.reportFailure(route.node, "read", error)) {
              skip.add(route.node);
              retry.push(...route.indices);
            } else {
              fatal ??= error;
            }
          }
        }),
      );
      if (fatal !== undefined) throw L2UnavailableError.from(fatal, "L2 read failed");
      pending = retry;
    }
    return results;
  }

  /**
   * Writes each key to every node the topology names; resolves to each index's replies per
   * copy. Fails when some key reached no node at all.
   */
  protected async write(redisKeys: readonly string[], enqueue: Enqueue): Promise<unknown[][][]> {
    const { routes, unroutable } = this.topology.writeRoutes(
      redisKeys,
      redisKeys.map((_, i) => i),
    );
    if (unroutable.length > 0) throw new L2UnavailableError(`no reachable L2 node for ${redisKeys[unroutable[0]]}`);
    const results: unknown[][][] = redisKeys.map(() => []);
    let firstError: unknown;
    await Promise.all(
      routes.map(async (route) => {
        try {
          const replies = await this.runRoute(route, redisKeys, enqueue);
          route.indices.forEach((index, j) => results[index].push(replies[j]));
        } catch (error) {
          this.topology.reportFailure(route.node, "write", error);
          firstError ??= error;
        }
      }),
    );
    if (results.some((copies) => copies.length === 0)) throw L2UnavailableError.from(firstError, "L2 write failed");
    return results;
  }
}
