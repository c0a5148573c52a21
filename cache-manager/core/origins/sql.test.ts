import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { findPostgresBinDir, startPostgresServer, type TestPostgresServer } from "../../../infra/node-host/testing/postgres.ts";
import { demoProductOrigin, seedDemoProducts } from "./demo.ts";
import { OriginAbortedError, OriginArgumentError, OriginRequestError } from "./errors.ts";
import { createSqlOrigin, executorFromQueryable } from "./sql.ts";
import type { Origin, SqlExecutor } from "./types.ts";
import { validateOriginConfig } from "./validate.ts";

const ROWS = 10_000;

/** Every key of an origin, page by page, and the page sizes seen. */
async function listAll(origin: Origin, limit: number): Promise<{ keys: string[]; pages: number[] }> {
  const keys: string[] = [];
  const pages: number[] = [];
  let cursor: string | null = null;
  do {
    const page = await origin.list!({ cursor, limit });
    keys.push(...page.keys);
    pages.push(page.keys.length);
    cursor = page.cursor;
  } while (cursor !== null);
  return { keys, pages };
}

/** The demo origin contract, run against PGlite and (when installed) a real PostgreSQL server. */
function registerSqlOriginSuite(label: string, open: () => Promise<{ executor: SqlExecutor; close(): Promise<void> }>) {
  describe(`sql origin on ${label}`, () => {
    let executor: SqlExecutor;
    let close: () => Promise<void>;
    let origin: Origin;

    beforeAll(async () => {
      ({ executor, close } = await open());
      expect(await seedDemoProducts(executor, { rows: ROWS })).toEqual({ rows: ROWS });
      origin = createSqlOrigin(demoProductOrigin(), executor);
    });
    afterAll(() => close?.());

    test("seeding twice keeps the table as it is", async () => {
      expect(await seedDemoProducts(executor, { rows: 10 })).toEqual({ rows: ROWS });
    });

    test("loads a row as an object with every column", async () => {
      const result = await origin.load("product:42");
      expect(result).toEqual({
        found: true,
        value: { id: 42, name: "Product 42", price: "15.54", data: { sku: "SKU-0000042", stock: 294, category: "garden" } },
      });
    });

    test("a load query that writes (`WITH d AS (DELETE ...) SELECT`) fails in its READ ONLY transaction and deletes nothing", async () => {
      const attack = createSqlOrigin(
        validateOriginConfig({ namespace: "gone:", kind: "sql", query: "WITH d AS (DELETE FROM products WHERE id = $1 RETURNING *) SELECT * FROM d" }) as never,
        executor,
      );
      const error = await attack.load("gone:43").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OriginRequestError);
      expect((error as Error).message).toMatch(/read-only transaction/);
      expect(await executor("SELECT count(*)::int AS n FROM products WHERE id = 43", [])).toEqual([{ n: 1 }]);
      // The connection is usable afterwards (the transaction was rolled back), and writes still write.
      expect(await origin.load("product:43")).toMatchObject({ found: true });
    });

    test("a single-column query loads that column's value", async () => {
      const names = createSqlOrigin(
        validateOriginConfig({ namespace: "pname:", kind: "sql", query: "SELECT name FROM products WHERE id = $1" }) as never,
        executor,
      );
      expect(await names.load("pname:7")).toEqual({ found: true, value: "Product 7" });
    });

    test.each([
      ["an id with no row", "product:999999"],
      ["an id the column type cannot hold", "product:abc"],
      ["an id out of the column's range", "product:99999999999"],
    ])("%s is not found", async (_label, key) => {
      expect(await origin.load(key)).toEqual({ found: false });
    });

    test("a key outside the namespace is an argument error", async () => {
      await expect(origin.load("user:1")).rejects.toBeInstanceOf(OriginArgumentError);
    });

    test("a failing statement is an OriginRequestError with the database error as cause", async () => {
      const broken = createSqlOrigin({ namespace: "gone:", kind: "sql", query: "SELECT * FROM no_such_table WHERE id = $1" }, executor);
      const error = await broken.load("gone:1").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OriginRequestError);
      expect((error as OriginRequestError).message).toMatch(/origin "gone:" load failed: .*no_such_table/);
      expect((error as OriginRequestError).cause).toBeDefined();
    });

    test("lists every key once, in pages of the requested size", async () => {
      const { keys, pages } = await listAll(origin, 3_000);
      expect(pages).toEqual([3_000, 3_000, 3_000, 1_000]);
      expect(keys).toHaveLength(ROWS);
      expect(new Set(keys).size).toBe(ROWS);
      expect(keys[0]).toBe("product:1");
      expect(keys.at(-1)).toBe(`product:${ROWS}`);
    });

    test("a listing that ends on a full page finishes with an empty one", async () => {
      expect((await listAll(origin, 5_000)).pages).toEqual([5_000, 5_000, 0]);
    });

    test("a list limit outside 1..10000 is an argument error", async () => {
      await expect(origin.list!({ limit: 0 })).rejects.toBeInstanceOf(OriginArgumentError);
    });

    test("writes through to the row, and the next load sees it", async () => {
      const value = { name: "Renamed", price: "9.99", data: { sku: "NEW", stock: 1 } };
      await origin.write!("product:9000", value);
      expect(await origin.load("product:9000")).toEqual({ found: true, value: { id: 9000, ...value } });
    });

    test("a write to a missing row fails instead of vanishing", async () => {
      await expect(origin.write!("product:999999", { name: "x" })).rejects.toThrow(/wrote no row for id "999999"/);
    });

    test("a write with an id the column cannot hold is an argument error", async () => {
      await expect(origin.write!("product:abc", { name: "x" })).rejects.toBeInstanceOf(OriginArgumentError);
    });

    test("removes a row", async () => {
      await origin.remove!("product:9999");
      expect(await origin.load("product:9999")).toEqual({ found: false });
    });

    test("loadMany returns one result per distinct key, in order, with bounded concurrency", async () => {
      let running = 0;
      let peak = 0;
      const counting: SqlExecutor = async (sql, params) => {
        peak = Math.max(peak, ++running);
        try {
          return await executor(sql, params);
        } finally {
          running--;
        }
      };
      const many = createSqlOrigin(demoProductOrigin(), counting);
      const keys = Array.from({ length: 40 }, (_, i) => `product:${i + 1}`);
      const results = await many.loadMany!([...keys, "product:1", "product:999999"]);
      expect([...results.keys()]).toEqual([...keys, "product:999999"]);
      expect(results.get("product:3")).toMatchObject({ found: true, value: { id: 3 } });
      expect(results.get("product:999999")).toEqual({ found: false });
      expect(peak).toBeLessThanOrEqual(8);
    });
  });
}

registerSqlOriginSuite("PGlite", async () => {
  const db = new PGlite();
  return { executor: executorFromQueryable(db), close: () => db.close() };
});

describe.skipIf(!findPostgresBinDir())("real PostgreSQL", () => {
  let server: TestPostgresServer;
  let pool: pg.Pool;
  beforeAll(async () => {
    server = await startPostgresServer();
    pool = new pg.Pool({ connectionString: server.url, max: 4 });
    pool.on("error", () => {}); // idle clients see the server shut down in afterAll
  });
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });
  registerSqlOriginSuite("PostgreSQL", async () => ({ executor: executorFromQueryable(pool), close: async () => {} }));
});

describe("added latency", () => {
  const instant: SqlExecutor = async () => [{ v: 1 }];
  const config = (addedLatencyMs: number) => ({ namespace: "slow:", kind: "sql" as const, query: "SELECT 1 AS v WHERE 1 = $1", addedLatencyMs });

  test("every call waits addedLatencyMs before it runs", async () => {
    const started = performance.now();
    expect(await createSqlOrigin(config(120), instant).load("slow:1")).toEqual({ found: true, value: 1 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(115);
  });

  test("the wait goes through the injected sleep", async () => {
    const slept: number[] = [];
    const origin = createSqlOrigin(config(250), instant, { sleep: async (ms) => void slept.push(ms) });
    await origin.load("slow:1");
    await origin.load("slow:2");
    expect(slept).toEqual([250, 250]);
  });

  test("the caller's signal cuts the wait short", async () => {
    const controller = new AbortController();
    const pending = createSqlOrigin(config(5_000), instant).load("slow:1", { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const started = performance.now();
    await expect(pending).rejects.toBeInstanceOf(OriginAbortedError);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  test.each([
    [0, 0],
    [5, 1],
  ])("a caller that gives up before it aborts (a cache read), added latency %i ms: its signal is read %i time(s)", async (latency, reads) => {
    let read = 0;
    const call = {
      abandonsBeforeAbort: true,
      get signal() {
        read++;
        return new AbortController().signal;
      },
    };
    expect(await createSqlOrigin(config(latency), instant).load("slow:1", call)).toEqual({ found: true, value: 1 });
    expect(read).toBe(reads);
  });

  test("a loadMany aborted by the caller rejects at once and runs none of its remaining statements", async () => {
    let statements = 0;
    const counting: SqlExecutor = async () => {
      statements++;
      return [{ v: 1 }];
    };
    const controller = new AbortController();
    const keys = Array.from({ length: 100 }, (_, i) => `slow:${i}`);
    const pending = createSqlOrigin(config(50), counting).loadMany!(keys, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toBeInstanceOf(OriginAbortedError);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(statements).toBe(0);
  });
});
