/**
 * The tag index: `tagKey(tag)` is a Redis sorted set of logical keys, written next to the values.
 * Each member's score is the time (the tag node's own clock, Redis `TIME`) until which its key
 * may live: the write's TTL plus a grace. A re-write moves the score forward, never back
 * (`ZADD GT`). The set's own expiry is stretched the same way (`PEXPIRE NX` then `PEXPIRE GT`).
 *
 * Why scores and not "does the key still exist?": the set and its members' values live on
 * different nodes (Cluster slots, ring nodes), so checking a value and removing its member
 * cannot be one atomic step there, and a write landing between the two was lost from the set
 * (a later tag invalidation then missed it). With the expiry in the set, pruning is one command
 * on the set's node (`ZREMRANGEBYSCORE` up to now, in a script reading `TIME`): a member is
 * removed only if no write re-indexed it within the grace, in every L2 mode. A key re-written
 * without a tag, or deleted, stays in that tag's set until its score passes: `deleteByTag` may
 * then delete it too, which costs a miss, never a stale read.
 *
 * An older build wrote tag sets as plain sets (SADD); every script here reads or converts one
 * in place (`UPGRADE_LEGACY`), so such a set keeps working until it expires.
 */
import type { Batches } from "./batch.ts";
import type { KeySpace } from "./pattern.ts";
import type { L2Entry } from "./types.ts";

const TAG_POP_BATCH = 500;
/** deleteByTag stops after this many ZPOPMIN rounds even if writers keep adding to the tag. */
const MAX_TAG_ROUNDS = 10_000;
/** Members per ZADD inside the index script (Lua's unpack has a stack limit). */
const ZADD_CHUNK = 1000;

/** Milliseconds on the node's clock, in a script. */
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Lua: `upgradeLegacy(key, now)` turns a tag set an older build wrote as a plain set (SADD) into
 * the sorted set this one reads, in place: same members, each scored with the set's own expiry
 * (that build stretched it over every member's TTL plus the grace, so no member is pruned before
 * its key may expire), the expiry kept. A set without expiry scores its members `+inf`: only a
 * tag delete removes them. Every script that writes a tag set runs it first, so a set left by an
 * older build never answers WRONGTYPE.
 */
const UPGRADE_LEGACY = `local function upgradeLegacy(key, now)
  if redis.call('TYPE', key).ok ~= 'set' then return end
  local members = redis.call('SMEMBERS', key)
  local pttl = redis.call('PTTL', key)
  redis.call('DEL', key)
  local score = pttl > 0 and (now + pttl) or '+inf'
  for first = 1, #members, ${ZADD_CHUNK} do
    local args = {}
    for i = first, math.min(first + ${ZADD_CHUNK - 1}, #members) do
      args[#args + 1] = score
      args[#args + 1] = members[i]
    end
    redis.call('ZADD', key, unpack(args))
  end
  if pttl > 0 then redis.call('PEXPIRE', key, pttl) end
end`;

/**
 * KEYS[1] the tag set; ARGV[1] the lifetime (TTL + grace, ms), then the members. Scores each
 * member `now + lifetime` unless it already has a later one, stretches the set's expiry, and
 * returns the set's size.
 */
const INDEX_SCRIPT = `${NOW_MS}
${UPGRADE_LEGACY}
upgradeLegacy(KEYS[1], now)
local life = tonumber(ARGV[1])
local score = now + life
local args = {}
for i = 2, #ARGV do
  args[#args + 1] = score
  args[#args + 1] = ARGV[i]
  if #args >= ${2 * ZADD_CHUNK} then redis.call('ZADD', KEYS[1], 'GT', unpack(args)); args = {} end
end
if #args > 0 then redis.call('ZADD', KEYS[1], 'GT', unpack(args)) end
redis.call('PEXPIRE', KEYS[1], life, 'NX')
redis.call('PEXPIRE', KEYS[1], life, 'GT')
return redis.call('ZCARD', KEYS[1])`;

/** KEYS[1] the tag set: removes the members whose score (the latest their key may live) passed. */
const PRUNE_SCRIPT = `${NOW_MS}
${UPGRADE_LEGACY}
upgradeLegacy(KEYS[1], now)
return redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)`;

/** KEYS[1] the tag set; ARGV[1] how many: ZPOPMIN, after upgrading a legacy plain set. */
const POP_SCRIPT = `${NOW_MS}
${UPGRADE_LEGACY}
upgradeLegacy(KEYS[1], now)
return redis.call('ZPOPMIN', KEYS[1], ARGV[1])`;

/** KEYS[1] the tag set: its size, a legacy plain set included (a read: nothing is upgraded). */
const COUNT_SCRIPT = `if redis.call('TYPE', KEYS[1]).ok == 'set' then return redis.call('SCARD', KEYS[1]) end
return redis.call('ZCARD', KEYS[1])`;

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
    const [replies] = await this.batches.read([this.keyspace.tagKey(tag)], (p, k) => p.eval(COUNT_SCRIPT, 1, k));
    return Number(replies?.[0] ?? 0);
  }

  /**
   * Deletes every key indexed under `tag`, in ZPOPMIN batches; resolves to how many existed.
   * `onKeys` hears each batch of keys once it is deleted (for the L1 announcements).
   */
  async deleteByTag(tag: string, onKeys?: (keys: string[]) => void): Promise<number> {
    const tagKey = this.keyspace.tagKey(tag);
    let deleted = 0;
    for (let round = 0; round < MAX_TAG_ROUNDS; round++) {
      // ZPOPMIN takes members atomically, so a key tagged meanwhile stays for the next call.
      const [copies] = await this.batches.write([tagKey], (p, k) => p.eval(POP_SCRIPT, 1, k, TAG_POP_BATCH));
      const members = new Map<string, string>();
      let more = false;
      for (const [popped] of copies) {
        const flat = (popped as string[] | null) ?? [];
        for (let i = 0; i < flat.length; i += 2) members.set(flat[i], flat[i + 1]);
        if (flat.length === 2 * TAG_POP_BATCH) more = true;
      }
      if (members.size > 0) {
        const keys = [...members.keys()];
        deleted += await this.deletePopped(tagKey, members);
        onKeys?.(keys);
      }
      if (!more) break;
    }
    return deleted;
  }

  /** Deletes popped members; on failure puts them back (with their scores) so the tag still finds them. */
  private async deletePopped(tagKey: string, members: Map<string, string>): Promise<number> {
    try {
      return await this.deleteKeys([...members.keys()]);
    } catch (error) {
      const pairs = [...members].flatMap(([member, score]) => [score, member]);
      await this.batches.write([tagKey], (p, k) => p.zadd(k, "GT", ...pairs)).catch(() => undefined);
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
        p.eval(INDEX_SCRIPT, 1, k, ttl + this.graceMs, ...members);
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
   * Removes, from every copy of the tag's set, the members no write re-indexed within their
   * key's TTL plus the grace: one atomic command per copy, so a concurrent write of a member is
   * never lost (see the module comment). Resolves to how many were removed. Runs on its own when
   * a set outgrows `maxMembers`.
   */
  async prune(tag: string): Promise<number> {
    const [copies] = await this.batches.write([this.keyspace.tagKey(tag)], (p, k) => p.eval(PRUNE_SCRIPT, 1, k));
    return copies.reduce((sum, [removed]) => sum + Number(removed), 0);
  }
}
