/**
 * One Redis server on the ring, with the health the ring routes by.
 *
 * - `readable`: connected, not suspect, and no error in the last `errorCooldownMs` — reads go to
 *   the first readable replica.
 * - `connected`: writes and deletes go to every connected replica, even one cooling down.
 * - `suspect`: the node may hold values older than its replicas because it missed writes or
 *   deletes (it was disconnected, or a mutation on it failed). A suspect node serves no reads
 *   until its keys under the store's prefixes are purged; then it starts cold, which costs
 *   misses but never serves a stale value. The first connection of a process is trusted
 *   (otherwise every deploy would wipe the cache).
 */
import type { Redis, RedisOptions } from "ioredis";
import { connectRedis } from "../../../lib/redis.ts";
import type { KeySpace } from "./pattern.ts";
import { nodeId, waitReady, type Access } from "./routing.ts";
import type { L2NodeRef } from "./types.ts";

export interface RingNodeConfig {
  keyspace: KeySpace;
  errorCooldownMs: number;
  commandTimeoutMs: number;
  purgeOnRejoin: boolean;
  redisOptions?: RedisOptions;
}

const PURGE_BATCH = 1000;

export class RingNode {
  readonly id: string;
  readonly client: Redis;
  private everReady = false;
  private suspect = false;
  private errorUntil = 0;
  private purging: Promise<void> | undefined;
  private purgeAgain = false;
  private closed = false;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly config: RingNodeConfig,
  ) {
    this.id = nodeId(host, port);
    this.client = connectRedis(`redis://${host}:${port}`, {
      // Fail fast while down: the ring has replicas to try instead of waiting.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: config.commandTimeoutMs,
      ...config.redisOptions,
    });
    this.client.on("ready", () => {
      if (this.everReady && this.suspect) this.startPurge();
      this.everReady = true;
    });
    this.client.on("close", () => {
      if (this.everReady && !this.closed) this.markSuspect();
    });
    this.client.on("error", () => this.noteError("read"));
  }

  get connected(): boolean {
    return this.client.status === "ready";
  }

  /** Safe to read from: connected, holding nothing stale, no recent errors. */
  get readable(): boolean {
    return this.connected && !this.suspect && Date.now() >= this.errorUntil;
  }

  /** Last resort for reads when every replica had a recent error: connected and not stale. */
  get trusted(): boolean {
    return this.connected && !this.suspect;
  }

  ref(): L2NodeRef {
    return { id: this.id, host: this.host, port: this.port, healthy: this.readable };
  }

  ready(timeoutMs: number): Promise<void> {
    return waitReady(this.client, timeoutMs, `ring node ${this.id}`);
  }

  /** A failed read cools the node down; a failed write or delete may have left it stale. */
  noteError(access: Access): void {
    this.errorUntil = Date.now() + this.config.errorCooldownMs;
    if (access === "write") this.markSuspect();
  }

  private markSuspect(): void {
    if (!this.config.purgeOnRejoin) return;
    this.suspect = true;
    if (this.connected) this.startPurge();
  }

  /** Empties this node of the store's keys; resolves once it may serve reads again. */
  purge(): Promise<void> {
    this.suspect = true;
    this.startPurge();
    return this.purging ?? Promise.resolve();
  }

  private startPurge(): void {
    if (this.closed) return;
    if (this.purging) {
      this.purgeAgain = true; // a mutation failed during the purge: go over it once more
      return;
    }
    this.purging = this.purgeLoop()
      .then(
        () => {
          this.suspect = false;
        },
        () => {
          // Still suspect; try again once the node has had time to recover.
          if (!this.closed) setTimeout(() => this.connected && this.startPurge(), this.config.errorCooldownMs).unref();
        },
      )
      .finally(() => {
        this.purging = undefined;
      });
  }

  private async purgeLoop(): Promise<void> {
    do {
      this.purgeAgain = false;
      for (const match of this.config.keyspace.ownedPatterns()) {
        let cursor = "0";
        do {
          const [next, keys] = await this.client.scan(cursor, "MATCH", match, "COUNT", PURGE_BATCH);
          cursor = next;
          if (keys.length > 0) await this.client.unlink(...keys);
        } while (cursor !== "0");
      }
    } while (this.purgeAgain);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client.quit().catch(() => this.client.disconnect());
    await this.purging; // fails fast now that the connection is gone; never rejects
  }
}
