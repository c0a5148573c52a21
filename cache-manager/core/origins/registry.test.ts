import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { connectRedis } from "../../../lib/redis.ts";
import { OriginConfigError, OriginNotConfiguredError, OriginUnsupportedError } from "./errors.ts";
import { longestPrefixMatch, OriginRegistry, type OriginRegistryChange, type OriginRegistryOptions } from "./registry.ts";
import type { OriginDependencies, Row, SqlExecutor } from "./types.ts";

const FILE_ORIGINS = [
  { namespace: "product:", kind: "sql", query: "SELECT data FROM products WHERE id = $1", writeQuery: "UPDATE products SET data = $2 WHERE id = $1" },
  { namespace: "products:", kind: "http", url: "https://catalog.example.com/products/{id}" },
];

/** A tiny table behind the SqlExecutor interface, enough to see which origin answered. */
function tableExecutor(label: string): { executor: SqlExecutor; writes: unknown[][] } {
  const writes: unknown[][] = [];
  const executor: SqlExecutor = async (sql, params) => {
    if (sql.startsWith("UPDATE")) {
      writes.push(params);
      return [];
    }
    return [{ data: `${label}:${String(params[0])}` } satisfies Row];
  };
  return { executor, writes };
}

describe("longestPrefixMatch", () => {
  test("picks the longest namespace that prefixes the key", () => {
    const namespaces = ["product:", "product:eu:", "user:"];
    expect(longestPrefixMatch(namespaces, "product:eu:7")).toBe("product:eu:");
    expect(longestPrefixMatch(namespaces, "product:7")).toBe("product:");
    expect(longestPrefixMatch(namespaces, "products:7")).toBeUndefined();
  });
});

describe("OriginRegistry", () => {
  let redis: Redis;
  let dir: string;
  let file: string;
  const main = tableExecutor("main");
  const analytics = tableExecutor("analytics");
  const deps: OriginDependencies = { sql: (database) => (database === undefined ? main.executor : database === "analytics" ? analytics.executor : undefined) };

  const usedPrefixes: string[] = [];
  /** A fresh Redis key prefix, deleted after the suite. */
  const newPrefix = () => {
    const prefix = `t${randomBytes(4).toString("hex")}:origins`;
    usedPrefixes.push(prefix);
    return prefix;
  };
  /** A registry over the shared file with its own key prefix (pass `keyPrefix` to share one). */
  const open = (overrides: Partial<OriginRegistryOptions> = {}) => OriginRegistry.open({ redis, deps, configFile: file, keyPrefix: newPrefix(), ...overrides });

  beforeAll(() => {
    redis = connectRedis(process.env.REDIS_URL!);
    dir = mkdtempSync(join(tmpdir(), "cachet-origins-"));
    file = join(dir, "origins.json");
    writeFileSync(file, JSON.stringify({ origins: FILE_ORIGINS }));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await redis.del(...usedPrefixes.flatMap((prefix) => [`{${prefix}}`, `{${prefix}}:version`]));
    await redis.quit();
  });

  test("starts with the file's origins", async () => {
    const registry = await open();
    expect(registry.list().map((e) => [e.namespace, e.kind, e.source])).toEqual([
      ["product:", "sql", "file"],
      ["products:", "http", "file"],
    ]);
    expect(registry.version).toBe(0);
  });

  test("a key resolves to the namespace that prefixes it, and only that one", async () => {
    const registry = await open();
    expect(registry.resolve("product:42")?.namespace).toBe("product:");
    expect(registry.resolve("products:42")?.namespace).toBe("products:");
    expect(registry.resolve("user:1")).toBeUndefined();
    expect(() => registry.require("user:1")).toThrow(OriginNotConfiguredError);
    expect(() => registry.require("user:1")).toThrow(/no origin serves the key "user:1" \(configured namespaces: product:, products:\)/);
    expect(await registry.load("product:42")).toEqual({ found: true, value: "main:42" });
  });

  test("loadFromOrigins loads each distinct key from its own origin and leaves out keys no origin serves", async () => {
    const registry = await open();
    await registry.put({ namespace: "stat:", kind: "sql", database: "analytics", query: "SELECT data FROM stats WHERE id = $1" });
    const loaded = await registry.loadFromOrigins(["product:1", "stat:2", "user:3", "product:1", "product:4"]);
    expect([...loaded]).toEqual([
      ["product:1", { found: true, value: "main:1" }],
      ["product:4", { found: true, value: "main:4" }],
      ["stat:2", { found: true, value: "analytics:2" }],
    ]);
    expect(await registry.loadFromOrigins(["product:7"])).toEqual(new Map([["product:7", { found: true, value: "main:7" }]]));
  });

  test("write goes to the key's origin, and an origin without a writer says what to add", async () => {
    const registry = await open();
    await registry.write("product:5", { a: 1 });
    expect(main.writes.at(-1)).toEqual(["5", '{"a":1}']);
    await expect(registry.write("products:5", 1)).rejects.toThrow(OriginUnsupportedError);
    await expect(registry.write("products:5", 1)).rejects.toThrow(/add writeUrl/);
  });

  test("a put reaches every instance sharing the Redis hash, and a second refresh is a no-op", async () => {
    const keyPrefix = newPrefix();
    const a = await open({ keyPrefix });
    const b = await open({ keyPrefix });
    const entry = await a.put({ namespace: "report:", kind: "sql", database: "analytics", query: "SELECT data FROM reports WHERE id = $1" });
    expect(entry).toMatchObject({ namespace: "report:", source: "runtime" });
    expect(a.version).toBe(1);
    expect(b.resolve("report:1")).toBeUndefined();
    expect(await b.refresh()).toBe(true);
    expect(await b.load("report:1")).toEqual({ found: true, value: "analytics:1" });
    expect(await b.refresh()).toBe(false);

    const c = await open({ keyPrefix });
    expect(c.list().map((e) => e.namespace)).toEqual(["product:", "products:", "report:"]);
  });

  test("a put replaces the origin of the same namespace, file origins included", async () => {
    const keyPrefix = newPrefix();
    const a = await open({ keyPrefix });
    const b = await open({ keyPrefix });
    await a.put({ namespace: "products:", kind: "http", url: "https://v2.example.com/p/{id}" });
    await b.refresh();
    expect(b.list().find((e) => e.namespace === "products:")).toMatchObject({ source: "runtime", config: { url: "https://v2.example.com/p/{id}" } });
  });

  test("a removal reaches every instance and outlives their config files", async () => {
    const keyPrefix = newPrefix();
    const a = await open({ keyPrefix });
    const b = await open({ keyPrefix });
    expect(await a.remove("product:")).toBe(true);
    expect(await a.remove("product:")).toBe(false);
    expect(a.version).toBe(1);
    await b.refresh();
    expect(b.resolve("product:1")).toBeUndefined();
    expect((await open({ keyPrefix })).list().map((e) => e.namespace)).toEqual(["products:"]);
    await b.put(FILE_ORIGINS[0]);
    await a.refresh();
    expect(a.resolve("product:1")?.namespace).toBe("product:");
  });

  test.each([
    ["a namespace nested in a file origin", { namespace: "product:eu:", kind: "sql", query: "SELECT 1 WHERE 1 = $1" }, /"product:eu:" overlaps "product:"/],
    ["a namespace without the trailing colon", { namespace: "prod", kind: "sql", query: "SELECT 1 WHERE 1 = $1" }, /must end with ":"/],
    [
      "an unknown database",
      { namespace: "x:", kind: "sql", database: "nope", query: "SELECT 1 WHERE 1 = $1" },
      /database "nope" is not available on this instance/,
    ],
    ["an invalid config", { namespace: "x:", kind: "sql", query: "SELECT * FROM t WHERE id = {id}" }, /use the parameter \$1/],
  ])("put refuses %s and changes nothing", async (_label, config, message) => {
    const registry = await open();
    await expect(registry.put(config)).rejects.toThrow(OriginConfigError);
    await expect(registry.put(config)).rejects.toThrow(message);
    expect(registry.version).toBe(0);
    expect(registry.list()).toHaveLength(2);
  });

  test("two instances racing to add overlapping namespaces: exactly one wins", async () => {
    const keyPrefix = newPrefix();
    const [a, b] = await Promise.all([open({ keyPrefix }), open({ keyPrefix })]);
    const results = await Promise.allSettled([
      a.put({ namespace: "order:", kind: "http", url: "https://a.example.com/{id}" }),
      b.put({ namespace: "order:eu:", kind: "http", url: "https://b.example.com/{id}" }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    await Promise.all([a.refresh(), b.refresh()]);
    expect(a.list().filter((e) => e.namespace.startsWith("order:"))).toHaveLength(1);
    expect(a.version).toBe(1);
  });

  test("a bad stored config is skipped and reported, not fatal", async () => {
    const keyPrefix = newPrefix();
    await redis.hset(`{${keyPrefix}}`, "junk:", "{not json", "bad:", JSON.stringify({ config: { namespace: "bad:", kind: "sql", query: "DROP TABLE x" } }));
    const problems: string[] = [];
    const registry = await open({ keyPrefix, onProblem: (p) => problems.push(p) });
    expect(registry.list()).toHaveLength(2);
    expect(registry.problems).toHaveLength(2);
    expect(problems.join("\n")).toMatch(/skipped the stored origin "bad:": .*must be a read-only SELECT/);
  });

  test("watch() picks up another instance's change and reports it", async () => {
    const keyPrefix = newPrefix();
    const changes: OriginRegistryChange[] = [];
    const a = await open({ keyPrefix });
    const b = await open({ keyPrefix, onChange: (change) => changes.push(change) });
    const stop = b.watch(20);
    try {
      await a.put({ namespace: "user:", kind: "http", url: "https://users.example.com/{id}" });
      await expect.poll(() => b.resolve("user:1")?.namespace, { timeout: 2_000, interval: 10 }).toBe("user:");
      expect(changes.at(-1)).toEqual({ version: 1, namespaces: ["product:", "products:", "user:"] });
    } finally {
      stop();
    }
  });

  test.each([
    ["not JSON", "{", /invalid .*origins-bad\.json: the file is not valid JSON/],
    [
      "an entry with a problem",
      JSON.stringify([FILE_ORIGINS[0], { namespace: "x", kind: "sql", query: "SELECT 1 WHERE 1 = $1" }]),
      /invalid .*origins-bad\.json\[1\]: namespace "x" must end with ":"/,
    ],
    [
      "overlapping entries",
      JSON.stringify([FILE_ORIGINS[0], { namespace: "product:x:", kind: "sql", query: "SELECT 1 WHERE 1 = $1" }]),
      /"product:x:" overlaps "product:"/,
    ],
  ])("a config file with %s fails to open, naming the file", async (_label, text, message) => {
    const bad = join(dir, "origins-bad.json");
    writeFileSync(bad, text);
    await expect(open({ configFile: bad })).rejects.toThrow(message);
  });

  test("a missing config file fails to open with the path", async () => {
    await expect(open({ configFile: join(dir, "absent.json") })).rejects.toThrow(/cannot read the origins file: .*absent\.json/);
  });
});
