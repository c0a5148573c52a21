/**
 * What a deployment mode must provide to the shared store (`store.ts`): where each key is read
 * and written, which nodes to scan, and how failures change node health. Single, Cluster and
 * ring differ only here; batching, tags, scans and validation are written once.
 */
import type { ChainableCommander, Redis } from "ioredis";
import { murmur3 } from "./hashring.ts";
import type { L2ControlClient, L2Mode, L2NodeRef } from "./types.ts";

/** A batch of keys (by index into the request's key list) that one node serves. */
export interface Route {
  node: string;
  indices: number[];
  /** A fresh pipeline that reaches `node` (Cluster routes by the keys queued on it). */
  pipeline(): ChainableCommander;
  /**
   * The node's connection when it is a plain Redis server, where one command may name keys of
   * any hash slot (MGET of a whole route); absent on a Cluster.
   */
  multiKey?: Redis;
}

export interface RoutePlan {
  routes: Route[];
  /** Indices no reachable node can serve. */
  unroutable: number[];
}

export type Access = "read" | "write";

/** One node as seen by a scan. */
export interface ScanTarget {
  id: string;
  client: Redis;
  /** False: skip this node (ring: unhealthy; its keys are reported by their replicas). */
  available: boolean;
  /** Whether a key found on this node is reported from here (ring replicas report once). */
  owns(redisKey: string): boolean;
  /** A plain Redis server (not a Cluster node): one command may name keys of any hash slot. */
  multiKey?: boolean;
  /**
   * A plain Redis server that owns every key found on it (single mode): a pattern delete may run
   * SCAN + UNLINK, and a count SCAN + the marker check, inside the server, a page per script
   * call, so no key travels to the client.
   */
  deletesOnServer?: boolean;
}

export interface ScanPlan {
  /** Changes whenever the node list does, so a stale cursor is detected. */
  fingerprint: string;
  targets: ScanTarget[];
}

export interface Topology {
  readonly mode: L2Mode;
  /** Whether a key lives on more than one node (ring with replicas): fenced fills must reach each copy. */
  readonly replicated: boolean;
  /** Each index once, on the first usable node not in `skip`. */
  readRoutes(redisKeys: readonly string[], indices: readonly number[], skip: ReadonlySet<string>): RoutePlan;
  /** Each index on every node that must hold it (ring: all reachable replicas). */
  writeRoutes(redisKeys: readonly string[], indices: readonly number[]): RoutePlan;
  /** Records a failed route; true when its reads may be retried on another node. */
  reportFailure(node: string, access: Access, error: unknown): boolean;
  /** `read`: nodes to list/count keys on; `write`: nodes to delete keys on. */
  scanPlan(access: Access): ScanPlan;
  /** Whether the store can still serve with these nodes failing (used by `ping`). */
  canServeWithout(failed: readonly string[]): boolean;
  nodes(): L2NodeRef[];
  nodeClients(): Array<{ id: string; client: Redis }>;
  nodeFor(redisKey: string): L2NodeRef;
  controlClient(redisKey: string): L2ControlClient;
  close(): Promise<void>;
}

/** Groups indices by the node `pick` chooses; `undefined` means unroutable. */
export function planRoutes(
  indices: readonly number[],
  pick: (index: number) => string | undefined,
  pipelineFor: (node: string) => ChainableCommander,
  multiKeyClient?: (node: string) => Redis,
): RoutePlan {
  const byNode = new Map<string, number[]>();
  const unroutable: number[] = [];
  for (const i of indices) {
    const node = pick(i);
    if (node === undefined) unroutable.push(i);
    else (byNode.get(node) ?? byNode.set(node, []).get(node)!).push(i);
  }
  const routes = [...byNode].map(([node, group]): Route => ({ node, indices: group, pipeline: () => pipelineFor(node), multiKey: multiKeyClient?.(node) }));
  return { routes, unroutable };
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function nodeId(host: string, port: number): string {
  return `${host}:${port}`;
}

export function parseNodeId(id: string): { host: string; port: number } {
  const at = id.lastIndexOf(":");
  return { host: id.slice(0, at), port: Number(id.slice(at + 1)) };
}

export function fingerprint(ids: readonly string[]): string {
  return murmur3(Buffer.from(ids.join(","), "utf8")).toString(36);
}

/** Rejects with `what` when `promise` has not settled after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once an ioredis client (plain or Cluster) is ready; rejects after `ms`. */
export function waitReady(client: { status: string; once(event: "ready", fn: () => void): unknown }, ms: number, what: string): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return withTimeout(
    new Promise<void>((resolve) => {
      client.once("ready", () => resolve());
    }),
    ms,
    `connecting to ${what}`,
  );
}
