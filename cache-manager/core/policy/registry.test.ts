/**
 * The cache policy registry against real Redis: two registries on one prefix stand for two
 * instances; the audit against PGlite with the service's own migration.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { connectRedis } from "../../../lib/redis.ts";
import { pgliteSql } from "../../../lib/sql.ts";
import { PolicyAudit } from "./audit.ts";
import { PolicyArgumentError } from "./errors.ts";
import { PolicyRegistry, type PolicyDefaults } from "./registry.ts";
import type { L1Settings } from "./validate.ts";

const DEFAULTS: PolicyDefaults = {
  l1: { policy: "w-tinylfu", maxEntries: 1_000, maxBytes: 1 << 20 },
  namespace: { defaultTtlMs: 300_000, l3: true, l3RetentionMs: 7 * 86_400_000 },
};

let redis: Redis;
beforeAll(() => {
  redis = connectRedis(process.env.REDIS_URL!);
});
afterAll(() => redis.disconnect());

/** Two registries sharing a fresh prefix, as two instances would. */
async function twoInstances() {
  const keyPrefix = `test-policy-${randomBytes(4).toString("hex")}`;
  const problems: string[] = [];
  const open = () => PolicyRegistry.open({ redis, keyPrefix, defaults: DEFAULTS, onProblem: (problem) => problems.push(problem) });
  return { a: await open(), b: await open(), keyPrefix, problems };
}

describe("PolicyRegistry", () => {
  test("starts from the environment's defaults, with no namespace policy", async () => {
    const { a } = await twoInstances();
    expect(a.view()).toEqual({ version: 0, l1: { ...DEFAULTS.l1, source: "env" }, defaults: DEFAULTS.namespace, namespaces: [], problems: [] });
    expect(a.forKey("product:1")).toEqual({});
  });

  test("a namespace policy set on one instance applies on the other after it refreshes, by the key's first ':'", async () => {
    const { a, b } = await twoInstances();
    const change = await a.setNamespace("session:", { defaultTtlMs: 60_000, l3: false });
    expect(change).toEqual({ target: "namespace session:", before: null, after: { defaultTtlMs: 60_000, l3: false }, version: 1 });
    expect(b.forKey("session:42")).toEqual({});
    expect(await b.refresh()).toBe(true);
    expect(b.forKey("session:42")).toEqual({ defaultTtlMs: 60_000, l3: false });
    expect(b.forKey("session:eu:42")).toEqual({ defaultTtlMs: 60_000, l3: false });
    expect(b.forKey("sessions:42")).toEqual({});
    expect(b.forKey("session")).toEqual({});
    expect(await b.refresh()).toBe(false);
  });

  test("a namespace's policy is replaced whole, and removing it reports what it was", async () => {
    const { a } = await twoInstances();
    await a.setNamespace("user:", { defaultTtlMs: 10_000, l3: true, l3RetentionMs: 86_400_000 });
    const replaced = await a.setNamespace("user:", { l3: false });
    expect(replaced.before).toEqual({ defaultTtlMs: 10_000, l3: true, l3RetentionMs: 86_400_000 });
    expect(a.forKey("user:1")).toEqual({ l3: false });
    expect(await a.removeNamespace("user:")).toMatchObject({ before: { l3: false }, after: null });
    expect(a.forKey("user:1")).toEqual({});
    expect(await a.removeNamespace("user:")).toBeUndefined();
  });

  test("L1 settings changed on one instance reach the other's listeners once, and a reset returns to the defaults", async () => {
    const { a, b } = await twoInstances();
    const heard: L1Settings[] = [];
    b.onL1Change((settings) => heard.push(settings));
    const lru = { policy: "lru" as const, maxEntries: 50, maxBytes: 4096 };
    expect(await a.setL1(lru)).toMatchObject({ target: "l1", before: null, after: lru });
    await b.refresh();
    await b.refresh();
    expect(heard).toEqual([lru]);
    expect(b.view().l1).toEqual({ ...lru, source: "runtime" });
    await a.setNamespace("x:", { l3: true }); // not an L1 change: no call
    await b.refresh();
    expect(heard).toHaveLength(1);
    expect(await a.resetL1()).toMatchObject({ before: lru, after: null });
    await b.refresh();
    expect(heard).toEqual([lru, DEFAULTS.l1]);
    expect(b.view().l1.source).toBe("env");
    expect(await a.resetL1()).toBeUndefined();
  });

  test("an instance opened after a change starts with it", async () => {
    const { a, keyPrefix } = await twoInstances();
    await a.setL1({ policy: "lfu", maxEntries: 10, maxBytes: 2048 });
    const late = await PolicyRegistry.open({ redis, keyPrefix, defaults: DEFAULTS });
    expect(late.l1()).toEqual({ policy: "lfu", maxEntries: 10, maxBytes: 2048 });
  });

  test("concurrent changes from two instances all land", async () => {
    const { a, b, keyPrefix } = await twoInstances();
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).setNamespace(`n${i}:`, { defaultTtlMs: 1_000 + i })));
    const late = await PolicyRegistry.open({ redis, keyPrefix, defaults: DEFAULTS });
    expect(late.view().namespaces).toHaveLength(20);
    expect(late.version).toBe(20);
    expect(late.forKey("n7:a")).toEqual({ defaultTtlMs: 1_007 });
  });

  test("a stored field that no longer validates is skipped and reported, the others apply", async () => {
    const { a, keyPrefix, problems } = await twoInstances();
    await a.setNamespace("ok:", { l3: true });
    await redis.hset(`{${keyPrefix}}`, "ns:bad:", JSON.stringify({ defaultTtlMs: -1 }), "l1", "not json");
    await redis.incr(`{${keyPrefix}}:version`);
    await a.refresh();
    expect(a.forKey("ok:1")).toEqual({ l3: true });
    expect(a.forKey("bad:1")).toEqual({});
    expect(a.l1()).toEqual(DEFAULTS.l1);
    expect(a.view().problems).toHaveLength(2);
    expect(problems.join("\n")).toMatch(/stored policy of bad:.*"defaultTtlMs" must be an integer/);
  });

  test.each([
    ["an unknown L1 policy", () => ({ policy: "fifo", maxEntries: 10, maxBytes: 2048 }), /"policy" must be one of lru, lfu, w-tinylfu/],
    ["a missing bound", () => ({ policy: "lru", maxBytes: 2048 }), /"maxEntries" must be an integer from 1 to/],
    ["bytes below 1 KiB", () => ({ policy: "lru", maxEntries: 10, maxBytes: 100 }), /"maxBytes" must be an integer from 1024/],
    ["an unknown field", () => ({ policy: "lru", maxEntries: 10, maxBytes: 2048, ttl: 1 }), /unknown field "ttl"/],
  ])("refuses L1 settings with %s, saying what to fix", async (_label, input, message) => {
    const { a } = await twoInstances();
    const attempt = a.setL1(input());
    await expect(attempt).rejects.toThrow(PolicyArgumentError);
    await expect(attempt).rejects.toThrow(message);
    expect(a.version).toBe(0);
  });

  test.each([
    ["a namespace without ':'", "product", { l3: true }, /namespace must be a key prefix up to and including its first ':'/],
    ["a namespace with two ':'", "a:b:", { l3: true }, /namespace must be/],
    ["a TTL of 0", "p:", { defaultTtlMs: 0 }, /"defaultTtlMs" must be an integer from 1000/],
    ["a fractional retention", "p:", { l3RetentionMs: 90_000.5 }, /"l3RetentionMs" must be an integer/],
    ["l3 as a string", "p:", { l3: "yes" }, /"l3" must be true or false/],
    ["an empty policy", "p:", {}, /set at least one of defaultTtlMs, l3, l3RetentionMs/],
  ])("refuses %s", async (_label, namespace, input, message) => {
    const { a } = await twoInstances();
    await expect(a.setNamespace(namespace, input)).rejects.toThrow(message);
  });

  test("lists every problem of a request in one error", async () => {
    const { a } = await twoInstances();
    await expect(a.setNamespace("p:", { defaultTtlMs: -5, l3: 1, l3RetentionMs: "1d" })).rejects.toThrow(/defaultTtlMs.*; "l3".*; "l3RetentionMs"/);
  });
});

describe("PolicyAudit", () => {
  let db: PGlite;
  beforeAll(async () => {
    db = new PGlite();
    await db.exec(readFileSync(join(import.meta.dirname, "../../migrations/2_create_policy_audit.up.sql"), "utf8"));
  });
  afterAll(() => db.close());

  test("records who changed what, when, before and after, and lists the newest first in pages", async () => {
    const audit = new PolicyAudit(pgliteSql(db));
    const first = await audit.record("admin-token", { target: "l1", before: null, after: { policy: "lru", maxEntries: 5, maxBytes: 2048 }, version: 1 });
    await audit.record("ops", { target: "namespace a:", before: { l3: true }, after: null, version: 2 });
    await audit.record("ops", { target: "namespace b:", before: null, after: { defaultTtlMs: 1_000 }, version: 3 });
    expect(first).toMatchObject({ actor: "admin-token", target: "l1", before: null, after: { policy: "lru", maxEntries: 5, maxBytes: 2048 }, version: 1 });
    expect(Math.abs(Date.parse(first.at) - Date.now())).toBeLessThan(60_000);
    const page = await audit.list(2);
    expect(page.map((entry) => entry.target)).toEqual(["namespace b:", "namespace a:"]);
    expect(page[1]).toMatchObject({ actor: "ops", before: { l3: true }, after: null });
    expect((await audit.list(2, page[1].id)).map((entry) => entry.id)).toEqual([first.id]);
  });
});
