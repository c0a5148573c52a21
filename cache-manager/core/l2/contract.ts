/**
 * The one behaviour suite every L2 mode must pass against real Redis (in the spirit of
 * bentocache's `registerCacheDriverTestSuite`). Each test gets a fresh store on a random prefix
 * and leaves nothing behind.
 *
 * @example
 * registerL2ContractSuite("single", (options) => createSingleL2({ url: process.env.REDIS_URL!, ...options }));
 */
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { L2ArgumentError, L2CursorError } from "./errors.ts";
import { fenceOf, markerOf, type FenceRead } from "./fence.ts";
import type { L2CommonOptions, L2Store, L2StoreFactory } from "./types.ts";

export const randomPrefix = (label = "t") => `${label}${randomBytes(5).toString("hex")}:v:`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MINUTE = 60_000;

/** Creates stores for one test and removes their keys (and any raw keys it wrote) afterwards. */
function storeFixture(factory: L2StoreFactory) {
  const opened: L2Store[] = [];
  const rawKeys: Array<{ store: L2Store; key: string }> = [];
  let main: L2Store | undefined;
  let prefix = "";

  beforeEach(async () => {
    prefix = randomPrefix();
    main = await open({});
  });

  afterEach(async () => {
    for (const { store, key } of rawKeys.splice(0)) await store.controlClient(key).del(key);
    for (const store of opened.splice(0)) {
      await store.deleteMatching("*");
      await store.close();
    }
  });

  async function open(options: Partial<L2CommonOptions>): Promise<L2Store> {
    const store = await factory({ prefix, ...options });
    opened.push(store);
    return store;
  }

  return {
    get store(): L2Store {
      return main!;
    },
    get prefix() {
      return prefix;
    },
    open,
    /** Writes a key outside any store's prefix; removed after the test. */
    async writeRaw(key: string, value = "raw") {
      await main!.controlClient(key).set(key, value, "PX", MINUTE);
      rawKeys.push({ store: main!, key });
    },
    async rawExists(key: string) {
      return (await main!.controlClient(key).exists(key)) === 1;
    },
  };
}

async function scanAll(store: L2Store, match?: string, count = 50): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await store.scan({ match, cursor, count });
    keys.push(...page.keys);
    if (page.done) {
      expect(page.cursor).toBe("0");
      return keys;
    }
    cursor = page.cursor;
  }
  throw new Error("scan never finished");
}

const keysNamed = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

export function registerL2ContractSuite(name: string, factory: L2StoreFactory): void {
  describe(`L2 contract: ${name}`, () => {
    const fx = storeFixture(factory);

    describe("values", () => {
      test("get returns null for a key that was never set", async () => {
        expect(await fx.store.get("missing")).toBeNull();
      });

      test("set then get returns the same bytes as a Buffer", async () => {
        await fx.store.set("a", Buffer.from("hello"), MINUTE);
        const value = await fx.store.get("a");
        expect(Buffer.isBuffer(value)).toBe(true);
        expect(value!.toString()).toBe("hello");
      });

      test("string values come back as their UTF-8 bytes", async () => {
        await fx.store.set("s", "żółw 🐢", MINUTE);
        expect((await fx.store.get("s"))!.toString("utf8")).toBe("żółw 🐢");
      });

      test("values are binary safe: every byte value, NUL and invalid UTF-8 survive", async () => {
        const bytes = Buffer.from([...Array.from({ length: 256 }, (_, i) => i), 0, 0xff, 0xfe, 0xc3, 0x28]);
        await fx.store.mset([
          { key: "bin", value: bytes, ttlMs: MINUTE },
          { key: "empty", value: Buffer.alloc(0), ttlMs: MINUTE },
        ]);
        const [bin, empty] = await fx.store.mget(["bin", "empty"]);
        expect(bin!.equals(bytes)).toBe(true);
        expect(empty).not.toBeNull();
        expect(empty!.length).toBe(0);
      });

      test("keys may hold any characters, including glob and hash-tag characters", async () => {
        const keys = ["a*b", "q?", "[x]", "{tag}:1", "back\\slash", "ключ"];
        await fx.store.mset(keys.map((key) => ({ key, value: key, ttlMs: MINUTE })));
        expect((await fx.store.mget(keys)).map((v) => v?.toString())).toEqual(keys);
      });

      test("set overwrites the previous value and its TTL", async () => {
        await fx.store.set("k", "one", MINUTE);
        await fx.store.set("k", "two", 5_000);
        expect((await fx.store.get("k"))!.toString()).toBe("two");
        expect(await fx.store.pttl("k")).toBeLessThanOrEqual(5_000);
      });

      test("mget returns values in input order, null for misses, and repeats keys", async () => {
        await fx.store.mset([
          { key: "x", value: "1", ttlMs: MINUTE },
          { key: "y", value: "2", ttlMs: MINUTE },
        ]);
        const values = await fx.store.mget(["y", "nope", "x", "y"]);
        expect(values.map((v) => v?.toString() ?? null)).toEqual(["2", null, "1", "2"]);
        expect(await fx.store.mget([])).toEqual([]);
      });

      test("mset gives every entry its own TTL and pttl reports it", async () => {
        await fx.store.mset([
          { key: "short", value: "s", ttlMs: 2_000 },
          { key: "long", value: "l", ttlMs: MINUTE },
        ]);
        const short = await fx.store.pttl("short");
        const long = await fx.store.pttl("long");
        expect(short).toBeGreaterThan(1_000);
        expect(short).toBeLessThanOrEqual(2_000);
        expect(long).toBeGreaterThan(50_000);
        expect(await fx.store.pttl("absent")).toBeNull();
      });

      test("exists counts the keys that exist", async () => {
        await fx.store.mset(["e1", "e2"].map((key) => ({ key, value: "v", ttlMs: MINUTE })));
        expect(await fx.store.exists(["e1", "e2", "e3"])).toBe(2);
        expect(await fx.store.exists([])).toBe(0);
      });

      test("delete unlinks the keys and counts only those that existed", async () => {
        await fx.store.mset(["d1", "d2"].map((key) => ({ key, value: "v", ttlMs: MINUTE })));
        expect(await fx.store.delete(["d1", "d2", "d3"])).toBe(2);
        expect(await fx.store.mget(["d1", "d2"])).toEqual([null, null]);
        expect(await fx.store.delete(["d1"])).toBe(0);
      });

      test("a key is gone once its TTL has passed", async () => {
        await fx.store.set("ephemeral", "v", 50);
        expect(await fx.store.get("ephemeral")).not.toBeNull();
        await sleep(120);
        expect(await fx.store.get("ephemeral")).toBeNull();
        expect(await fx.store.exists(["ephemeral"])).toBe(0);
      });

      test.each([
        ["an empty key", () => fx.store.set("", "v", 1000)],
        ["a zero TTL", () => fx.store.set("k", "v", 0)],
        ["a negative TTL", () => fx.store.set("k", "v", -5)],
        ["a NaN TTL", () => fx.store.set("k", "v", Number.NaN)],
        ["an infinite TTL", () => fx.store.set("k", "v", Number.POSITIVE_INFINITY)],
        ["an empty tag", () => fx.store.set("k", "v", 1000, { tags: [""] })],
        ["an empty key in mget", () => fx.store.mget(["ok", ""])],
      ])("rejects %s with L2ArgumentError", async (_label, call) => {
        await expect(call()).rejects.toBeInstanceOf(L2ArgumentError);
      });
    });

    describe("fill fencing", () => {
      const granted = (read: FenceRead) => {
        expect(read.kind).toBe("granted");
        return read.kind === "granted" ? read.fence : "";
      };
      const fillOne = (key: string, fence: string, value = "loaded") => fx.store.fill([{ key, value, ttlMs: MINUTE, fence }]).then(([stored]) => stored);

      test("a free key is granted to the first reader, held for the next, and filled by the holder", async () => {
        const fence = granted(await fx.store.fenceRead("k", markerOf("a"), MINUTE));
        const second = await fx.store.fenceRead("k", markerOf("b"), MINUTE);
        expect(second.kind).toBe("held");
        expect(second.kind === "held" && second.ttlMs).toBeGreaterThan(MINUTE - 5_000);
        expect(await fillOne("k", fence)).toBe(true);
        expect((await fx.store.get("k"))!.toString()).toBe("loaded");
        const third = await fx.store.fenceRead("k", markerOf("c"), MINUTE);
        expect(third.kind === "value" && third.value.toString()).toBe("loaded");
      });

      test.each([
        ["a delete", (store: L2Store) => store.delete(["k"])],
        ["a set", (store: L2Store) => store.set("k", "written", MINUTE)],
        ["a batch set", (store: L2Store) => store.mset([{ key: "k", value: "written", ttlMs: MINUTE }])],
        ["a pattern delete", (store: L2Store) => store.deleteMatching("k*")],
        ["a tag delete", (store: L2Store) => store.deleteByTag("red")],
      ])("%s after the lease was granted refuses the fill", async (_, change) => {
        await fx.store.set("k", "tagged", MINUTE, { tags: ["red"] });
        await fx.store.delete(["k"]); // the tag set still names the key, as after an expiry
        const fence = granted(await fx.store.fenceRead("k", markerOf("a"), MINUTE));
        await change(fx.store);
        expect(await fillOne("k", fence)).toBe(false);
        expect((await fx.store.get("k"))?.toString() ?? null).not.toBe("loaded");
      });

      test("a later reader's lease outlives a revoked one: only the later fill stores", async () => {
        const first = granted(await fx.store.fenceRead("k", markerOf("a"), MINUTE));
        await fx.store.delete(["k"]);
        const second = granted(await fx.store.fenceRead("k", markerOf("b"), MINUTE));
        expect(await fillOne("k", first, "old")).toBe(false);
        expect(await fillOne("k", second, "new")).toBe(true);
        expect((await fx.store.get("k"))!.toString()).toBe("new");
      });

      test("a value fence stores while the key holds the same bytes, and refuses once they changed or went", async () => {
        await fx.store.set("k", "stale", MINUTE);
        const read = await fx.store.fenceRead("k", markerOf("a"), MINUTE);
        expect(read.kind === "value" && read.value.toString()).toBe("stale");
        const fence = fenceOf(Buffer.from("stale"));
        expect(await fillOne("k", fence, "refreshed")).toBe(true);
        expect(await fillOne("k", fence, "again")).toBe(false); // the key now holds "refreshed"
        await fx.store.delete(["k"]);
        expect(await fillOne("k", fenceOf(Buffer.from("refreshed")))).toBe(false);
        expect(await fx.store.get("k")).toBeNull();
      });

      test("a soft (warming) marker is replaced by a reader, whose fill wins; a second soft request is told it is held", async () => {
        const soft = granted(await fx.store.fenceRead("k", markerOf("w1", true), MINUTE));
        expect((await fx.store.fenceRead("k", markerOf("w2", true), MINUTE)).kind).toBe("held");
        const reader = granted(await fx.store.fenceRead("k", markerOf("r"), MINUTE));
        expect(await fillOne("k", soft, "warmed")).toBe(false);
        expect(await fillOne("k", reader, "read")).toBe(true);
      });

      test("markers are renewed and released only by their holder; a marker never reads as a value", async () => {
        granted(await fx.store.fenceRead("k", markerOf("a"), 1_000));
        expect(await fx.store.renewFence("k", markerOf("b"), MINUTE)).toBe(false);
        expect(await fx.store.renewFence("k", markerOf("a"), MINUTE)).toBe(true);
        expect(await fx.store.pttl("k")).toBeGreaterThan(MINUTE - 5_000);
        await fx.store.releaseFence("k", markerOf("b"));
        expect((await fx.store.fenceRead("k", markerOf("c"), MINUTE)).kind).toBe("held");
        await fx.store.releaseFence("k", markerOf("a"));
        granted(await fx.store.fenceRead("k", markerOf("c"), MINUTE));
      });

      test("many fenced reads and fills in one batch keep their order", async () => {
        await fx.store.set("k1", "v1", MINUTE);
        granted(await fx.store.fenceRead("k3", markerOf("other"), MINUTE));
        const reads = await fx.store.fenceReadMany(
          ["k0", "k1", "k2", "k3"],
          ["a", "b", "c", "d"].map((t) => markerOf(t)),
          MINUTE,
        );
        expect(reads.map((r) => r.kind)).toEqual(["granted", "value", "granted", "held"]);
        const fences = [granted(reads[0]), fenceOf(Buffer.from("v1")), granted(reads[2])];
        await fx.store.delete(["k2"]);
        const stored = await fx.store.fill(["k0", "k1", "k2"].map((key, i) => ({ key, value: `n${i}`, ttlMs: MINUTE, fence: fences[i], tags: ["t"] })));
        expect(stored).toEqual([true, true, false]);
        expect((await fx.store.mget(["k0", "k1", "k2"])).map((v) => v?.toString() ?? null)).toEqual(["n0", "n1", null]);
        expect(await fx.store.deleteByTag("t")).toBe(2);
      });
      test("fenced reads and fills still run, once each, after the server forgot its scripts (restart, failover, SCRIPT FLUSH)", async () => {
        const forgetScripts = async () => {
          const client = fx.store.controlClient(fx.store.keyspace.valueKey("k0"));
          const nodes = "nodes" in client && typeof client.nodes === "function" ? client.nodes("master") : [client];
          await Promise.all(nodes.map((node) => node.script("FLUSH")));
        };
        await fx.store.set("k1", Buffer.from([0, 255, 1]), MINUTE);
        await forgetScripts();
        const reads = await fx.store.fenceReadMany(["k0", "k1"], [markerOf("a"), markerOf("b")], MINUTE);
        expect(reads[0].kind).toBe("granted"); // run twice, it would find its own marker: "held"
        expect(reads[1].kind === "value" && [...reads[1].value]).toEqual([0, 255, 1]);
        await forgetScripts();
        const fences = [granted(reads[0]), fenceOf(Buffer.from([0, 255, 1]))];
        const stored = await fx.store.fill(["k0", "k1"].map((key, i) => ({ key, value: `n${i}`, ttlMs: MINUTE, fence: fences[i] })));
        expect(stored).toEqual([true, true]); // run twice, the fences would no longer hold: false
        expect((await fx.store.mget(["k0", "k1"])).map((v) => v?.toString())).toEqual(["n0", "n1"]);
      });
    });

    describe("lease markers are not values", () => {
      test("exists, scan and countMatching skip keys that hold only a reader's or a warming marker", async () => {
        await fx.store.mset([
          { key: "m:value", value: "v", ttlMs: MINUTE },
          { key: "m:empty", value: Buffer.alloc(0), ttlMs: MINUTE },
          { key: "m:tilde", value: "~not a marker", ttlMs: MINUTE },
        ]);
        expect((await fx.store.fenceRead("m:lease", markerOf("a"), MINUTE)).kind).toBe("granted");
        expect((await fx.store.fenceRead("m:soft", markerOf("w", true), MINUTE)).kind).toBe("granted");
        const values = ["m:empty", "m:tilde", "m:value"];
        expect(await fx.store.exists(["m:value", "m:empty", "m:tilde", "m:lease", "m:soft", "m:missing"])).toBe(3);
        expect((await scanAll(fx.store, "m:*")).sort()).toEqual(values);
        const counted = await fx.store.countMatching("m:*");
        expect(counted).toMatchObject({ count: 3, exact: true });
        expect(counted.sample.sort()).toEqual(values);
      });

      test("delete and deleteMatching remove marker keys but count only the keys that held a value, as a dry run counts", async () => {
        await fx.store.mset([
          { key: "d:value", value: "v", ttlMs: MINUTE },
          { key: "d:other", value: "w", ttlMs: MINUTE },
        ]);
        expect((await fx.store.fenceRead("d:lease", markerOf("a"), MINUTE)).kind).toBe("granted");
        expect((await fx.store.fenceRead("d:soft", markerOf("w", true), MINUTE)).kind).toBe("granted");
        expect(await fx.store.delete(["d:value", "d:lease", "d:missing"])).toBe(1);
        expect((await fx.store.fenceRead("d:lease", markerOf("b"), MINUTE)).kind).toBe("granted"); // the marker was removed
        expect(await fx.store.countMatching("d:*")).toMatchObject({ count: 1 });
        expect(await fx.store.deleteMatching("d:*")).toMatchObject({ deleted: 1 });
        expect(await scanAll(fx.store, "d:*")).toEqual([]);
        expect((await fx.store.fenceRead("d:lease", markerOf("c"), MINUTE)).kind).toBe("granted"); // b's marker was removed too
      });

      test("a key counts again once its holder's fill stores a value", async () => {
        const read = await fx.store.fenceRead("m:k", markerOf("a"), MINUTE);
        expect(await fx.store.exists(["m:k"])).toBe(0);
        if (read.kind !== "granted") throw new Error(`expected a grant, got ${read.kind}`);
        expect(await fx.store.fill([{ key: "m:k", value: "loaded", ttlMs: MINUTE, fence: read.fence }])).toEqual([true]);
        expect(await fx.store.exists(["m:k"])).toBe(1);
        expect(await fx.store.countMatching("m:*")).toMatchObject({ count: 1, sample: ["m:k"] });
      });
    });

    describe("tags", () => {
      test("deleteByTag deletes every key with the tag and nothing else", async () => {
        await fx.store.mset([
          { key: "u1", value: "1", ttlMs: MINUTE, tags: ["users"] },
          { key: "u2", value: "2", ttlMs: MINUTE, tags: ["users"] },
          { key: "p1", value: "3", ttlMs: MINUTE, tags: ["posts"] },
          { key: "plain", value: "4", ttlMs: MINUTE },
        ]);
        expect(await fx.store.deleteByTag("users")).toBe(2);
        expect((await fx.store.mget(["u1", "u2", "p1", "plain"])).map((v) => v !== null)).toEqual([false, false, true, true]);
        expect(await fx.store.deleteByTag("users")).toBe(0);
      });

      test("a key with several tags is deleted by any of them", async () => {
        await fx.store.set("both", "v", MINUTE, { tags: ["a", "b"] });
        expect(await fx.store.deleteByTag("b")).toBe(1);
        expect(await fx.store.get("both")).toBeNull();
        expect(await fx.store.deleteByTag("a")).toBe(0); // the key is gone; the stale member is harmless
      });

      /** Writes the tag set an older build wrote for `members`: a plain set (SADD) expiring after its members. */
      async function writeLegacyTagSet(tag: string, members: string[]) {
        const tagKey = fx.store.keyspace.tagKey(tag);
        const client = fx.store.controlClient(tagKey);
        await client.sadd(tagKey, ...members);
        await client.pexpire(tagKey, MINUTE + 5_000);
      }

      test("countByTag, pruneTag and deleteByTag read a tag set an older build wrote as a plain set", async () => {
        await fx.store.mset(["old:1", "old:2", "other"].map((key) => ({ key, value: "v", ttlMs: MINUTE })));
        await writeLegacyTagSet("legacy", ["old:1", "old:2"]);
        expect(await fx.store.countByTag("legacy")).toBe(2);
        expect(await fx.store.pruneTag("legacy")).toBe(0); // its members keep the set's expiry
        expect(await fx.store.countByTag("legacy")).toBe(2);
        expect(await fx.store.deleteByTag("legacy")).toBe(2);
        expect((await fx.store.mget(["old:1", "old:2", "other"])).map((v) => v?.toString() ?? null)).toEqual([null, null, "v"]);
      });

      test("a write tagged with a tag whose set an older build wrote as a plain set keeps the old members", async () => {
        await fx.store.mset(["old:1", "old:2"].map((key) => ({ key, value: "v", ttlMs: MINUTE })));
        await writeLegacyTagSet("legacy", ["old:1", "old:2"]);
        await fx.store.set("new:1", "v", MINUTE, { tags: ["legacy"] });
        await fx.store.mset([{ key: "new:2", value: "v", ttlMs: MINUTE, tags: ["legacy"] }]);
        expect(await fx.store.countByTag("legacy")).toBe(4);
        expect(await fx.store.deleteByTag("legacy")).toBe(4);
        expect(await fx.store.exists(["old:1", "old:2", "new:1", "new:2"])).toBe(0);
      });

      test("deleteByTag on a tag nobody used deletes nothing", async () => {
        expect(await fx.store.deleteByTag("never-used")).toBe(0);
      });

      test("deleteByTag drains a tag larger than one ZPOPMIN batch", async () => {
        const keys = keysNamed("big:", 1_200);
        await fx.store.mset(keys.map((key) => ({ key, value: "v", ttlMs: MINUTE, tags: ["big"] })));
        expect(await fx.store.deleteByTag("big")).toBe(1_200);
        expect(await fx.store.exists(keys)).toBe(0);
      });

      test("a tag index lives as long as its longest-lived member plus the grace", async () => {
        const store = await fx.open({ tagGraceMs: 1_000 });
        await store.set("t1", "v", 10_000, { tags: ["ttl"] });
        await store.set("t2", "v", 30_000, { tags: ["ttl"] });
        await store.set("t3", "v", 5_000, { tags: ["ttl"] }); // a shorter member must not shorten the set
        const tagKey = store.keyspace.tagKey("ttl");
        const ttl = await store.controlClient(tagKey).pttl(tagKey);
        expect(ttl).toBeGreaterThan(29_000);
        expect(ttl).toBeLessThanOrEqual(31_000);
      });

      test("a tag index past maxTagMembers is pruned of members whose keys expired", async () => {
        const store = await fx.open({ maxTagMembers: 20, tagGraceMs: 20 });
        await store.mset(keysNamed("gone:", 15).map((key) => ({ key, value: "v", ttlMs: 30, tags: ["churn"] })));
        await sleep(80);
        const alive = keysNamed("alive:", 10);
        await store.mset(alive.map((key) => ({ key, value: "v", ttlMs: MINUTE, tags: ["churn"] }))); // 25 members > 20: prune
        const tagKey = store.keyspace.tagKey("churn");
        await vi.waitFor(async () => expect((await store.controlClient(tagKey).zrange(tagKey, "0", "-1")).sort()).toEqual(alive.sort()), { timeout: 3_000 });
        expect(await store.deleteByTag("churn")).toBe(10);
      });

      test("a prune never drops a member re-indexed within its TTL, even before its value lands", async () => {
        // The value and the tag set live on different nodes; a write's SET may land after its
        // ZADD. The old prune (check the value exists, then SREM) removed such a member, and a
        // later tag invalidation missed the key. Here the value is removed behind the store's back
        // to stand for "not landed yet".
        const store = await fx.open({ tagGraceMs: 10 });
        await store.set("late", "v1", 20, { tags: ["race"] });
        await sleep(60); // prunable now
        await store.set("late", "v2", MINUTE, { tags: ["race"] });
        const valueKey = store.keyspace.valueKey("late");
        await store.controlClient(valueKey).del(valueKey);
        expect(await store.pruneTag("race")).toBe(0);
        await store.set("late", "v3", MINUTE);
        expect(await store.deleteByTag("race")).toBe(1);
        expect(await store.get("late")).toBeNull();
      });

      test("a prune keeps members still within their TTL plus the grace", async () => {
        const store = await fx.open({ tagGraceMs: 60_000 });
        await store.set("short", "v", 20, { tags: ["graced"] });
        await sleep(60);
        expect(await store.pruneTag("graced")).toBe(0); // expired, but the grace may cover a late write
        const tagKey = store.keyspace.tagKey("graced");
        expect(await store.controlClient(tagKey).zrange(tagKey, "0", "-1")).toEqual(["short"]);
      });
    });

    describe("scan", () => {
      test("pages cover every key exactly once and end with cursor 0", async () => {
        const keys = keysNamed("s:", 500);
        await fx.store.mset(keys.map((key) => ({ key, value: "v", ttlMs: MINUTE, tags: ["scan"] })));
        const seen = await scanAll(fx.store, undefined, 37);
        expect(seen.length).toBe(500);
        expect(new Set(seen)).toEqual(new Set(keys));
      });

      test("match filters logical keys", async () => {
        await fx.store.mset(["user:1", "user:2", "post:1", "user:3:x"].map((key) => ({ key, value: "v", ttlMs: MINUTE })));
        expect((await scanAll(fx.store, "user:?")).sort()).toEqual(["user:1", "user:2"]);
        expect((await scanAll(fx.store, "user:*")).sort()).toEqual(["user:1", "user:2", "user:3:x"]);
      });

      test("never returns tag sets or keys outside the prefix", async () => {
        await fx.store.set("inside", "v", MINUTE, { tags: ["t"] });
        await fx.writeRaw(`${fx.prefix.slice(0, -3)}:other:inside`);
        expect(await scanAll(fx.store)).toEqual(["inside"]);
      });

      test.each([["garbage"], [Buffer.from("zzz.0.0").toString("base64url")], [Buffer.from("x.y.z").toString("base64url")]])(
        "rejects the cursor %s with L2CursorError",
        async (cursor) => {
          await expect(fx.store.scan({ cursor })).rejects.toBeInstanceOf(L2CursorError);
        },
      );
    });

    describe("deleteMatching", () => {
      test("deletes exactly the matching keys and reports how many", async () => {
        const users = keysNamed("user:", 300);
        await fx.store.mset([...users, "post:1", "userx"].map((key) => ({ key, value: "v", ttlMs: MINUTE })));
        const result = await fx.store.deleteMatching("user:*", { batchSize: 50 });
        expect(result.deleted).toBe(300);
        expect(result.scanned).toBeGreaterThanOrEqual(300);
        expect(await fx.store.exists(users)).toBe(0);
        expect(await fx.store.exists(["post:1", "userx"])).toBe(2);
      });

      test("cannot reach outside the prefix, even when the prefix holds glob characters", async () => {
        const base = fx.prefix.slice(0, -3);
        const store = await fx.open({ prefix: `${base}*[ab]?:` });
        await store.set("k", "v", MINUTE);
        // Each raw key would match `${base}*[ab]?:*` if the prefix were not escaped.
        const siblings = [`${base}Za1:k`, `${base}*[ab]x:k`, `${base}:k`];
        for (const key of siblings) await fx.writeRaw(key);
        await fx.store.set("mine", "v", MINUTE); // the other store's keys are outside too
        expect(await store.deleteMatching("*")).toMatchObject({ deleted: 1 });
        for (const key of siblings) expect(await fx.rawExists(key)).toBe(true);
        expect(await fx.store.get("mine")).not.toBeNull();
      });

      test("reports progress batch by batch", async () => {
        await fx.store.mset(keysNamed("p:", 200).map((key) => ({ key, value: "v", ttlMs: MINUTE })));
        const progress: number[] = [];
        const result = await fx.store.deleteMatching("p:*", { batchSize: 20, onProgress: (p) => progress.push(p.deleted) });
        expect(result.deleted).toBe(200);
        expect(progress.length).toBeGreaterThan(1);
        expect(progress.at(-1)).toBe(200);
      });

      test("deletes pages of thousands of keys", async () => {
        const wide = keysNamed("wide:", 2_500);
        await fx.store.mset(wide.map((key) => ({ key, value: "v", ttlMs: MINUTE })));
        expect(await fx.store.deleteMatching("wide:*", { batchSize: 10_000 })).toMatchObject({ deleted: 2_500 });
        expect(await fx.store.exists(wide)).toBe(0);
      });

      test("stops between pages once the signal aborts, and reports what it removed by then", async () => {
        const keys = keysNamed("a:", 300);
        await fx.store.mset(keys.map((key) => ({ key, value: "v", ttlMs: MINUTE })));
        const controller = new AbortController();
        const onProgress = (p: { deleted: number }) => (p.deleted > 0 ? controller.abort() : undefined);
        const result = await fx.store.deleteMatching("a:*", { batchSize: 20, signal: controller.signal, onProgress });
        expect(result.deleted).toBeGreaterThan(0);
        expect(result.deleted).toBeLessThan(300);
        expect(await fx.store.exists(keys)).toBe(300 - result.deleted);
      });

      test.each([
        ["an empty pattern", ""],
        ["a dangling backslash", "abc\\"],
        ["an unclosed bracket", "[abc"],
        ["an overlong pattern", "x".repeat(2000)],
      ])("rejects %s with L2ArgumentError", async (_label, pattern) => {
        await expect(fx.store.deleteMatching(pattern)).rejects.toBeInstanceOf(L2ArgumentError);
        await expect(fx.store.countMatching(pattern)).rejects.toBeInstanceOf(L2ArgumentError);
      });
    });

    describe("countMatching", () => {
      test("is exact when the scan completes, with a bounded sample", async () => {
        await fx.store.mset([...keysNamed("c:", 250), "other"].map((key) => ({ key, value: "v", ttlMs: MINUTE })));
        const result = await fx.store.countMatching("c:*", { sampleSize: 5 });
        expect(result).toMatchObject({ count: 250, exact: true });
        expect(result.sample).toHaveLength(5);
        for (const key of result.sample) expect(key).toMatch(/^c:\d+$/);
        expect(result.scanned).toBe(result.total);
        expect(result.total).toBeGreaterThanOrEqual(251);
      });

      test("stops at the limit and says the count is not exact", async () => {
        await fx.store.mset(keysNamed("c:", 5_000).map((key) => ({ key, value: "v", ttlMs: MINUTE })));
        const result = await fx.store.countMatching("c:*", { limit: 100 });
        expect(result.exact).toBe(false);
        expect(result.count).toBeGreaterThanOrEqual(100);
        expect(result.count).toBeLessThan(5_000);
        expect(result.scanned).toBeLessThan(result.total);
      });

      test("stops after examining about maxScanned keys when matches are rare, and says the count is not exact", async () => {
        await fx.store.mset([...keysNamed("n:", 5_000), "rare:1"].map((key) => ({ key, value: "v", ttlMs: MINUTE })));
        const result = await fx.store.countMatching("rare:*", { maxScanned: 1_000 });
        expect(result.exact).toBe(false);
        expect(result.scanned).toBeLessThan(result.total);
        await expect(fx.store.countMatching("rare:*", { maxScanned: 0 })).rejects.toBeInstanceOf(L2ArgumentError);
      });
    });

    describe("batches and concurrency", () => {
      test("10 000 keys round-trip through mset, mget, exists and delete", async () => {
        const keys = keysNamed("bulk:", 10_000);
        await fx.store.mset(keys.map((key, i) => ({ key, value: `value-${i}`, ttlMs: MINUTE })));
        const values = await fx.store.mget(keys);
        expect(values.every((v, i) => v?.toString() === `value-${i}`)).toBe(true);
        expect(await fx.store.exists(keys)).toBe(10_000);
        expect(await fx.store.delete(keys)).toBe(10_000);
        expect(await fx.store.exists(keys)).toBe(0);
      });

      test("100 concurrent writers and readers on distinct keys all succeed", async () => {
        const keys = keysNamed("conc:", 100);
        await Promise.all(keys.map((key) => fx.store.set(key, key, MINUTE)));
        const values = await Promise.all(keys.map((key) => fx.store.get(key)));
        expect(values.map((v) => v?.toString())).toEqual(keys);
      });

      test("concurrent sets and gets share batches, yet a bad call fails alone and the last write of a key wins", async () => {
        const results = await Promise.allSettled([
          fx.store.set("shared:1", "first", MINUTE),
          fx.store.set("", "empty key", MINUTE),
          fx.store.set("shared:2", "v", -5),
          fx.store.set("shared:1", "second", MINUTE),
          fx.store.get(""),
          fx.store.set("shared:3", "v", MINUTE, { tags: [""] }),
        ]);
        expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "rejected", "fulfilled", "rejected", "rejected"]);
        for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(L2ArgumentError);
        expect((await fx.store.get("shared:1"))?.toString()).toBe("second");
        expect(await fx.store.mget(["shared:2", "shared:3"])).toEqual([null, null]);
      });
    });

    describe("nodes and health", () => {
      test("info reports memory and key counts for every node", async () => {
        await fx.store.set("i", "v", MINUTE);
        const info = await fx.store.info();
        expect(info.map((n) => n.node).sort()).toEqual(
          fx.store
            .nodes()
            .map((n) => n.id)
            .sort(),
        );
        for (const node of info) expect(node).toMatchObject({ healthy: true, used_memory: expect.any(Number), keys: expect.any(Number) });
        expect(info.reduce((sum, n) => sum + n.keys, 0)).toBeGreaterThanOrEqual(1);
      });

      test("ping resolves with a round-trip time", async () => {
        const ms = await fx.store.ping();
        expect(ms).toBeGreaterThanOrEqual(0);
        expect(ms).toBeLessThan(2_000);
      });

      test("control data lands on a deterministic node through controlClient", async () => {
        const leaseKey = `${fx.prefix.slice(0, -3)}:lease:user:1`;
        const node = fx.store.nodeFor(leaseKey);
        expect(fx.store.nodes().map((n) => n.id)).toContain(node.id);
        expect(fx.store.nodeFor(leaseKey)).toEqual(node);
        const client = fx.store.controlClient(leaseKey);
        expect(await client.set(leaseKey, "token-1", "PX", 1_000, "NX")).toBe("OK");
        expect(await client.set(leaseKey, "token-2", "PX", 1_000, "NX")).toBeNull();
        await client.del(leaseKey);
      });
    });
  });
}
