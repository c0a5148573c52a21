/**
 * L2 on Redis Cluster. Multi-key work is grouped by the master that owns each key's slot, one
 * pipeline per master, one key per command — so nothing ever spans slots (no CROSSSLOT) and
 * ioredis still follows MOVED/ASK during resharding. Keyspace walks run on every master.
 *
 * @example
 * const l2 = await createClusterL2({ nodes: [{ host: "10.0.0.1", port: 7000 }], prefix: "cachet:v:" });
 */
import { Cluster, type ClusterNode, type ClusterOptions, type Redis } from "ioredis";
import { L2ArgumentError, L2UnavailableError } from "./errors.ts";
import { keySlot } from "./slot.ts";
import { fingerprint, nodeId, parseNodeId, planRoutes, waitReady, type RoutePlan, type ScanPlan, type Topology } from "./routing.ts";
import { RoutedStore } from "./store.ts";
import type { L2CommonOptions, L2NodeRef, L2Store } from "./types.ts";

export interface ClusterL2Options extends L2CommonOptions {
  /** Seed nodes; the rest are discovered. Ignored when `cluster` is given. */
  nodes?: ClusterNode[];
  /** An existing Cluster client; the store will not close it. */
  cluster?: Cluster;
  clusterOptions?: ClusterOptions;
  /** How long to wait for the cluster to be ready; default 10 000 ms. */
  connectTimeoutMs?: number;
}

const idOf = (client: Redis) => nodeId(client.options.host ?? "127.0.0.1", client.options.port ?? 6379);

class ClusterTopology implements Topology {
  readonly mode = "cluster";
  readonly replicated = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly ownsCluster: boolean,
  ) {}

  /** The `host:port` of the master serving the key's slot, as ioredis last learned it. */
  private ownerOf(redisKey: string): string {
    return this.cluster.slots[keySlot(redisKey)]?.[0] ?? "unassigned";
  }

  readRoutes(redisKeys: readonly string[], indices: readonly number[]): RoutePlan {
    return this.bySlotOwner(redisKeys, indices);
  }

  writeRoutes(redisKeys: readonly string[], indices: readonly number[]): RoutePlan {
    return this.bySlotOwner(redisKeys, indices);
  }

  private bySlotOwner(redisKeys: readonly string[], indices: readonly number[]): RoutePlan {
    return planRoutes(
      indices,
      (i) => this.ownerOf(redisKeys[i]),
      () => this.cluster.pipeline(),
    );
  }

  reportFailure(): boolean {
    return false; // the cluster fails over by itself; a retry here would only repeat the error
  }

  private masters(): Redis[] {
    return this.cluster.nodes("master").sort((a, b) => (idOf(a) < idOf(b) ? -1 : 1));
  }

  scanPlan(): ScanPlan {
    const masters = this.masters();
    return {
      fingerprint: fingerprint(masters.map(idOf)),
      targets: masters.map((client) => ({ id: idOf(client), client, available: true, owns: () => true })),
    };
  }

  canServeWithout(failed: readonly string[]): boolean {
    return failed.length === 0; // each master holds slots no other node serves
  }

  nodes(): L2NodeRef[] {
    return this.masters().map((client) => ({
      id: idOf(client),
      host: client.options.host ?? "127.0.0.1",
      port: client.options.port ?? 6379,
      healthy: client.status === "ready",
    }));
  }

  nodeClients() {
    return this.masters().map((client) => ({ id: idOf(client), client }));
  }

  nodeFor(redisKey: string): L2NodeRef {
    const id = this.ownerOf(redisKey);
    const known = this.nodes().find((n) => n.id === id);
    return known ?? { id, ...parseNodeId(id), healthy: false };
  }

  /** The Cluster client itself: it routes any single-key command to the slot's owner. */
  controlClient(): Cluster {
    return this.cluster;
  }

  async close(): Promise<void> {
    if (this.ownsCluster) await this.cluster.quit().catch(() => this.cluster.disconnect());
  }
}

/** Connects to the cluster (or adopts `cluster`) and resolves once its slot map is known. */
export async function createClusterL2(options: ClusterL2Options): Promise<L2Store> {
  if (!options.cluster && !options.nodes?.length) throw new L2ArgumentError("createClusterL2 needs seed `nodes` or a `cluster` client");
  const cluster =
    options.cluster ??
    new Cluster(options.nodes!, {
      enableOfflineQueue: true,
      retryDelayOnFailover: 100,
      redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 5_000 },
      ...options.clusterOptions,
    });
  // Failures reach callers through their commands and `nodes()`; without a listener ioredis would print each one.
  if (!options.cluster) cluster.on("error", () => undefined);
  try {
    await waitReady(cluster, options.connectTimeoutMs ?? 10_000, "Redis Cluster");
  } catch (error) {
    if (!options.cluster) cluster.disconnect();
    throw L2UnavailableError.from(error, "L2 cluster unreachable");
  }
  return new RoutedStore(new ClusterTopology(cluster, !options.cluster), options);
}
