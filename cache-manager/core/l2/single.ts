/**
 * L2 on one Redis server: every key on one connection, every batch one pipeline.
 *
 * @example
 * const l2 = await createSingleL2({ url: process.env.REDIS_URL!, prefix: "cachet:v:" });
 * await l2.set("user:1", JSON.stringify(user), 60_000, { tags: ["users"] });
 */
import type { Redis, RedisOptions } from "ioredis";
import { connectRedis } from "../../../lib/redis.ts";
import { L2ArgumentError, L2UnavailableError } from "./errors.ts";
import { fingerprint, nodeId, planRoutes, waitReady, type RoutePlan, type ScanPlan, type Topology } from "./routing.ts";
import { RoutedStore } from "./store.ts";
import type { L2CommonOptions, L2NodeRef, L2Store } from "./types.ts";

export interface SingleL2Options extends L2CommonOptions {
  /** `redis://host:port/db`; ignored when `client` is given. */
  url?: string;
  /** An existing connection; the store will not close it. */
  client?: Redis;
  redisOptions?: RedisOptions;
  /** How long to wait for the first connection; default 5 000 ms. */
  connectTimeoutMs?: number;
}

class SingleTopology implements Topology {
  readonly mode = "single";
  readonly replicated = false;
  private readonly id: string;

  constructor(
    private readonly client: Redis,
    private readonly ownsClient: boolean,
  ) {
    this.id = nodeId(client.options.host ?? "127.0.0.1", client.options.port ?? 6379);
  }

  readRoutes(_keys: readonly string[], indices: readonly number[]): RoutePlan {
    return this.allOnOneNode(indices);
  }

  writeRoutes(_keys: readonly string[], indices: readonly number[]): RoutePlan {
    return this.allOnOneNode(indices);
  }

  private allOnOneNode(indices: readonly number[]): RoutePlan {
    return planRoutes(
      indices,
      () => this.id,
      () => this.client.pipeline(),
      () => this.client,
    );
  }

  reportFailure(): boolean {
    return false; // nowhere else to go
  }

  scanPlan(): ScanPlan {
    return {
      fingerprint: fingerprint([this.id]),
      targets: [{ id: this.id, client: this.client, available: true, owns: () => true, multiKey: true, deletesOnServer: true }],
    };
  }

  canServeWithout(failed: readonly string[]): boolean {
    return failed.length === 0;
  }

  nodes(): L2NodeRef[] {
    const { host, port } = this.client.options;
    return [{ id: this.id, host: host ?? "127.0.0.1", port: port ?? 6379, healthy: this.client.status === "ready" }];
  }

  nodeClients() {
    return [{ id: this.id, client: this.client }];
  }

  nodeFor(): L2NodeRef {
    return this.nodes()[0];
  }

  controlClient(): Redis {
    return this.client;
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** Connects (or adopts `client`) and resolves once Redis answers. */
export async function createSingleL2(options: SingleL2Options): Promise<L2Store> {
  if (!options.client && !options.url) throw new L2ArgumentError("createSingleL2 needs `url` or `client`");
  const client = options.client ?? connectRedis(options.url!, options.redisOptions);
  // Failures reach callers through their commands and `nodes()`; without a listener ioredis would print each one.
  if (!options.client) client.on("error", () => undefined);
  try {
    await waitReady(client, options.connectTimeoutMs ?? 5_000, "Redis");
  } catch (error) {
    if (!options.client) client.disconnect();
    throw L2UnavailableError.from(error, "L2 Redis unreachable");
  }
  return new RoutedStore(new SingleTopology(client, !options.client), options);
}
