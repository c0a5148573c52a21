/**
 * Invalidation: deletes by key, glob pattern or tag, and the flush. Each removes the keys from
 * L3 (when configured; `l3.ts` orders the two), L2 and every instance's L1 (this one directly, the
 * others through a durable announcement) before it is acknowledged. Also the dry runs that count
 * what a delete would do (in L2: L3 holds a subset of what L2 held).
 */
import { matchesEverything } from "../../../lib/glob";
import type { L3Invalidation } from "../l3/types";
import type { CacheContext } from "./context";

export class Invalidation {
  constructor(private readonly c: CacheContext) {}

  /** Runs the L2 step of an invalidation after (or, L3 failing, recorded for) its L3 step. */
  private withL3<T>(what: L3Invalidation, l2Step: () => Promise<T>): Promise<T> {
    return this.c.l3 ? this.c.l3.invalidate(what, l2Step) : l2Step();
  }

  /** Deletes keys from every tier of every instance; resolves to how many L2 held. */
  async delete(keys: readonly string[]): Promise<number> {
    this.c.plan("write");
    this.c.local.drop(keys);
    const deleted = await this.withL3({ kind: "keys", keys }, () => this.c.remote.delete(keys));
    for (const key of keys) this.c.events.emit("delete", { key });
    return deleted;
  }

  /**
   * Deletes every key matching the glob from L2 and clears every instance's L1 (a flush
   * announcement: cheaper than announcing each key, and correct for keys only L1 holds).
   */
  async deleteMatching(pattern: string): Promise<{ deleted: number; scanned: number }> {
    this.c.plan("write");
    const everything = matchesEverything(pattern);
    const result = await this.withL3(everything ? { kind: "all" } : { kind: "pattern", pattern }, () => this.c.remote.deleteMatching(pattern));
    if (everything) {
      this.c.local.applyGap(); // the bus does not deliver our own announcements back to us
      await this.c.remote.announce([], "flush");
    } else {
      // Every instance drops its own matching L1 entries; other entries stay warm.
      await this.c.local.applyPatternInvalidation([pattern]);
      await this.c.remote.announce([pattern], "pattern");
    }
    return result;
  }

  /** Deletes every key indexed under any of `tags`, from L2 and from every instance's L1. */
  async deleteByTags(tags: readonly string[]): Promise<number> {
    this.c.plan("write");
    let deleted = 0;
    const keys: string[] = [];
    try {
      await this.withL3({ kind: "tags", tags }, async () => {
        deleted = 0;
        for (const tag of tags) deleted += await this.c.remote.deleteByTag(tag, (batch) => keys.push(...batch));
      });
    } finally {
      // The keys are known as they are deleted: every instance drops exactly those from L1 (even
      // when a later tag failed), and the rest of L1 stays warm.
      this.c.local.drop(keys);
      await this.c.remote.announce(keys, "delete");
    }
    return deleted;
  }

  /** How many of `keys` L2 holds (a dry run of `delete`). */
  countExisting(keys: readonly string[]): Promise<number> {
    return this.c.remote.exists(keys);
  }

  /** Keys indexed under any of `tags` (a dry run of `deleteByTags`; an upper bound). */
  async countByTags(tags: readonly string[]): Promise<number> {
    let total = 0;
    for (const tag of tags) total += await this.c.remote.countByTag(tag);
    return total;
  }

  /** Counts L2 keys matching the glob (up to `limit`), with a sample. */
  countMatching(pattern: string, limit?: number) {
    return this.c.remote.countMatching(pattern, limit);
  }
}
