/**
 * The one behaviour suite every L3 backend must pass (as `../l2/contract.ts` is for L2). Each
 * test starts from empty storage, with a fake clock, and opens stores with the keyrings it needs.
 *
 * The lock tests use real concurrency against the backend: an invalidation whose `then` (the L2
 * delete) is slow, and a copy or a read started while it runs. They fail when `copy` or
 * `getMany` does not wait for the exclusive lock.
 *
 * @example
 * registerL3ContractSuite("postgres", () => ({ open: ..., reset: ..., cut: ... }));
 */
import { randomBytes } from "node:crypto";
import { beforeEach, describe, expect, test } from "vitest";
import { compileGlob } from "../../../lib/glob.ts";
import { L3ArgumentError, L3DecryptError, L3KeyMismatchError, L3UnavailableError } from "./errors.ts";
import { generateKeyPair, parseKeyring, type L3Keyring } from "../../../lib/l3-keyring.ts";
import type { L3Entry, L3Record, L3Store } from "./types.ts";

export interface L3StoreOptions {
  keyring: L3Keyring;
  clock: () => number;
}

/** How the suite reaches one backend. */
export interface L3Backend {
  /** Opens a store on the shared storage (runs the key check). */
  open(options: L3StoreOptions): Promise<L3Store>;
  /** Empties the storage: entries and key checks. */
  reset(): Promise<void>;
  /** Opens a store whose backend stops answering once `cut()` is called (an injected fault). */
  openCuttable(options: L3StoreOptions): Promise<{ store: L3Store; cut(): void }>;
}

const T0 = Date.parse("2026-01-01T00:00:00Z");
const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How long a slow `then` holds the exclusive lock: long enough for an unlocked copy to finish inside it. */
const SLOW_THEN_MS = 400;

const entry = (key: string, value: Buffer | string = `value of ${key}`, overrides: Partial<L3Entry> = {}): L3Entry => ({
  key,
  value: Buffer.isBuffer(value) ? value : Buffer.from(value),
  tags: [],
  expiresAt: T0 + HOUR,
  ...overrides,
});

/** A JSON envelope like the ones L2 holds (compressible). */
const envelope = (i: number) =>
  Buffer.from(
    JSON.stringify({ v: { id: i, name: `Product ${i}`, description: "a sturdy product ".repeat(20), price: i * 1.5 }, t: ["products"], f: T0 + HOUR }),
  );

export interface L3SuiteOptions {
  /**
   * The backend runs one transaction at a time (PGlite's single connection): copies cannot
   * overlap, so the test that they do is not registered. The lock tests still apply.
   */
  oneConnection?: boolean;
}

export function registerL3ContractSuite(name: string, backend: () => L3Backend, options: L3SuiteOptions = {}): void {
  describe(`L3 contract: ${name}`, () => {
    let now = T0;
    const clock = () => now;
    const k1 = parseKeyring(generateKeyPair("k1"));
    const opened: L3Store[] = [];
    const open = async (keyring: L3Keyring = k1) => {
      const store = await backend().open({ keyring, clock });
      opened.push(store);
      return store;
    };
    /** Stores entries through `copy`, the only write path. */
    const put = (store: L3Store, entries: L3Entry[]) =>
      store.copy(
        entries.map((e) => e.key),
        async () => entries,
      );
    const values = (records: (L3Record | undefined)[]) => records.map((record) => record?.value.toString());

    beforeEach(async () => {
      now = T0;
      for (const store of opened.splice(0)) await store.close();
      await backend().reset();
    });

    describe("values", () => {
      test("round-trips arbitrary bytes: every byte value, empty, incompressible and large values", async () => {
        const store = await open();
        const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const random = randomBytes(200_000);
        const big = Buffer.from("x".repeat(1_000_000));
        await put(store, [entry("all", all), entry("empty", Buffer.alloc(0)), entry("random", random), entry("big", big), entry("json", envelope(1))]);
        const [a, e, r, b, j] = await store.getMany(["all", "empty", "random", "big", "json"]);
        expect(a!.value.equals(all)).toBe(true);
        expect(e!.value.length).toBe(0);
        expect(r!.value.equals(random)).toBe(true);
        expect(b!.value.equals(big)).toBe(true);
        expect(j!.value.equals(envelope(1))).toBe(true);
      });

      test("a record carries its tags, expiry and the clock's time of writing", async () => {
        const store = await open();
        now = T0 + 5_000;
        await put(store, [entry("k", "v", { tags: ["a", "b c", "ключ"], expiresAt: T0 + 2 * HOUR })]);
        const [record] = await store.getMany(["k"]);
        expect(record).toEqual({ key: "k", value: Buffer.from("v"), tags: ["a", "b c", "ключ"], expiresAt: T0 + 2 * HOUR, writtenAt: T0 + 5_000 });
      });

      test("keys may hold any characters: glob and LIKE characters, backslashes, non-ASCII", async () => {
        const store = await open();
        const keys = ["a%b", "a_b", "a*b", "q?", "[x]", "back\\slash", "ключ", "emoji 🐢", "quote'\""];
        await put(
          store,
          keys.map((key) => entry(key, key)),
        );
        expect(values(await store.getMany(keys))).toEqual(keys);
      });

      test("getMany answers in input order, undefined for misses, repeats repeated keys", async () => {
        const store = await open();
        await put(store, [entry("x", "1"), entry("y", "2")]);
        expect(values(await store.getMany(["y", "nope", "x", "y"]))).toEqual(["2", undefined, "1", "2"]);
        expect(await store.getMany([])).toEqual([]);
      });

      test("a getMany larger than one statement's worth of keys answers every key in order", async () => {
        const store = await open();
        const keys = Array.from({ length: 2_500 }, (_, i) => `many:${i}`);
        await put(
          store,
          keys.filter((_, i) => i % 3 === 0).map((key) => entry(key, key)),
        );
        const found = values(await store.getMany([...keys].reverse()));
        expect(found).toEqual([...keys].reverse().map((key, i) => ((keys.length - 1 - i) % 3 === 0 ? key : undefined)));
      });

      test("an entry past its expiry is a miss, though still stored until retention removes it", async () => {
        const store = await open();
        await put(store, [entry("short", "s", { expiresAt: T0 + 1_000 }), entry("long", "l")]);
        expect(values(await store.getMany(["short", "long"]))).toEqual(["s", "l"]);
        now = T0 + 1_000;
        expect(values(await store.getMany(["short", "long"]))).toEqual([undefined, "l"]);
        expect((await store.stats()).entries).toBe(2);
      });
    });

    describe("copy", () => {
      test("stores only what current() returns, for the keys it was asked about", async () => {
        const store = await open();
        const asked: string[][] = [];
        const stored = await store.copy(["a", "b", "c"], async (keys) => {
          asked.push([...keys]);
          return [entry("a", "A"), entry("c", "C")]; // L2 no longer holds b
        });
        expect(asked).toEqual([["a", "b", "c"]]);
        expect(stored).toBe(2);
        expect(values(await store.getMany(["a", "b", "c"]))).toEqual(["A", undefined, "C"]);
      });

      test("a copy of nothing stores nothing and does not call current()", async () => {
        const store = await open();
        let calls = 0;
        expect(await store.copy([], async () => (calls++, [entry("a")]))).toBe(0);
        expect(calls).toBe(0);
        expect(await store.copy(["a"], async () => [])).toBe(0);
        expect((await store.stats()).entries).toBe(0);
      });

      test("an upsert replaces the value, tags and expiry; a key given twice keeps the last", async () => {
        const store = await open();
        await put(store, [entry("k", "one", { tags: ["old"] })]);
        now = T0 + 10;
        await put(store, [entry("k", "two", { tags: ["new"], expiresAt: T0 + 3 * HOUR }), entry("j", "first"), entry("j", "last")]);
        const [k, j] = await store.getMany(["k", "j"]);
        expect(k).toMatchObject({ value: Buffer.from("two"), tags: ["new"], expiresAt: T0 + 3 * HOUR, writtenAt: T0 + 10 });
        expect(j!.value.toString()).toBe("last");
        expect((await store.invalidate({ kind: "tags", tags: ["old"] }, async () => null)).deleted).toBe(0);
        expect((await store.stats()).entries).toBe(2);
      });

      test("a failing current() stores nothing and rejects with its error", async () => {
        const store = await open();
        await expect(
          store.copy(["a"], async () => {
            throw new Error("L2 down");
          }),
        ).rejects.toThrow("L2 down");
        expect(await store.getMany(["a"])).toEqual([undefined]);
      });
    });

    describe("invalidate", () => {
      test("by keys deletes those keys, counts them and resolves to then's result", async () => {
        const store = await open();
        await put(store, [entry("a"), entry("b"), entry("c")]);
        const outcome = await store.invalidate({ kind: "keys", keys: ["a", "c", "absent"] }, async () => "l2 done");
        expect(outcome).toEqual({ deleted: 2, result: "l2 done" });
        expect(values(await store.getMany(["a", "b", "c"]))).toEqual([undefined, "value of b", undefined]);
      });

      test("by tags deletes every entry holding any of the tags", async () => {
        const store = await open();
        await put(store, [
          entry("a", "a", { tags: ["red", "big"] }),
          entry("b", "b", { tags: ["blue"] }),
          entry("c", "c", { tags: ["green", "small"] }),
          entry("d"),
        ]);
        const { deleted } = await store.invalidate({ kind: "tags", tags: ["big", "green"] }, async () => undefined);
        expect(deleted).toBe(2);
        expect(values(await store.getMany(["a", "b", "c", "d"]))).toEqual([undefined, "b", undefined, "value of d"]);
      });

      test("all deletes everything", async () => {
        const store = await open();
        await put(store, [entry("a"), entry("b")]);
        expect((await store.invalidate({ kind: "all" }, async () => undefined)).deleted).toBe(2);
        expect((await store.stats()).entries).toBe(0);
        await put(store, [entry("a")]);
        expect((await store.stats()).entries).toBe(1);
      });

      const GLOB_KEYS = ["a%b", "a_b", "axb", "a\\b", "a*b", "a?b", "a[b", "ab", "b", "user:1", "user:10", "user:x", "é", "éa", "100%", "x_y_z"];
      // Each pattern's expected survivors come from lib/glob.ts, the matcher L1 and Redis agree on.
      test.each([
        "*",
        "a%b",
        "a_b",
        "a?b",
        "a\\*b",
        "a\\?b",
        "a\\\\b",
        "a\\[b",
        "a[_%]b",
        "a[^_]b",
        "user:[0-9]",
        "user:[0-9]*",
        "user:?",
        "?",
        "??",
        "*%",
        "x\\_y*",
        "*b",
        "[a-b]*",
      ])("by pattern %s deletes exactly the keys the glob matches", async (pattern) => {
        const store = await open();
        await put(
          store,
          GLOB_KEYS.map((key) => entry(key, key)),
        );
        const matches = compileGlob(pattern);
        const doomed = GLOB_KEYS.filter(matches);
        const found: string[] = [];
        for (let cursor: string | null = null; ;) {
          const page = await store.scan({ pattern, cursor, limit: 4 });
          found.push(...page.records.map((record) => record.key));
          if (page.cursor === null) break;
          cursor = page.cursor;
        }
        expect(found.sort()).toEqual([...doomed].sort());
        const { deleted } = await store.invalidate({ kind: "pattern", pattern }, async () => undefined);
        expect(deleted).toBe(doomed.length);
        expect(values(await store.getMany(GLOB_KEYS))).toEqual(GLOB_KEYS.map((key) => (matches(key) ? undefined : key)));
      });

      test("random globs over keys full of LIKE and glob characters select what lib/glob.ts selects", async () => {
        const store = await open();
        const alphabet = ["a", "b", "x", ":", "%", "_", "\\", "*", "?", "[", "]", "é", "🐢"];
        const randomText = (length: number) => Array.from({ length }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join("");
        const keys = [...new Set(Array.from({ length: 300 }, () => randomText(1 + Math.floor(Math.random() * 5))))];
        await put(
          store,
          keys.map((key) => entry(key, key)),
        );
        const tokens = ["*", "?", "[ab]", "[^a]", "[%-_]", "a", "b", "x", ":", "%", "_", "é", "\\*", "\\?", "\\[", "\\\\", "\\%"];
        for (let i = 0; i < 40; i++) {
          const pattern = Array.from({ length: 1 + Math.floor(Math.random() * 4) }, () => tokens[Math.floor(Math.random() * tokens.length)]).join("");
          const expected = keys.filter(compileGlob(pattern)).sort();
          const page = await store.scan({ pattern, limit: 1_000 });
          expect(
            page.records.map((record) => record.key),
            pattern,
          ).toEqual(expected);
        }
      });

      test("an invalid glob is refused before anything is deleted or then runs", async () => {
        const store = await open();
        await put(store, [entry("a[")]);
        let ran = false;
        await expect(store.invalidate({ kind: "pattern", pattern: "a[" }, async () => (ran = true))).rejects.toBeInstanceOf(L3ArgumentError);
        expect(ran).toBe(false);
        expect((await store.stats()).entries).toBe(1);
      });

      test("when L3 cannot be reached it rejects as unavailable without running then", async () => {
        const { store, cut } = await backend().openCuttable({ keyring: k1, clock });
        opened.push(store);
        await put(store, [entry("a")]);
        cut();
        let ran = false;
        await expect(store.invalidate({ kind: "keys", keys: ["a"] }, async () => (ran = true))).rejects.toBeInstanceOf(L3UnavailableError);
        expect(ran).toBe(false);
        await expect(store.getMany(["a"])).rejects.toBeInstanceOf(L3UnavailableError);
        await expect(put(store, [entry("b")])).rejects.toBeInstanceOf(L3UnavailableError);
        await expect(store.ping()).rejects.toBeInstanceOf(L3UnavailableError);
      });

      test("when then rejects, the L3 delete stands and invalidate rejects with then's error", async () => {
        const store = await open();
        await put(store, [entry("a"), entry("b")]);
        await expect(
          store.invalidate({ kind: "keys", keys: ["a"] }, async () => {
            throw new Error("L2 delete failed");
          }),
        ).rejects.toThrow("L2 delete failed");
        expect(values(await store.getMany(["a", "b"]))).toEqual([undefined, "value of b"]);
      });
    });

    describe("the lock", () => {
      test("a copy started during an invalidation waits for it, so it cannot store the value then() removes from L2", async () => {
        const store = await open();
        const l2 = new Map([["k", "old"]]);
        await put(store, [entry("k", "old")]);
        const events: string[] = [];
        let copying: Promise<number> | undefined;
        await store.invalidate({ kind: "keys", keys: ["k"] }, async () => {
          events.push("then:start");
          copying = store.copy(["k"], async (keys) => {
            events.push("current");
            return keys.filter((key) => l2.has(key)).map((key) => entry(key, l2.get(key)!));
          });
          await Promise.race([copying, sleep(SLOW_THEN_MS)]); // an unlocked copy finishes in here
          l2.delete("k");
          events.push("then:end");
        });
        expect(await copying).toBe(0);
        expect(events).toEqual(["then:start", "then:end", "current"]);
        expect(await store.getMany(["k"])).toEqual([undefined]);
      });

      test("a copy of a key the invalidation never stored waits too (it would otherwise land before the L2 delete)", async () => {
        const store = await open();
        const l2 = new Map([["fresh", "v"]]);
        let copying: Promise<number> | undefined;
        await store.invalidate({ kind: "pattern", pattern: "fre*" }, async () => {
          copying = store.copy(["fresh"], async (keys) => keys.filter((key) => l2.has(key)).map((key) => entry(key, l2.get(key)!)));
          await Promise.race([copying, sleep(SLOW_THEN_MS)]);
          l2.delete("fresh");
        });
        expect(await copying).toBe(0);
        expect(await store.getMany(["fresh"])).toEqual([undefined]);
      });

      test("a read started during an invalidation answers after it, without the deleted value", async () => {
        const store = await open();
        await put(store, [entry("k", "old"), entry("other", "o")]);
        const events: string[] = [];
        let reading: Promise<(L3Record | undefined)[]> | undefined;
        await store.invalidate({ kind: "keys", keys: ["k"] }, async () => {
          reading = store.getMany(["k", "other"]).then((records) => (events.push("read"), records));
          await Promise.race([reading, sleep(SLOW_THEN_MS)]); // a reader that does not wait answers in here
          events.push("then:end");
        });
        expect(values(await reading!)).toEqual([undefined, "o"]);
        expect(events).toEqual(["then:end", "read"]);
      });

      test("under racing copies, invalidations and reads, no value from before an acknowledged invalidation is read again", async () => {
        const store = await open();
        const keys = ["r0", "r1", "r2"];
        const l2 = new Map<string, number>(); // key → the version L2 holds
        const latest = new Map<string, number>(); // key → the newest version ever written
        const invalidatedUpTo = new Map<string, number>(); // key → versions at or below this were invalidated (acknowledged)
        const fences = new Map<string, number>(); // key → L2 deletes so far
        let version = 0;
        let reads = 0;
        const violations: string[] = [];
        const pick = (i: number) => keys[(i * 7 + Math.floor(Math.random() * 3)) % keys.length];
        const writer = async (w: number) => {
          for (let i = 0; i < 25; i++) {
            const key = pick(i + w);
            l2.set(key, ++version);
            latest.set(key, version);
            await store.copy([key], async (asked) => asked.filter((k) => l2.has(k)).map((k) => entry(k, String(l2.get(k)))));
          }
        };
        const invalidator = async (n: number) => {
          for (let i = 0; i < 12; i++) {
            const key = pick(i + n);
            const deletedUpTo = await store
              .invalidate({ kind: "keys", keys: [key] }, async () => {
                const upTo = latest.get(key) ?? 0; // what the L2 delete removes; later writes are new values
                l2.delete(key);
                fences.set(key, (fences.get(key) ?? 0) + 1);
                await sleep(5); // the L2 delete's round trip
                return upTo;
              })
              .then((outcome) => outcome.result);
            invalidatedUpTo.set(key, Math.max(invalidatedUpTo.get(key) ?? 0, deletedUpTo));
            const refilled = l2.get(key);
            if (refilled !== undefined && refilled <= deletedUpTo)
              violations.push(`${key}: a reader refilled L2 with version ${refilled} during its invalidation`);
          }
        };
        const reader = async () => {
          for (let i = 0; i < 60; i++) {
            const key = pick(i);
            const bound = invalidatedUpTo.get(key) ?? 0; // acknowledged before this read started
            reads++;
            const fence = fences.get(key) ?? 0;
            const inL2 = l2.get(key);
            if (inL2 !== undefined) {
              if (inL2 <= bound) violations.push(`${key}: L2 holds version ${inL2} after versions ≤ ${bound} were invalidated`);
              continue;
            }
            // The read path: an L2 miss reads L3 and refills L2 with what it found, unless an L2
            // delete of the key came in between (the fence the read path needs in any case: a value
            // read from L3 just before an invalidation must not be written to L2 just after it).
            const [record] = await store.getMany([key]);
            if (!record) continue;
            const found = Number(record.value.toString());
            if (found <= bound) violations.push(`${key}: L3 answered version ${found} after versions ≤ ${bound} were invalidated`);
            if (!l2.has(key) && fences.get(key) === fence) l2.set(key, found);
          }
        };
        await Promise.all([writer(0), writer(1), invalidator(0), invalidator(1), reader(), reader()]);
        expect(reads).toBe(120);
        expect(violations).toEqual([]);
        // And at rest: what L3 holds for a key is never older than an acknowledged invalidation of it.
        const final = await store.getMany(keys);
        keys.forEach((key, i) => {
          if (final[i]) expect(Number(final[i]!.value.toString())).toBeGreaterThan(invalidatedUpTo.get(key) ?? 0);
        });
      });

      if (!options.oneConnection) {
        test("of two overlapping copies of a key, the one that read L2 last is what L3 keeps", async () => {
          const store = await open();
          const l2 = new Map([["k", "v1"]]);
          const current = async (keys: readonly string[]) => keys.filter((key) => l2.has(key)).map((key) => entry(key, l2.get(key)!));
          let release!: () => void;
          const gate = new Promise<void>((resolve) => (release = resolve));
          let firstRead!: () => void;
          const read = new Promise<void>((resolve) => (firstRead = resolve));
          const first = store.copy(["k"], async (keys) => {
            const entries = await current(keys); // reads v1 ...
            firstRead();
            await gate; // ... and commits late
            return entries;
          });
          await read;
          l2.set("k", "v2");
          const second = store.copy(["k"], current); // reads v2, unless it waits for the first copy
          await Promise.race([second, sleep(SLOW_THEN_MS)]);
          release();
          await Promise.all([first, second]);
          expect(values(await store.getMany(["k"]))).toEqual(["v2"]);
        });

        test("copies do not wait for each other", async () => {
          const store = await open();
          let release!: () => void;
          const gate = new Promise<void>((resolve) => (release = resolve));
          const first = store.copy(["a"], async () => (await gate, [entry("a")]));
          // The second copy finishes while the first is still inside its lock.
          expect(await store.copy(["b"], async () => [entry("b")])).toBe(1);
          release();
          expect(await first).toBe(1);
        });
      }
    });

    describe("retention and scan", () => {
      test("purgeExpired removes expired entries, oldest first, at most limit per call", async () => {
        const store = await open();
        await put(store, [
          entry("e1", "1", { expiresAt: T0 + 1 }),
          entry("e2", "2", { expiresAt: T0 + 2 }),
          entry("e3", "3", { expiresAt: T0 + 3 }),
          entry("live", "l", { expiresAt: T0 + HOUR }),
        ]);
        expect(await store.purgeExpired(T0 + 10, 2)).toBe(2);
        expect((await store.stats()).entries).toBe(2);
        expect(await store.purgeExpired(T0 + 10, 100)).toBe(1);
        expect(await store.purgeExpired(T0 + 10, 100)).toBe(0);
        now = T0 + 10;
        expect(values(await store.getMany(["live"]))).toEqual(["l"]);
      });

      test("scan pages through live matching entries in key order; every page is within the limit", async () => {
        const store = await open();
        const wanted = Array.from({ length: 23 }, (_, i) => `page:${String(i).padStart(2, "0")}`);
        await put(store, [...wanted.map((key) => entry(key)), entry("other:1"), entry("page:dead", "d", { expiresAt: T0 + 1 })]);
        now = T0 + 1;
        const keys: string[] = [];
        let pages = 0;
        for (let cursor: string | null = null; ;) {
          const page = await store.scan({ pattern: "page:*", cursor, limit: 5 });
          expect(page.records.length).toBeLessThanOrEqual(5);
          keys.push(...page.records.map((record) => record.key));
          pages++;
          if (page.cursor === null) break;
          cursor = page.cursor;
        }
        expect(keys).toEqual(wanted);
        expect(pages).toBe(5);
        const [first] = (await store.scan({ limit: 1 })).records;
        expect(first.key).toBe("other:1");
        expect(first.value.toString()).toBe("value of other:1");
      });

      test("a cursor the store did not return, or an invalid glob, is an argument error", async () => {
        const store = await open();
        await expect(store.scan({ cursor: "not a cursor!", limit: 5 })).rejects.toBeInstanceOf(L3ArgumentError);
        await expect(store.scan({ pattern: "a\\", limit: 5 })).rejects.toBeInstanceOf(L3ArgumentError);
      });
    });

    describe("keys and stats", () => {
      test("stats count entries, stored and raw bytes, and entries per key id", async () => {
        const store = await open();
        const entries = Array.from({ length: 20 }, (_, i) => entry(`p:${i}`, envelope(i)));
        await put(store, entries);
        const stats = await store.stats();
        const raw = entries.reduce((sum, e) => sum + e.value.length, 0);
        expect(stats.entries).toBe(20);
        expect(stats.rawBytes).toBe(raw);
        expect(stats.storedBytes).toBeGreaterThan(0);
        expect(stats.storedBytes).toBeLessThan(raw / 2); // compressed JSON, plus 29 bytes of header each
        expect(stats.byKeyId).toEqual({ k1: 20 });
      });

      test("reencrypt moves entries from an old key id to the current one; they stay readable throughout", async () => {
        const old = await open(k1);
        const entries = Array.from({ length: 7 }, (_, i) => entry(`r:${i}`, envelope(i), { tags: [`t${i}`] }));
        await put(old, entries);
        const k2 = parseKeyring(`${generateKeyPair("k2")},${generateKeyPairOf(k1)}`);
        const store = await open(k2);
        await put(store, [entry("new")]);
        expect((await store.stats()).byKeyId).toEqual({ k1: 7, k2: 1 });
        expect(values(await store.getMany(entries.map((e) => e.key)))).toEqual(entries.map((e) => e.value.toString()));
        expect(await store.reencrypt(3)).toBe(3);
        expect((await store.stats()).byKeyId).toEqual({ k1: 4, k2: 4 });
        expect(values(await store.getMany(entries.map((e) => e.key)))).toEqual(entries.map((e) => e.value.toString()));
        expect(await store.reencrypt(100)).toBe(4);
        expect(await store.reencrypt(100)).toBe(0);
        expect((await store.stats()).byKeyId).toEqual({ k2: 8 });
        // Tags and expiry moved with them; the old key can now be dropped.
        const onlyK2 = parseKeyring(generateKeyPairOf(k2));
        const after = await open(onlyK2);
        expect((await after.getMany(["r:3"]))[0]).toMatchObject({ tags: ["t3"], expiresAt: T0 + HOUR });
      });

      test("open refuses a keyring whose key for a stored key id changed, naming CACHE_L3_KEY and the id", async () => {
        await put(await open(k1), [entry("a")]);
        const wrong = parseKeyring(generateKeyPair("k1"));
        const opening = backend().open({ keyring: wrong, clock });
        await expect(opening).rejects.toBeInstanceOf(L3KeyMismatchError);
        await expect(opening).rejects.toThrow(/CACHE_L3_KEY.*"k1"/);
      });

      test("open refuses a keyring that dropped a key id entries are still stored under", async () => {
        await put(await open(k1), [entry("a")]);
        const opening = backend().open({ keyring: parseKeyring(generateKeyPair("k2")), clock });
        await expect(opening).rejects.toBeInstanceOf(L3KeyMismatchError);
        await expect(opening).rejects.toThrow(/"k1".*CACHE_L3_KEY/);
      });

      test("open accepts a keyring without a retired key id once no entry uses it", async () => {
        const old = await open(k1);
        await put(old, [entry("a")]);
        await old.invalidate({ kind: "all" }, async () => undefined);
        const store = await open(parseKeyring(generateKeyPair("k2")));
        await put(store, [entry("b")]);
        expect((await store.stats()).byKeyId).toEqual({ k2: 1 });
      });

      test("an entry written under a key id this process lacks is a decrypt error, not garbage", async () => {
        const older = await open(k1); // a process not yet given k9, started before it was rolled out
        const k9 = parseKeyring(`${generateKeyPair("k9")},${generateKeyPairOf(k1)}`);
        const newer = await open(k9);
        await put(newer, [entry("a", "secret")]);
        await expect(older.getMany(["a"])).rejects.toBeInstanceOf(L3DecryptError);
        await expect(older.getMany(["a"])).rejects.toThrow(/"k9"/);
      });
    });
  });
}

/** The `id:key` text of a keyring's current key (to build a rotated keyring in tests). */
function generateKeyPairOf(keyring: L3Keyring): string {
  return `${keyring.current.id}:${keyring.current.key.toString("base64")}`;
}
