/**
 * Pipelined batches over a topology: each key list is split by node (`Topology` routes), sent
 * as a few pipelines per node at a time, and the replies are put back in input order. Reads
 * fail over to another replica when the topology allows; writes succeed when every key reached
 * at least one node.
 */
import type { ChainableCommander, Redis } from "ioredis";
import { L2UnavailableError } from "./errors.ts";
import type { L2Value } from "./types.ts";
import { chunk, type Route, type Topology } from "./routing.ts";
import { mapBounded } from "../../../lib/concurrency.ts";
import { runScript } from "../../../lib/redis.ts";

/** Queues the commands for one key on a pipeline. */
export type Enqueue = (pipeline: ChainableCommander, redisKey: string, index: number) => void;

/**
 * One multi-key command for many keys (e.g. MGET), replying once per key, in order. `indices` are
 * the keys' positions in the whole request (for per-key arguments).
 */
export type ReadMany = (client: Redis, redisKeys: string[], indices: readonly number[]) => Promise<unknown[]>;

/**
 * Pipelines one route keeps in flight. A huge batch sent all at once would queue on the socket
 * long enough to trip per-command timeouts; a few at a time keeps the node busy without that.
 */
const PIPELINES_IN_FLIGHT = 4;

/**
 * `SET key value PX ttl` for each of a chunk's keys in one command: KEYS are the keys, ARGV the
 * values then the TTLs. One command instead of one per key is most of the client's cost of a
 * batch write (a command object, a promise and a reply each). A failing SET stops the script with
 * the keys before it written, as a failed pipeline would: the batch is reported as failed.
 */
const SET_EACH_SCRIPT = `local n = #KEYS
for i = 1, n do redis.call('SET', KEYS[i], ARGV[i], 'PX', ARGV[n + i]) end
return n`;

/** Throws the first error of a pipeline's replies. */
function throwFirstError(replies: [Error | null, unknown][] | null): void {
  if (!replies) throw new Error("pipeline was discarded");
  for (const [error] of replies) if (error) throw error;
}

export class Batches {
  constructor(
    private readonly topology: Topology,
    private readonly maxPipeline: number,
  ) {}

  /**
   * Runs one route's commands in pipelines of at most `maxPipeline` keys; resolves to each
   * index's replies, in route order. Any error fails the route: a partly applied batch is
   * reported as failed, never as done.
   */
  async runRoute(route: Route, redisKeys: readonly string[], enqueue: Enqueue): Promise<unknown[][]> {
    const parts = await mapBounded(chunk(route.indices, this.maxPipeline), PIPELINES_IN_FLIGHT, async (indices) => {
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

  /**
   * Like `runRoute` for reads, with one `many` command per `maxPipeline` keys on a node that
   * takes multi-key commands: one command object and one reply instead of one per key, which is
   * most of a small read's client CPU.
   */
  private async readRoute(route: Route, redisKeys: readonly string[], enqueue: Enqueue, many?: ReadMany): Promise<unknown[][]> {
    const client = route.multiKey;
    if (!many || !client) return this.runRoute(route, redisKeys, enqueue);
    const keysOf = (indices: number[]) => indices.map((i) => redisKeys[i]);
    const parts =
      route.indices.length <= this.maxPipeline
        ? [await many(client, keysOf(route.indices), route.indices)]
        : await mapBounded(chunk(route.indices, this.maxPipeline), PIPELINES_IN_FLIGHT, (indices) => many(client, keysOf(indices), indices));
    return parts.flat().map((reply) => [reply]);
  }

  /**
   * Reads each key from one node, failing over to the next replica where the topology allows.
   * `many`, when given, reads a whole route with multi-key commands where the node allows it.
   */
  async read(redisKeys: readonly string[], enqueue: Enqueue, many?: ReadMany): Promise<unknown[][]> {
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
            const replies = await this.readRoute(route, redisKeys, enqueue, many);
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
   * Sets each key to its value with its TTL (milliseconds, integer) on every node the topology
   * names. Fails when some key reached no node at all. On a plain Redis server each pipeline's
   * worth of keys is one script call; on a Cluster node (keys of many slots) one SET per key.
   */
  async setEach(redisKeys: readonly string[], values: readonly L2Value[], ttls: readonly number[]): Promise<void> {
    await this.writeRoutes(redisKeys, async (route) => {
      const send = route.multiKey ? setTogether : setOneByOne;
      await mapBounded(chunk(route.indices, this.maxPipeline), PIPELINES_IN_FLIGHT, (part) => send(route, part, redisKeys, values, ttls));
    });
  }

  /**
   * Writes each key to every node the topology names; resolves to each index's replies per
   * copy. Fails when some key reached no node at all.
   */
  async write(redisKeys: readonly string[], enqueue: Enqueue): Promise<unknown[][][]> {
    const results: unknown[][][] = redisKeys.map(() => []);
    await this.writeRoutes(redisKeys, async (route) => {
      const replies = await this.runRoute(route, redisKeys, enqueue);
      route.indices.forEach((index, j) => results[index].push(replies[j]));
    });
    return results;
  }

  /**
   * Runs `send` for each node the keys must be written to. A failed node is reported to the
   * topology; the write fails when some key reached no node at all.
   */
  private async writeRoutes(redisKeys: readonly string[], send: (route: Route) => Promise<void>): Promise<void> {
    const { routes, unroutable } = this.topology.writeRoutes(
      redisKeys,
      redisKeys.map((_, i) => i),
    );
    if (unroutable.length > 0) throw new L2UnavailableError(`no reachable L2 node for ${redisKeys[unroutable[0]]}`);
    const written = new Uint8Array(redisKeys.length);
    let firstError: unknown;
    await Promise.all(
      routes.map(async (route) => {
        try {
          await send(route);
          for (const index of route.indices) written[index] = 1;
        } catch (error) {
          this.topology.reportFailure(route.node, "write", error);
          firstError ??= error;
        }
      }),
    );
    if (written.includes(0)) throw L2UnavailableError.from(firstError, "L2 write failed");
  }
}

type SetSender = (route: Route, indices: readonly number[], redisKeys: readonly string[], values: readonly L2Value[], ttls: readonly number[]) => Promise<void>;

/** One script call for the chunk (the script is loaded on first use, or after a restart). */
const setTogether: SetSender = async (route, indices, redisKeys, values, ttls) => {
  const n = indices.length;
  const keys = new Array<string>(n);
  const args = new Array<L2Value | number>(2 * n);
  for (let j = 0; j < n; j++) {
    const i = indices[j];
    keys[j] = redisKeys[i];
    args[j] = values[i];
    args[n + j] = ttls[i];
  }
  await runScript(route.multiKey!, SET_EACH_SCRIPT, keys, args);
};

/** One SET per key (a Cluster pipeline routes each to its slot's node). */
const setOneByOne: SetSender = async (route, indices, redisKeys, values, ttls) => {
  const pipeline = route.pipeline();
  for (const i of indices) pipeline.set(redisKeys[i], values[i], "PX", ttls[i]);
  throwFirstError(await pipeline.exec());
};
