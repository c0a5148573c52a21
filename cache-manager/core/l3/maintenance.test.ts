/**
 * The maintenance loop on the PostgreSQL store: it purges expired entries and re-encrypts
 * entries under old keys in bounded rounds, keeps going when L3 fails, and stops cleanly.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { generateKeyPair, parseKeyring } from "../../../lib/l3-keyring.ts";
import { startL3Maintenance, type L3Maintenance } from "./maintenance.ts";
import { usePostgresL3Database } from "./testing.ts";
import type { L3Entry, L3Store } from "./types.ts";

const backend = usePostgresL3Database();
const T0 = Date.parse("2026-01-01T00:00:00Z");
const old = parseKeyring(generateKeyPair("old"));
const rotated = parseKeyring(`${generateKeyPair("new")},old:${old.current.key.toString("base64")}`);
const clock = () => T0;
const put = (store: L3Store, entries: L3Entry[]) =>
  store.copy(
    entries.map((e) => e.key),
    async () => entries,
  );
const entries = (prefix: string, n: number, expiresAt: number): L3Entry[] =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, value: Buffer.from(`v${i}`), tags: [], expiresAt }));

let running: L3Maintenance | undefined;
beforeEach(() => backend.reset());
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

describe("startL3Maintenance", () => {
  test("a round purges expired entries and re-encrypts old-key entries, at most maxBatches statements of each", async () => {
    await put(await backend.open({ keyring: old, clock }), entries("live:", 5, T0 + 60_000));
    const store = await backend.open({ keyring: rotated, clock });
    await put(store, entries("dead:", 7, T0 - 1));
    running = startL3Maintenance(store, { everyMs: 3_600_000, batch: 2, maxBatches: 2, clock });
    expect(await running.runOnce()).toEqual({ purged: 4, reencrypted: 4 });
    expect(await running.runOnce()).toEqual({ purged: 3, reencrypted: 1 });
    expect(await running.runOnce()).toEqual({ purged: 0, reencrypted: 0 });
    expect((await store.stats()).byKeyId).toEqual({ new: 5 });
    expect((await store.getMany(["live:4"]))[0]?.value.toString()).toBe("v4");
  });

  test("the loop runs by itself every everyMs until stopped", async () => {
    await put(await backend.open({ keyring: old, clock }), entries("dead:", 30, T0 - 1));
    const store = await backend.open({ keyring: rotated, clock });
    const rounds: number[] = [];
    running = startL3Maintenance(store, { everyMs: 10, batch: 5, maxBatches: 1, clock, onRound: (round) => rounds.push(round.purged) });
    await vi.waitFor(async () => expect((await store.stats()).entries).toBe(0), { timeout: 10_000, interval: 20 });
    await running.stop();
    const after = rounds.length;
    expect(rounds.slice(0, 6)).toEqual([5, 5, 5, 5, 5, 5]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(rounds.length).toBe(after); // no round after stop
  });

  test("a failing round goes to onError, the loop goes on, and nothing is left unhandled", async () => {
    const { store, cut } = await backend.openCuttable({ keyring: old, clock });
    await put(store, entries("dead:", 3, T0 - 1));
    cut();
    const errors: unknown[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      running = startL3Maintenance(store, { everyMs: 5, batch: 10, clock, onError: (error) => errors.push(error) });
      await vi.waitFor(() => expect(errors.length).toBeGreaterThanOrEqual(3), { timeout: 10_000, interval: 10 });
      await running.stop();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
      expect((errors[0] as Error).message).toMatch(/L3 purge expired entries: .*ECONNREFUSED/);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  test("stop waits for the running round", async () => {
    const store = await backend.open({ keyring: old, clock });
    let release!: () => void;
    const slow: L3Store = {
      ...store,
      purgeExpired: () => new Promise<number>((resolve) => (release = () => resolve(0))),
      reencrypt: store.reencrypt.bind(store),
    };
    running = startL3Maintenance(slow, { everyMs: 3_600_000, batch: 10, clock });
    const round = running.runOnce();
    let stopped = false;
    const stopping = running.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(await round).toEqual({ purged: 0, reencrypted: 0 });
  });

  test("refuses a loop without a positive interval and batch", async () => {
    const store = await backend.open({ keyring: old, clock });
    expect(() => startL3Maintenance(store, { everyMs: 0, batch: 10 })).toThrow(RangeError);
    expect(() => startL3Maintenance(store, { everyMs: 10, batch: 0.5 })).toThrow(RangeError);
  });
});
