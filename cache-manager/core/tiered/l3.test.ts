import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { connectRedis } from "../../../lib/redis";
import { eventually } from "../../../infra/node-host/testing/api";
import { encoreSql } from "../../../lib/sql";
import { generateKeyPair, parseKeyring } from "../../../lib/l3-keyring";
import { l3db } from "../../db";
import { decodeEnvelope, type Envelope } from "../envelope";
import { L1Cache } from "../l1/cache";
import { createSingleL2 } from "../l2/single";
import { L3Copier, lingerFor, type L3CopierOptions } from "../l3/copier";
import { PendingInvalidations } from "../l3/pending";
import { openPostgresL3 } from "../l3/postgres";
import { cuttableSql, usePostgresL3Database } from "../l3/testing";
import type { L3Store } from "../l3/types";
import { OriginRegistry } from "../origins/registry";
import { OriginNotConfiguredError } from "../origins/errors";
import { startTestOrigin, type TestOrigin } from "../origins/test-origin";
import { RedisLease } from "../resilience/lease";
import { createTieredCache } from "./factory";

const url = process.env.REDIS_URL!;
const keyring = parseKeyring(generateKeyPair("k1"));
let origin: TestOrigin;
usePostgresL3Database();
const sql = () => encoreSql(l3db);

beforeAll(async () => {
  origin = await startTestOrigin();
});
afterAll(() => origin?.close());

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((fn) => fn()));
  origin.reset();
});

/** N instances sharing one Redis namespace and one L3 (fresh per test); each runs a copier. */
async function instances(count: number, options: { store?: L3Store; copier?: boolean | Partial<L3CopierOptions> } = {}) {
  const ns = `l3t${randomUUID().slice(0, 8)}`;
  const store = options.store ?? (await openPostgresL3(sql(), { keyring }));
  const made: Array<{ cache: import("../tiered").TieredCache; l2: import("../l2/types").L2Store }> = [];
  const admin = connectRedis(url);
  for (let i = 0; i < count; i++) {
    const redis = connectRedis(url);
    const l2 = await createSingleL2({ client: redis, prefix: `${ns}:v:` });
    const origins = await OriginRegistry.open({
      redis,
      deps: {},
      keyPrefix: `${ns}:origins`,
      configs: [{ namespace: "item:", kind: "http", url: origin.url }],
    });
    const { cache, bus } = createTieredCache({
      l1: new L1Cache<Envelope>({ maxEntries: 10_000, maxBytes: 16 * 1024 * 1024 }),
      l2,
      origins,
      bus: { url, streamKey: `${ns}:coherence`, ignoreOwn: true },
      lease: new RedisLease({ redis, prefix: `${ns}:lease:` }),
      graceMs: 0,
      jitter: 0,
      breakerThreshold: 2,
      breakerOpenMs: 300,
      l3: { store, pending: new PendingInvalidations({ redis, key: `${ns}:l3:pending` }), retentionMs: 3_600_000 },
    });
    await bus.start();
    cache.l3!.start();
    const copier = new L3Copier({
      redis: connectRedis(url),
      streamKey: `${ns}:coherence`,
      consumer: `c${i}`,
      copy: (keys) => cache.l3!.copy(keys),
      blockMs: 50,
      retryMs: 50,
      // a short wait whatever the test process's load, so waits below stay meaningful
      lingerMs: 20,
      maxLingerMs: 20,
      ...(typeof options.copier === "object" ? options.copier : {}),
    });
    if (options.copier !== false) copier.start();
    cleanups.push(async () => {
      cache.l3!.stop();
      await copier.stop();
      await bus.stop();
      redis.disconnect();
    });
    made.push({ cache, l2 });
  }
  cleanups.push(async () => void admin.disconnect());
  /** Empties L2 and every L1 as a Redis flush would, leaving L3 alone. */
  const loseRedis = async () => {
    const keys = await admin.keys(`${ns}:v:*`);
    if (keys.length > 0) await admin.del(...keys);
    for (const { cache } of made) cache.applyGap();
  };
  return { made, store, loseRedis };
}

const id = () => `item:${randomUUID().slice(0, 8)}`;
const inL3 = async (store: L3Store, key: string) => (await store.getMany([key]))[0] !== undefined;
/** The value L3 holds for `key`, or `undefined`. */
const valueInL3 = async (store: L3Store, key: string) => {
  const [record] = await store.getMany([key]);
  return record && decodeEnvelope(record.value)?.v;
};
const untilInL3 = (store: L3Store, key: string, present = true) =>
  eventually(
    () => inL3(store, key),
    (found) => found === present,
    5_000,
    10,
  );

describe("L3 in the read path", () => {
  test("a value written to L2 reaches L3; after Redis loses it, L3 answers (source l3) without an origin call and refills L2", async () => {
    const {
      made: [a, b],
      store,
      loseRedis,
    } = await instances(2);
    const key = id();
    await a.cache.set(key, { n: 1 });
    expect(await untilInL3(store, key)).toBe(true);
    const copied = () => a.cache.l3Status().copied + b.cache.l3Status().copied;
    const copiedBefore = copied();
    await loseRedis();
    expect(await b.cache.get(key)).toMatchObject({ value: { n: 1 }, source: "l3" });
    expect(origin.calls.get(key.slice(5)) ?? 0).toBe(0);
    // refilled behind the answer: L2 serves the next instance
    const refilled = await eventually(
      () => b.l2.get(key),
      (raw) => raw !== null,
      2_000,
      10,
    );
    expect(refilled).not.toBeNull();
    expect(await a.cache.get(key)).toMatchObject({ value: { n: 1 }, source: "l2" });
    // The refill is announced as a restore: the copiers do not write L3's own value back to it.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(copied()).toBe(copiedBefore);
  });

  test("after Redis is lost, 3 instances × 20 concurrent readers of 30 keys make 0 origin calls", async () => {
    const { made, store, loseRedis } = await instances(3);
    const keys = Array.from({ length: 30 }, id);
    for (const key of keys) origin.values.set(key.slice(5), { key });
    await Promise.all(keys.map((key) => made[0].cache.get(key)));
    const loadsBefore = [...origin.calls.values()].reduce((a, b) => a + b, 0);
    for (const key of keys) expect(await untilInL3(store, key)).toBe(true);
    await loseRedis();
    const reads = await Promise.all(made.flatMap(({ cache }) => Array.from({ length: 20 }, (_, r) => cache.get(keys[r % keys.length]))));
    expect(reads.every((read) => read.source === "l3" || read.source === "l2" || read.source === "l1")).toBe(true);
    expect([...origin.calls.values()].reduce((a, b) => a + b, 0)).toBe(loadsBefore);
  });

  test("a key without an origin that L3 does not have is not found, as without L3", async () => {
    const {
      made: [a],
    } = await instances(1);
    await expect(a.cache.get(`other:${randomUUID()}`)).rejects.toBeInstanceOf(OriginNotConfiguredError);
  });
});

describe("invalidations reach L3", () => {
  test.each([
    ["key", (c: import("../tiered").TieredCache, key: string) => c.delete([key])],
    ["pattern", (c: import("../tiered").TieredCache, key: string) => c.deleteMatching(`${key.slice(0, 7)}*`)],
    ["tag", (c: import("../tiered").TieredCache) => c.deleteByTags(["t1"])],
    ["flush", (c: import("../tiered").TieredCache) => c.flush()],
  ])("by %s: the value is gone from L3, and a read after Redis loss goes to the origin", async (_kind, invalidate) => {
    const {
      made: [a, b],
      store,
      loseRedis,
    } = await instances(2);
    const key = id();
    origin.values.set(key.slice(5), { fromOrigin: true });
    await a.cache.set(key, { written: true }, { tags: ["t1"] });
    expect(await untilInL3(store, key)).toBe(true);
    await invalidate(a.cache, key);
    expect(await inL3(store, key)).toBe(false);
    await loseRedis();
    expect(await b.cache.get(key)).toMatchObject({ value: { fromOrigin: true }, source: "origin" });
  });

  test("a copy that races an invalidation never leaves the invalidated value in L3", async () => {
    const {
      made: [a],
      store,
    } = await instances(1, { copier: false });
    for (let round = 0; round < 20; round++) {
      const key = id();
      await a.cache.set(key, { round });
      // The copy reads L2 and writes L3 while the delete runs; whichever order, L3 ends empty.
      await Promise.all([a.cache.l3!.copy([key]), a.cache.delete([key])]);
      expect(await inL3(store, key)).toBe(false);
    }
  });

  test("while L3 cannot take invalidations they wait in Redis, reads skip L3, and the replay applies them", async () => {
    const { sql: guarded, cut, restore } = cuttableSql(sql());
    const flaky = await openPostgresL3(guarded, { keyring });
    const failing = await openPostgresL3(sql(), { keyring });
    const {
      made: [a, b],
      loseRedis,
    } = await instances(2, { store: flaky });
    const [kept, dropped, overwritten] = [id(), id(), id()];
    origin.values.set(dropped.slice(5), { fromOrigin: true });
    origin.values.set(overwritten.slice(5), { fromOrigin: true });
    await a.cache.set(kept, { kept: true });
    await a.cache.set(dropped, { old: true });
    await a.cache.set(overwritten, { old: true });
    for (const key of [kept, dropped, overwritten]) expect(await untilInL3(failing, key)).toBe(true);
    cut();
    await a.cache.delete([dropped]); // acknowledged although L3 did not take it
    expect(a.cache.l3Status().pendingInvalidations).toBeGreaterThan(0);
    // A write L3 cannot copy is recorded too: its older value in L3 must not come back either.
    const failuresBefore = a.cache.l3Status().copyFailures + b.cache.l3Status().copyFailures;
    await a.cache.set(overwritten, { newer: true });
    await eventually(
      async () => a.cache.l3Status().copyFailures + b.cache.l3Status().copyFailures,
      (failures) => failures > failuresBefore,
      5_000,
      10,
    );
    restore();
    await loseRedis();
    // Until the replay ran, no instance reads L3: the old value must not come back from it.
    const before = await b.cache.get(dropped);
    expect(before).toMatchObject({ value: { fromOrigin: true } });
    const replayed = await eventually(
      async () => (await b.cache.l3!.replayPending()) + (await a.cache.l3!.replayPending()),
      () => b.cache.l3Status().pendingInvalidations === 0,
      5_000,
      20,
    );
    expect(replayed).toBeGreaterThanOrEqual(0);
    // L3 may hold the origin's value by now (the read above filled L2, and the copier copies
    // fills), never the invalidated one.
    expect(await valueInL3(failing, dropped)).not.toEqual({ old: true });
    expect((await b.cache.get(overwritten)).value).not.toEqual({ old: true });
    expect(await b.cache.get(kept)).toMatchObject({ value: { kept: true }, source: "l3" });
  });
});

describe("the copier's pacing", () => {
  test("its wait is lingerMs while the process is not busy, rising to maxLingerMs as it saturates", () => {
    expect([0, 0.3, 0.5, 0.7, 0.9, 1].map((load) => lingerFor(load, 100, 1_000))).toEqual([100, 100, 100, 550, 1_000, 1_000]);
    expect(lingerFor(1, 100, 50)).toBe(100); // a maximum below the minimum is the minimum
  });

  test("under load, a key written many times while the copier waits is copied once, with its last value, and the lag is reported", async () => {
    const copies: string[][] = [];
    const lags: number[] = [];
    const {
      made: [a],
      store,
    } = await instances(1, {
      copier: {
        load: () => 1,
        lingerMs: 20,
        maxLingerMs: 1_000,
        onLag: (lag) => lags.push(lag),
      },
    });
    const copy = a.cache.l3!.copy.bind(a.cache.l3!);
    a.cache.l3!.copy = (keys) => (copies.push([...keys]), copy(keys));
    const key = id();
    // back to back: the ten writes take far less than the saturated copier's 1 s wait
    for (let n = 1; n <= 10; n++) await a.cache.set(key, { n });
    // the batch's oldest write waited the whole saturated wait (reported once the batch is acknowledged)
    const lag = await eventually(
      async () => lags.find((ms) => ms > 0),
      (ms) => ms !== undefined,
      10_000,
      20,
    );
    expect(lag).toBeGreaterThanOrEqual(950);
    const [stored] = await store.getMany([key]);
    expect(decodeEnvelope(stored!.value)?.v).toEqual({ n: 10 });
    expect(copies.filter((keys) => keys.includes(key))).toHaveLength(1);
    // once caught up, the lag is 0
    expect(
      await eventually(
        async () => lags.at(-1),
        (lag) => lag === 0,
        2_000,
        20,
      ),
    ).toBe(0);
  });
});

describe("restore from L3 (warming source l3)", () => {
  test("pages of L3 entries go back into L2 through their fences; keys L2 holds are skipped", async () => {
    const {
      made: [a],
      store,
      loseRedis,
    } = await instances(1);
    const run = randomUUID().slice(0, 8);
    const keys = Array.from({ length: 7 }, (_, i) => `item:${run}-${i}`);
    for (const key of keys) await a.cache.set(key, { key });
    for (const key of keys) expect(await untilInL3(store, key)).toBe(true);
    await loseRedis();
    await a.cache.set(keys[0], { newer: true }); // L2 holds this one: restore must not overwrite it
    let cursor: string | null = null;
    let restored = 0;
    do {
      const page = await a.cache.restoreFromL3({ pattern: `item:${run}-*`, cursor, limit: 3 });
      restored += page.restored;
      cursor = page.cursor;
    } while (cursor !== null);
    expect(restored).toBe(6);
    expect(JSON.parse((await a.l2.get(keys[0]))!.toString()).v).toEqual({ newer: true });
    for (const key of keys.slice(1)) expect(JSON.parse((await a.l2.get(key))!.toString()).v).toEqual({ key });
  });
});
