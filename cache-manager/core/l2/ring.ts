/**
 * L2 on independent Redis servers placed on a consistent-hash ring (`hashring.ts`). Each key
 * lives on `replicas` distinct nodes clockwise from its hash:
 *
 * - writes and deletes go to every connected replica, and succeed when at least one copy did;
 * - reads go to the first readable replica (see `ring-node.ts` for health) and fail over to the
 *   next when a node errors mid-request;
 * - scans visit every node and report a key only from its first readable replica;
 * - a fenced read takes its lease on the reader and then puts the same marker on every replica,
 *   and a fill that stored on the reader is written to each replica through the same fence (see
 *   `store.ts`), so a read after a failover finds the value and a delete still revokes it everywhere.
 *
 * Membership changes leave the copies on nodes that no longer own a key until their TTL; they
 * are not read, and pattern deletes (which scan every node) still remove them.
 *
 * @example
 * const l2 = await createRingL2({ nodes: ["10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"], replicas: 2 });
 * await l2.addNode("10.0.0.4:6379");
 */
import type { RedisOptions } from "ioredis";
import { L2ArgumentError, L2UnavailableError } from "./errors.ts";
import { HashRing } from "./hashring.ts";
import { KeySpace } from "./pattern.ts";
import { RingNode, type RingNodeConfig } from "./ring-node.ts";
import { fingerprint, parseNodeId, planRoutes, type Access, type RoutePlan, type ScanPlan, type Topology } from "./routing.ts";
import { RoutedStore } from "./store.ts";
import type { L2CommonOptions, L2NodeRef } from "./types.ts";

export type RingNodeAddress = string | { host: string; port: number };

export interface RingL2Options extends L2CommonOptions {
  /** `host:port` strings or objects. */
  nodes: RingNodeAddress[];
  /** Copies of each key (capped at the node count); default 2. */
  replicas?: number;
  /** Ring points per node; default 160. */
  vnodes?: number;
  /** How long a node that errored is skipped for reads; default 1 000 ms. */
  errorCooldownMs?: number;
  /** A command slower than this fails and cools its node down; default 1 000 ms. */
  commandTimeoutMs?: number;
  /** Purge a node that may have missed writes before reading from it again; default true. */
  purgeOnRejoin?: boolean;
  /** How long to wait for each node's first connection; default 5 000 ms. */
  connectTimeoutMs?: number;
  /** Succeed when at least this many nodes connected at startup; default: all of them. */
  minConnectedNodes?: number;
  redisOptions?: RedisOptions;
}

function parseAddress(address: RingNodeAddress): { host: string; port: number } {
  if (typeof address !== "string") return address;
  const { host, port } = parseNodeId(address.replace(/^redis:\/\//, ""));
  if (!host || !Number.isInteger(port)) throw new L2ArgumentError(`ring node "${address}" is not host:port`);
  return { host, port };
}

class RingTopology implements Topology {
  readonly mode = "ring";
  private readonly members = new Map<string, RingNode>();
  private readonly ring: HashRing;

  constructor(
    nodes: readonly RingNode[],
    private readonly replicas: number,
    vnodes: number,
  ) {
    for (const node of nodes) this.members.set(node.id, node);
    this.ring = new HashRing([...this.members.keys()], { vnodes });
  }

  get replicated(): boolean {
    return this.replicas > 1 && this.members.size > 1;
  }

  /** The key's replicas, primary first. */
  candidates(redisKey: string): RingNode[] {
    return this.ring.replicas(redisKey, this.replicas).map((id) => this.members.get(id)!);
  }

  /** Where a read of the key goes: the first readable replica, else the first trusted one. */
  private readerOf(redisKey: string, skip?: ReadonlySet<string>): RingNode | undefined {
    const nodes = this.candidates(redisKey).filter((n) => !skip?.has(n.id));
    return nodes.find((n) => n.readable) ?? nodes.find((n) => n.trusted);
  }

  readRoutes(redisKeys: readonly string[], indices: readonly number[], skip: ReadonlySet<string>): RoutePlan {
    const client = (id: string) => this.members.get(id)!.client;
    return planRoutes(
      indices,
      (i) => this.readerOf(redisKeys[i], skip)?.id,
      (id) => client(id).pipeline(),
      client,
    );
  }

  writeRoutes(redisKeys: readonly string[], indices: readonly number[]): RoutePlan {
    // Fan each index out to every connected replica, then group by node.
    const pairs: Array<[index: number, node: string]> = [];
    const unroutable: number[] = [];
    for (const i of indices) {
      const targets = this.candidates(redisKeys[i]).filter((n) => n.connected);
      if (targets.length === 0) unroutable.push(i);
      for (const n of targets) pairs.push([i, n.id]);
    }
    const plan = planRoutes(
      pairs.map((_, p) => p),
      (p) => pairs[p][1],
      (id) => this.members.get(id)!.client.pipeline(),
      (id) => this.members.get(id)!.client,
    );
    for (const route of plan.routes) route.indices = route.indices.map((p) => pairs[p][0]);
    return { routes: plan.routes, unroutable };
  }

  reportFailure(node: string, access: Access): boolean {
    this.members.get(node)?.noteError(access);
    return true;
  }

  private ordered(): RingNode[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  scanPlan(access: Access): ScanPlan {
    const nodes = this.ordered();
    return {
      fingerprint: fingerprint(nodes.map((n) => n.id)),
      targets: nodes.map((node) => ({
        id: node.id,
        client: node.client,
        // Deletes reach every connected copy; listings read only from nodes that are safe to read.
        available: access === "write" ? node.connected : node.trusted,
        owns: (redisKey: string) => this.readerOf(redisKey) === node,
        multiKey: true,
      })),
    };
  }

  canServeWithout(failed: readonly string[]): boolean {
    return failed.length < this.members.size;
  }

  nodes(): L2NodeRef[] {
    return this.ordered().map((n) => n.ref());
  }

  nodeClients() {
    return this.ordered().map((n) => ({ id: n.id, client: n.client }));
  }

  private nodeOf(redisKey: string): RingNode {
    const node = this.readerOf(redisKey) ?? this.candidates(redisKey)[0];
    if (!node) throw new L2UnavailableError("the ring has no nodes");
    return node;
  }

  nodeFor(redisKey: string): L2NodeRef {
    return this.nodeOf(redisKey).ref();
  }

  controlClient(redisKey: string) {
    return this.nodeOf(redisKey).client;
  }

  has(id: string): boolean {
    return this.members.has(id);
  }

  add(node: RingNode): void {
    this.members.set(node.id, node);
    this.ring.add(node.id);
  }

  remove(id: string): RingNode | undefined {
    const node = this.members.get(id);
    this.ring.remove(id);
    this.members.delete(id);
    return node;
  }

  async close(): Promise<void> {
    await Promise.all([...this.members.values()].map((n) => n.close()));
  }
}

/** A ring store: the shared store plus membership changes. */
export class RingL2Store extends RoutedStore {
  constructor(
    private readonly ring: RingTopology,
    private readonly nodeConfig: RingNodeConfig,
    private readonly connectTimeoutMs: number,
    options: L2CommonOptions,
  ) {
    super(ring, options);
  }

  /**
   * Connects to a node and puts it on the ring. About 1/(N+1) of the keys move to it; they miss
   * once. With `purge` (default) the node is first emptied of this store's keys, since copies
   * left from an earlier membership could be stale.
   */
  async addNode(address: RingNodeAddress, options: { purge?: boolean } = {}): Promise<L2NodeRef> {
    const { host, port } = parseAddress(address);
    const node = new RingNode(host, port, this.nodeConfig);
    if (this.ring.has(node.id)) {
      await node.close();
      throw new L2ArgumentError(`${node.id} is already on the ring`);
    }
    try {
      await node.ready(this.connectTimeoutMs);
      if (options.purge ?? true) await node.purge();
    } catch (error) {
      await node.close();
      throw L2UnavailableError.from(error, `adding ${node.id} to the ring`);
    }
    this.ring.add(node);
    return node.ref();
  }

  /** Takes a node off the ring (its keys move to the next nodes) and closes its connection. */
  async removeNode(id: string): Promise<void> {
    const node = this.ring.remove(id);
    if (!node) throw new L2ArgumentError(`${id} is not on the ring`);
    await node.close();
  }
}

/** Connects to every node and resolves once `minConnectedNodes` of them answer. */
export async function createRingL2(options: RingL2Options): Promise<RingL2Store> {
  if (!options.nodes?.length) throw new L2ArgumentError("createRingL2 needs at least one node");
  const replicas = options.replicas ?? 2;
  if (!Number.isInteger(replicas) || replicas < 1) throw new L2ArgumentError("replicas must be a positive integer");
  const config: RingNodeConfig = {
    keyspace: new KeySpace(options.prefix, options.tagPrefix),
    errorCooldownMs: options.errorCooldownMs ?? 1_000,
    commandTimeoutMs: options.commandTimeoutMs ?? 1_000,
    purgeOnRejoin: options.purgeOnRejoin ?? true,
    redisOptions: options.redisOptions,
  };
  const addresses = new Map(options.nodes.map(parseAddress).map((a) => [`${a.host}:${a.port}`, a]));
  const nodes = [...addresses.values()].map(({ host, port }) => new RingNode(host, port, config));
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const results = await Promise.allSettled(nodes.map((n) => n.ready(connectTimeoutMs)));
  const connected = results.filter((r) => r.status === "fulfilled").length;
  const required = options.minConnectedNodes ?? nodes.length;
  if (connected < required) {
    await Promise.all(nodes.map((n) => n.close()));
    throw new L2UnavailableError(`only ${connected} of ${nodes.length} ring nodes answered (need ${required})`);
  }
  return new RingL2Store(new RingTopology(nodes, replicas, options.vnodes ?? 160), config, connectTimeoutMs, options);
}
