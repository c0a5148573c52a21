/**
 * The tag index: `tagKey(tag)` is a Redis set of logical keys, written next to the values.
 *
 * Each write adds its key to the sets of its tags and pushes the set's expiry to at least the
 * key's TTL plus a grace (`PEXPIRE NX` then `PEXPIRE GT`), so a set lives as long as its
 * longest-lived member could, and no longer. A set that outgrows `maxMembers` is pruned in the
 * background of members whose keys are gone. A key re-written without a tag stays in that tag's
 * set until the set expires: `deleteByTag` may then delete it too, which costs a miss, never a
 * stale read.
 */
import type { Batches } from "./batch.ts";
import type { KeySpace } from "./pattern.ts";
import { chunk, type Topology } from "./routing.ts";
import type { L2Entry } from "./types.ts";

const TAG_POP_BATCH = 500;
/** deleteByTag stops after this many SPOP rounds even if writers keep adding to the tag. */
const MAX_TAG_ROUNDS = 10_000;

export interface TagIndexOptions {
  graceMs: number;
  maxMembers: number;
  /** Deletes logical keys (all replicas), resolving to how many existed. */
  deleteKeys: (keys: string[]) => Promise<number>;
  /** Keeps a background task (pruning) for `close()` to wait on. */
  track: (task: Promise<unknown>) => void;
}

export class TagIndex {
  private readonly graceMs: number;
  private readonly maxMembers: number;
  private readonly deleteKeys: TagIndexOptions["deleteKeys"];
  private readonly track: TagIndexOptions["track"];
  /** Per tag: the set's size after its last prune; the next prune waits for 1.5× that. */
  private readonly pruneFloor = new Map<string, number>();

  constructor(
    private readonly batches: Batches,
    private readonly topology: Topology,
    private readonly keyspace: KeySpace,
    options: TagIndexOptions,
  ) {
    this.graceMs = options.graceMs;
    this.maxMembers = options.maxMembers;
    this.deleteKeys = options.deleteKeys;
    this.track = options.track;
  }

  /** How many keys are indexed under `tag` (an upper bound: members may have expired since). */
  async countByTag(tag: string): Promise<number> {
    const [replies] = await this.batches.read([this.keyspace.tagKey(tag)], (p, k) => p.scard(k));
    return Number(replies?.[0] ?? 0);
  }

  /**
   * Deletes every key indexed under `tag`, in SPOP batches; resolves to how many existed.
   * `onKeys` hears each batch of keys once it is deleted (for the L1 announcements).
   */
  async deleteByTag(tag: string, onKeys?: (keys: string[]) => void): Promise<number> {
    const tagKey = this.keyspace.tagKey(tag);
    let deleted = 0;
    for (let round = 0; round < MAX_TAG_ROUNDS; round++) {
      // SPOP takes members atomically, so a key tagged meanwhile stays for the next call.
      const [copies] = await this.batches.write([tagKey], (p, k) => p.spop(k, TAG_POP_BATCH));
      const members = new Set<string>();
      let more = false;
      for (const [popped] of copies) {
        const batch = (popped as string[] | null) ?? [];
        batch.forEach((m) => members.add(m));
        if (batch.length === TAG_POP_BATCH) more = true;
      }
      if (members.size > 0) {
        const keys = [...members];
        deleted += await this.deletePopped(tagKey, keys);
        onKeys?.(keys);
      }
      if (!more) break;
    }
    return deleted;
  }

  /** Deletes popped members; on failure puts them back so the tag still finds them. */
  private async deletePopped(tagKey: string, members: string[]): Promise<number> {
    try {
      return await this.deleteKeys(members);
    } catch (error) {
      await this.batches.write([tagKey], (p, k) => p.sadd(k, ...members)).catch(() => undefined);
      throw error;
    }
  }

  /** Adds each entry's key to the sets of its tags, stretching their expiry to cover it. */
  async index(entries: readonly L2Entry[], ttls: readonly number[]): Promise<void> {
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
    const sizes = await this.batches.write(
      tags.map((t) => this.keyspace.tagKey(t)),
      (p, k, i) => {
        const { members, ttl } = byTag.get(tags[i])!;
        for (const part of chunk([...members], 1000)) p.sadd(k, ...part);
        p.pexpire(k, ttl + this.graceMs, "NX");
        p.pexpire(k, ttl + this.graceMs, "GT");
        p.scard(k);
      },
    );
    sizes.forEach((copies, i) => this.maybePrune(tags[i], Math.max(...copies.map((replies) => Number(replies.at(-1))))));
  }

  /**
   * Prunes a tag set that outgrew `maxMembers` and half again its size after the last prune,
   * so a tag with many live keys is not rescanned on every write (amortized O(1) per member).
   */
  private maybePrune(tag: string, size: number): void {
    const floor = this.pruneFloor.get(tag) ?? 0;
    if (size <= this.maxMembers || size <= floor * 1.5) return;
    if (this.pruneFloor.size >= 1000) this.pruneFloor.clear();
    this.pruneFloor.set(tag, size); // holds off further triggers while this prune runs
    this.track(
      this.prune(tag).then(
        (removed) => this.pruneFloor.set(tag, size - removed),
        () => this.pruneFloor.delete(tag),
      ),
    );
  }

  /**
   * Removes members whose keys no longer exist from every copy of the tag's set; resolves to
   * how many were removed. Runs on its own when a set outgrows `maxMembers`.
   */
  async prune(tag: string): Promise<number> {
    const tagKey = this.keyspace.tagKey(tag);
    let removed = 0;
    for (const route of this.topology.writeRoutes([tagKey], [0]).routes) {
      let cursor = "0";
      do {
        const [[page]] = await this.batches.runRoute(route, [tagKey], (p, k) => p.sscan(k, cursor, "COUNT", 1000));
        const [next, members] = page as [string, string[]];
        cursor = next;
        if (members.length === 0) continue;
        const alive = await this.batches.read(members.map((m) => this.keyspace.valueKey(m)), (p, k) => p.exists(k));
        const dead = members.filter((_, i) => alive[i][0] === 0);
        if (dead.length === 0) continue;
        const [[count]] = await this.batches.runRoute(route, [tagKey], (p, k) => p.srem(k, ...dead));
        removed += count as number;
      } while (cursor !== "0");
    }
    return removed;
  }
}
